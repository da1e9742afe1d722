//! Spent nonces through the manager: a signed action's (actor, nonce) is
//! written in the same batch as its changes, a second use is refused with
//! `Conflict` `replayed` and changes nothing, a refused action spends
//! nothing, and the sweep removes a spent nonce only once its envelope can
//! no longer be accepted.

mod common;

use anyhow::Result;
use common::keys::{wall_now, Person};
use common::world::{memory, snapshot};
use commons_gateway::actions::HolderUpdate;
use commons_gateway::{
    CommonsError, ConflictCode, EnvelopeHeader, EnvelopePolicy, Refusal, Signed, SignedEnvelope, DEFAULT_AUDIENCE,
};
use serde_json::json;

fn is_replayed<T: std::fmt::Debug>(result: Result<T, CommonsError>) -> bool {
    matches!(result, Err(CommonsError::Refused(Refusal::Conflict { code: ConflictCode::Replayed, .. })))
}

/// A `holder-update` by `who` on `holder`, made `created` and expiring
/// `expires` (wall-clock seconds), opened as at its `created`.
fn rename_at(who: &Person, holder: &str, name: &str, created: u64, expires: u64) -> Signed<HolderUpdate> {
    let header = EnvelopeHeader { created, expires, ..EnvelopeHeader::new(DEFAULT_AUDIENCE, created, 1) };
    SignedEnvelope::sign(&who.key, &header, "holder-update", holder, json!({"display_name": name}).to_string())
        .open(holder, &EnvelopePolicy::default(), created)
        .expect("own envelope opens")
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
fn the_sweep_removes_a_spent_nonce_only_after_expires_plus_skew() -> Result<()> {
    let m = memory()?;
    let p = Person::new();
    let id = m.bootstrap_anchor(p.did.as_str(), None)?.anchor.anchor_id;
    let now = wall_now();
    // Kept until expires + 60 s: one that can no longer be accepted, one that still can.
    let old = rename_at(&p, &id, "Old", now - 300, now - 61);
    let recent = rename_at(&p, &id, "Recent", now - 100, now + 100);
    m.update_holder(&old)?;
    m.update_holder(&recent)?;
    let before = snapshot(&m).len();
    assert_eq!(m.sweep_spent_nonces()?, 1);
    assert_eq!(snapshot(&m).len(), before - 2, "the nonce record and its expiry row");
    assert_eq!(m.sweep_spent_nonces()?, 0);
    assert!(is_replayed(m.update_holder(&recent)), "the recent nonce is kept");
    assert!(m.store().verify()?.is_clean());
    Ok(())
}
