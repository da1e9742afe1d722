//! Spent nonces through the manager: a signed action's (actor, nonce) is
//! written in the same batch as its changes, a second use is refused with
//! `Conflict` `replayed` and changes nothing, a refused action spends
//! nothing, and the sweep removes a spent nonce only once its envelope can
//! no longer be accepted.

mod common;

use anyhow::Result;
use common::keys::{wall_now, Person};
use common::probe::Probe;
use common::world::{memory, snapshot};
use commons_gateway::actions::{CharterCreate, HolderUpdate};
use commons_gateway::{
    Clock, CommonsError, CommonsManager, ConflictCode, EnvelopeHeader, EnvelopePolicy, Refusal, Signed, SignedEnvelope,
    StoreConfig, DEFAULT_AUDIENCE, SPENT_NONCE_GRACE_SECS,
};
use serde_json::json;

fn is_replayed<T: std::fmt::Debug>(result: Result<T, CommonsError>) -> bool {
    matches!(result, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::Replayed, .. })))
}

/// A `holder-update` envelope by `who` on `holder`, made `created` and
/// expiring `expires` (wall-clock seconds).
fn rename_envelope(who: &Person, holder: &str, name: &str, created: u64, expires: u64) -> SignedEnvelope {
    let header = EnvelopeHeader { created, expires, ..EnvelopeHeader::new(DEFAULT_AUDIENCE, created, 1) };
    SignedEnvelope::sign(&who.key, &header, "holder-update", holder, json!({"display_name": name}).to_string())
}

/// `env` opened by a gateway whose clock reads `now`.
fn opened_at(env: &SignedEnvelope, holder: &str, now: u64) -> Signed<HolderUpdate> {
    env.open(holder, &EnvelopePolicy::default(), now).expect("valid at that time")
}

#[test]
fn a_second_use_is_replayed_and_changes_nothing() -> Result<()> {
    let m = memory()?;
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), Some("Ada".into()))?.anchor.anchor_id;
    let rename = p.sign::<HolderUpdate>(&id, json!({"display_name": "Eve"}));
    let rows_before = snapshot(&m).len();
    assert_eq!(m.update_holder(&rename)?.holder.display_name.as_deref(), Some("Eve"));
    // The change and the nonce: the holder row rewritten, plus the nonce and its expiry row.
    assert_eq!(snapshot(&m).len(), rows_before + 2);
    let after = snapshot(&m);
    assert!(is_replayed(m.update_holder(&rename)));
    assert_eq!(snapshot(&m), after);
    assert!(m.store().verify()?.is_clean());
    Ok(())
}

#[test]
fn a_refused_action_spends_nothing() -> Result<()> {
    let m = memory()?;
    let (p, other) = (Person::new(), Person::new());
    let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    // Signed by someone else: forbidden, and the store is untouched.
    let before = snapshot(&m);
    let not_theirs = other.sign::<HolderUpdate>(&id, json!({"display_name": "Mallory"}));
    assert!(matches!(m.update_holder(&not_theirs), Err(CommonsError::Refused(Refusal::Forbidden { .. }))));
    assert!(matches!(m.update_holder(&not_theirs), Err(CommonsError::Refused(Refusal::Forbidden { .. }))));
    assert_eq!(snapshot(&m), before);
    Ok(())
}

#[test]
fn the_sweep_removes_a_spent_nonce_only_after_expires_plus_skew_plus_grace() -> Result<()> {
    let m = memory()?;
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    let now = wall_now();
    // Kept until expires + 60 s of skew + an hour of grace: one past that...
    let old_expires = now - 60 - SPENT_NONCE_GRACE_SECS - 1;
    let old = rename_envelope(&p, &id, "Old", old_expires - 300, old_expires);
    m.update_holder(&opened_at(&old, &id, old_expires))?;
    // ... and one that this gateway now refuses as expired (120 s ago), but
    // that a gateway on the same database with a clock 90 s behind would
    // still take.
    let recent = rename_envelope(&p, &id, "Recent", now - 400, now - 120);
    m.update_holder(&opened_at(&recent, &id, now - 120))?;
    let err = recent.open::<HolderUpdate>(&id, &EnvelopePolicy::default(), now).unwrap_err();
    assert_eq!(err.code(), "envelope_expired");
    let behind = opened_at(&recent, &id, now - 90);

    let before = snapshot(&m).len();
    assert_eq!(m.sweep_spent_nonces()?, 1);
    assert_eq!(snapshot(&m).len(), before - 2, "the nonce record and its expiry row");
    assert_eq!(m.sweep_spent_nonces()?, 0);
    assert!(is_replayed(m.update_holder(&behind)), "the recent nonce is kept for the gateway behind");
    assert!(m.store().verify()?.is_clean());
    Ok(())
}

#[test]
fn copies_of_one_creation_sent_at_once_take_effect_once_and_the_rest_are_replayed() -> Result<()> {
    const COPIES: usize = 16;
    let m = memory()?;
    let p = Person::new();
    m.bootstrap_anchor(p.did.as_str(), None)?;
    for round in 0..10 {
        let create = p.sign::<CharterCreate>(
            "-",
            json!({"domain_id": format!("coop:race-{round}"), "org_type": "Cooperative", "name": "Race",
                   "membership_policy": {"open_enrollment": false}}),
        );
        let barrier = std::sync::Barrier::new(COPIES);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..COPIES)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        m.create_charter(&create)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("no panic")).collect()
        });
        let created = results.iter().filter(|r| r.is_ok()).count();
        let replayed = results
            .iter()
            .filter(|r| matches!(r, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::Replayed, .. }))))
            .count();
        assert_eq!((created, replayed), (1, COPIES - 1), "round {round}: {results:?}");
    }
    Ok(())
}

#[test]
fn an_action_whose_commit_went_through_but_was_answered_unavailable_is_replayed_when_sent_again() -> Result<()> {
    // Uncached, as over PostgreSQL (the engine where a COMMIT can be lost
    // this way; the folder engines stop the store on a failed write).
    let uncached = StoreConfig { cache_records: 0, ..StoreConfig::default() };
    let m = CommonsManager::with_backend(Probe::default(), &uncached, Clock::default())?;
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), Some("Ada".into()))?.anchor.anchor_id;
    let rename = p.sign::<HolderUpdate>(&id, json!({"display_name": "Eve"}));
    m.store().backend().lose_answer_of_nth(1);
    // The batch went in, the answer did not: 503, not a replay of itself.
    let first = m.update_holder(&rename);
    assert!(matches!(&first, Err(e) if e.status() == 503), "{first:?}");
    // Sending the same envelope again tells the client it took effect.
    assert!(is_replayed(m.update_holder(&rename)));
    assert_eq!(m.holder(&id)?.holder.display_name.as_deref(), Some("Eve"));
    Ok(())
}
