//! Checks of request input shared by every entity: list limits, operator
//! reasons, jurisdictions, DIDs, who signed; the operator log; and
//! [`strict`], which reads a request field through its request-side shape.
//! Each check returns a [`Refusal`] naming the field, before anything is read.

use serde::{Deserialize, Deserializer};

use crate::model::charter::parse_domain_id;
use crate::model::did::Did;
use crate::model::error::Refusal;
use crate::model::signing::Signed;

/// Reads a request field of stored type `T` that must carry no field beyond
/// those `T` itself writes, for `#[serde(deserialize_with = "strict")]`.
/// Stored types stay lenient (an older binary must read a newer record), and
/// serde ignores extra fields beside the tag of an internally tagged enum's
/// unit variant (`{"kind": "Sybil", "x": 1}`), so the value is read as `T`,
/// written back, and any key of the request's object that the written form
/// lacks is refused as an unknown field. One rule for every such type, so a
/// variant added to a stored enum is accepted in requests with its fields.
pub(crate) fn strict<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
    D: Deserializer<'de>,
{
    use serde::de::Error;
    let given = serde_json::Value::deserialize(deserializer)?;
    let value: T = serde_json::from_value(given.clone()).map_err(D::Error::custom)?;
    let written = serde_json::to_value(&value).map_err(D::Error::custom)?;
    if let (Some(given), Some(written)) = (given.as_object(), written.as_object()) {
        if let Some(extra) = given.keys().find(|k| !written.contains_key(k.as_str())) {
            return Err(D::Error::custom(format!(
                "unknown field `{extra}` beside kind {}",
                written.get("kind").unwrap_or(&serde_json::Value::Null)
            )));
        }
    }
    Ok(value)
}

/// Longest operator `reason`, in characters.
pub(crate) const MAX_REASON_CHARS: usize = 2_000;

/// Checks a list `limit` (1..=100).
///
/// # Errors
/// `InvalidInput` on `limit`.
pub(crate) fn check_limit(limit: usize) -> Result<(), Refusal> {
    if (1..=100).contains(&limit) {
        Ok(())
    } else {
        Err(Refusal::invalid("limit", "1..=100"))
    }
}

/// Checks an operator's optional reason (at most 2,000 characters; none is
/// the empty string).
///
/// # Errors
/// `InvalidInput` on `reason`.
pub(crate) fn check_reason(reason: Option<String>) -> Result<String, Refusal> {
    let reason = reason.unwrap_or_default();
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Refusal::invalid("reason", "at most 2,000 characters"));
    }
    Ok(reason)
}

/// Checks a jurisdiction (a charter `domain_id`) before it becomes part of a key.
pub(crate) fn check_jurisdiction(jurisdiction: &str) -> Result<(), Refusal> {
    parse_domain_id(jurisdiction)
        .map(|_| ())
        .map_err(|_| Refusal::invalid("jurisdiction", "a charter domain id such as coop:<slug>"))
}

/// Parses a DID from a request, mapping errors to `InvalidDid`.
pub(crate) fn parse_did(text: &str) -> Result<Did, Refusal> {
    Ok(Did::parse(text)?)
}

/// The actor of a signed action must be `expected`.
pub(crate) fn require_actor<A>(signed: &Signed<A>, expected: &Did, who: &str) -> Result<(), Refusal> {
    if &signed.actor == expected {
        Ok(())
    } else {
        Err(Refusal::forbidden(format!("only {who} may sign this action")))
    }
}

/// Writes an operator status change to the server log.
pub(crate) fn log_operator(entity: &'static str, id: &str, action: &str, reason: &str) {
    tracing::info!(target: "commons::operator", entity, id, action, reason, "operator status change");
}
