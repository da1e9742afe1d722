//! `commons-gateway keygen` and `sign`: a key made by one signs envelopes the
//! gateway accepts; bad input is a non-zero exit with a readable message and
//! writes nothing.

#![cfg(feature = "gateway")]

mod common;

use anyhow::Result;
use commons_gateway::actions::AffiliationApply;
use commons_gateway::{EnvelopePolicy, SignedEnvelope};

/// Runs the binary with `args`: exit code, stdout, stderr.
fn run(args: &[&str]) -> Result<(i32, String, String)> {
    let ran = common::process::run(args)?;
    Ok((ran.code(), ran.stdout, ran.stderr))
}

#[test]
fn keygen_then_sign_gives_an_envelope_that_verifies() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("me.key");
    let key_arg = key.to_string_lossy().into_owned();
    let (code, did, stderr) = run(&["keygen", "--out", &key_arg])?;
    assert_eq!(code, 0, "{stderr}");
    let did = did.trim().to_string();
    assert!(did.starts_with("did:key:z6Mk"), "{did}");
    let secret = std::fs::read_to_string(&key)?;
    assert_eq!(secret.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key)?.permissions().mode() & 0o777, 0o600);
    }

    let holder = "ab".repeat(32);
    let payload = r#"{"jurisdiction":"coop:bakers"}"#;
    let args =
        ["sign", "--key-file", &key_arg, "--action", "affiliation-apply", "--target", &holder, "--payload", payload];
    let (code, out, stderr) = run(&args)?;
    assert_eq!(code, 0, "{stderr}");
    let envelope: SignedEnvelope = serde_json::from_str(out.trim())?;
    assert_eq!(envelope.actor, did);
    assert_eq!(envelope.payload, payload, "the payload is signed byte for byte");
    let now = common::keys::wall_now();
    let policy = EnvelopePolicy::default();
    assert!(envelope.created.abs_diff(now) <= 60, "made now: {} vs {now}", envelope.created);
    assert_eq!(envelope.expires - envelope.created, 300, "valid 300 s by default");
    let opened = envelope.open::<AffiliationApply>(&holder, &policy, now)?;
    assert_eq!(opened.body.jurisdiction, "coop:bakers");
    assert!(envelope.open::<AffiliationApply>("-", &policy, now).is_err(), "bound to its target");

    // Another network and another lifetime; a second run draws a new nonce.
    let river_args = [&args[..], &["--audience", "river-coops", "--lifetime-secs", "60"]].concat();
    let (code, out, stderr) = run(&river_args)?;
    assert_eq!(code, 0, "{stderr}");
    let other: SignedEnvelope = serde_json::from_str(out.trim())?;
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(other.expires - other.created, 60);
    assert_ne!(other.nonce, envelope.nonce);
    let err = other.open::<AffiliationApply>(&holder, &policy, now).unwrap_err();
    assert_eq!(err.code(), "bad_signature", "signed for another audience: {err}");
    let river = EnvelopePolicy { audience: "river-coops".into(), ..EnvelopePolicy::default() };
    assert_eq!(other.open::<AffiliationApply>(&holder, &river, now)?.body.jurisdiction, "coop:bakers");

    // Longer than a gateway takes by default: made, with a warning.
    let long_args = [&args[..], &["--lifetime-secs", "3600"]].concat();
    let (code, out, stderr) = run(&long_args)?;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: --lifetime-secs 3600 is over the 600 s"), "{stderr}");
    let long: SignedEnvelope = serde_json::from_str(out.trim())?;
    assert_eq!(long.expires - long.created, 3600);
    Ok(())
}

#[test]
fn keygen_and_sign_refuse_bad_input_and_write_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("me.key");
    let key_arg = key.to_string_lossy().into_owned();
    run(&["keygen", "--out", &key_arg])?;
    let before = std::fs::read(&key)?;
    let (code, _, stderr) = run(&["keygen", "--out", &key_arg])?;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&key_arg), "{stderr}");
    assert_eq!(std::fs::read(&key)?, before, "an existing key is never overwritten");

    let missing = dir.path().join("none.key").to_string_lossy().into_owned();
    let garbage = dir.path().join("garbage.key");
    std::fs::write(&garbage, "not hex")?;
    let garbage = garbage.to_string_lossy().into_owned();
    let cases: [(&[&str], &str); 7] = [
        (&["sign", "--key-file", &key_arg, "--action", "vote", "--payload", "{}", "--audience", "A|B"], "--audience"),
        (
            &["sign", "--key-file", &key_arg, "--action", "vote", "--payload", "{}", "--lifetime-secs", "0"],
            "--lifetime-secs",
        ),
        (&["sign", "--key-file", &missing, "--action", "vote", "--payload", "{}"], "cannot read key file"),
        (&["sign", "--key-file", &garbage, "--action", "vote", "--payload", "{}"], "64 hex characters"),
        (&["sign", "--key-file", &key_arg, "--action", "vote", "--payload", "{approve"], "not JSON"),
        (&["sign", "--key-file", &key_arg, "--action", "vote|x", "--payload", "{}"], "--action"),
        (&["sign", "--key-file", &key_arg, "--action", "vote", "--target", "", "--payload", "{}"], "--target"),
    ];
    for (args, says) in cases {
        let (code, out, stderr) = run(args)?;
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(out.is_empty(), "{args:?} printed {out}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    Ok(())
}
