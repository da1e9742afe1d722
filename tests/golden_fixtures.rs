//! Records as stored by schema version 1 (`tests/fixtures/v1/*.json`, one file
//! per record type) must keep loading: a renamed field or variant, a changed
//! shape or a new required field would break data already on disk. Each
//! fixture is decoded into its type, checked on a few values, and encoded
//! again: everything the fixture holds must come back unchanged (new optional
//! fields may be added).

use anyhow::{Context, Result};
use commons_gateway::records::EnrollmentSession;
use commons_gateway::records::{AffiliationStatus, CommonsHolderRecord, HolderStatus};
use commons_gateway::records::{Amendment, AmendmentStatus, ChangeKind};
use commons_gateway::records::{AnchorStatus, Pathway, PersonhoodAnchor, PopLevel};
use commons_gateway::records::{Appeal, AppealKind, AppealState, Remedy};
use commons_gateway::records::{AppealStatus, RevocationReason, RevocationRecord, RevocationTarget};
use commons_gateway::records::{Charter, CharterStatus};
use commons_gateway::records::{StewardRecord, StewardStatus};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Every field of `fixture` is in `encoded` with the same value.
fn assert_subset(fixture: &Value, encoded: &Value, path: &str) {
    match (fixture, encoded) {
        (Value::Object(f), Value::Object(e)) => {
            for (k, v) in f {
                let inner = format!("{path}.{k}");
                let other = e.get(k).unwrap_or_else(|| panic!("{inner} is lost when the record is written again"));
                assert_subset(v, other, &inner);
            }
        }
        (Value::Array(f), Value::Array(e)) => {
            assert_eq!(f.len(), e.len(), "{path}: length changed");
            for (i, (a, b)) in f.iter().zip(e).enumerate() {
                assert_subset(a, b, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(fixture, encoded, "{path} changed"),
    }
}

fn load<T: DeserializeOwned + Serialize>(name: &str) -> Result<T> {
    let path = format!("{}/tests/fixtures/v1/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    let record: T = serde_json::from_str(&text).with_context(|| format!("{path} no longer decodes"))?;
    let fixture: Value = serde_json::from_str(&text)?;
    assert_subset(&fixture, &serde_json::to_value(&record)?, name);
    Ok(record)
}

#[test]
fn anchor_v1_loads() -> Result<()> {
    let a: PersonhoodAnchor = load("anchor")?;
    assert!(matches!(a.pathway, Pathway::StewardVouched { .. }));
    assert!(matches!(a.status, AnchorStatus::Suspended { until: Some(_), .. }));
    assert_eq!(a.attestations.len(), 2);
    assert_eq!(a.pop_level(a.created_at), Some(PopLevel::Verified));
    Ok(())
}

#[test]
fn holder_v1_loads() -> Result<()> {
    let h: CommonsHolderRecord = load("holder")?;
    assert!(matches!(h.status, HolderStatus::Suspended { .. }));
    assert_eq!(h.affiliations.len(), 2);
    assert_eq!(h.affiliations[0].status, AffiliationStatus::Provisional);
    assert!(h.affiliations[0].roles.contains("baker"));
    Ok(())
}

#[test]
fn charter_v1_loads_with_the_same_digest() -> Result<()> {
    let c: Charter = load("charter")?;
    assert_eq!(c.status, CharterStatus::Active);
    assert_eq!(c.founders.len(), 3);
    // The digest founders signed must not change with the code.
    // (computed independently: sha256 of the seven fields joined by newlines)
    assert_eq!(c.digest(), "fcbe941d981ff6434d279a2eef032b0338d7b92ff605ed86e050e4037e39b7ff");
    Ok(())
}

#[test]
fn steward_v1_loads() -> Result<()> {
    let s: StewardRecord = load("steward")?;
    assert!(matches!(s.status, StewardStatus::Suspended { .. }));
    assert_eq!((s.attestations_issued, s.disputes_against, s.disputes_won), (12, 1, 1));
    Ok(())
}

#[test]
fn enrollment_v1_loads() -> Result<()> {
    let e: EnrollmentSession = load("enrollment")?;
    assert_eq!(e.level, 2);
    assert_eq!(e.verification_code, "VERIFY-042917");
    assert!(e.vouch.is_some());
    Ok(())
}

#[test]
fn amendment_v1_loads() -> Result<()> {
    let a: Amendment = load("amendment")?;
    assert!(matches!(a.status, AmendmentStatus::Voting { .. }));
    assert_eq!(a.changes[1].change, ChangeKind::Remove);
    assert_eq!(a.votes.len(), 2);
    Ok(())
}

#[test]
fn appeal_v1_loads() -> Result<()> {
    let a: Appeal = load("appeal")?;
    assert!(matches!(a.kind, AppealKind::Revocation { .. }));
    assert!(matches!(a.requested_remedy, Remedy::Compensation { amount: 5000, .. }));
    assert!(matches!(a.status, AppealState::UnderReview { .. }));
    assert_eq!((a.evidence.len(), a.responses.len()), (1, 1));
    Ok(())
}

#[test]
fn revocation_v1_loads() -> Result<()> {
    let r: RevocationRecord = load("revocation")?;
    assert!(matches!(r.target, RevocationTarget::Membership { .. }));
    assert!(matches!(r.reason, RevocationReason::Other { .. }));
    assert!(matches!(r.appeal_status, AppealStatus::Pending { .. }));
    Ok(())
}
