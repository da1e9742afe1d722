//! [`Charter`]: layer 2, a cooperative's constitution and its founders'
//! signatures.
//!
//! **Invariant:** `charter_id` = sha256("commons-charter-v1" ++ domain_id);
//! founders sign the [`Charter::digest`] of the content fields and may be added
//! only while Draft, one per DID; activation needs `min_founders` of them.

use serde::{Deserialize, Serialize};

use super::anchor::PopLevel;
use super::did::Did;
use super::error::{ConflictCode, Refusal};
use super::ids::{derive_id, sha256_hex};
use super::transition::{transitions, Transitions};

/// Longest charter name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// Kind of organisation; fixes the `domain_id` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrgType {
    /// `coop:` domains.
    Cooperative,
    /// `community:` domains.
    Community,
    /// `federation:` domains.
    Federation,
}

impl OrgType {
    /// The `domain_id` prefix of this type.
    pub fn prefix(self) -> &'static str {
        match self {
            OrgType::Cooperative => "coop",
            OrgType::Community => "community",
            OrgType::Federation => "federation",
        }
    }
    /// The variant name (used in the digest).
    pub fn name(self) -> &'static str {
        match self {
            OrgType::Cooperative => "Cooperative",
            OrgType::Community => "Community",
            OrgType::Federation => "Federation",
        }
    }
    /// Default `min_founders`: 3, or 2 for a federation.
    pub fn default_min_founders(self) -> u32 {
        match self {
            OrgType::Federation => 2,
            _ => 3,
        }
    }
}

/// Checks a `domain_id` of the form `<prefix>:<slug>` with slug `[a-z0-9-]{1,64}`
/// and returns its org type.
///
/// # Errors
/// `InvalidInput` on `domain_id`.
pub fn parse_domain_id(domain_id: &str) -> Result<OrgType, Refusal> {
    let bad = || {
        Refusal::invalid(
            "domain_id",
            format!(
                "{:?} is not coop|community|federation:<slug> with slug [a-z0-9-]{{1,64}}",
                domain_id.chars().take(120).collect::<String>()
            ),
        )
    };
    let (prefix, slug) = domain_id.split_once(':').ok_or_else(bad)?;
    let org = match prefix {
        "coop" => OrgType::Cooperative,
        "community" => OrgType::Community,
        "federation" => OrgType::Federation,
        _ => return Err(bad()),
    };
    if slug.is_empty() || slug.len() > 64 || !slug.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-')) {
        return Err(bad());
    }
    Ok(org)
}

/// Who may join and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipPolicy {
    /// Founder signatures needed to activate (at least 1).
    pub min_founders: u32,
    /// Whether enrollment may complete without a steward's vouch.
    pub open_enrollment: bool,
    /// Lowest proof-of-personhood level a new member's enrollment must reach.
    pub required_pop_level: PopLevel,
}

/// One founder's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Founder {
    /// The founder.
    pub did: Did,
    /// Optional role.
    pub role: Option<String>,
    /// Unix seconds.
    pub signed_at: u64,
    /// The `charter-sign` envelope signature (128 hex) over the digest payload.
    pub signature: String,
}

/// Lifecycle state of a charter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum CharterStatus {
    /// Collecting founder signatures.
    Draft,
    /// In force.
    Active,
    /// Suspended by the operator.
    Suspended {
        /// Why.
        reason: String,
        /// Since when (Unix seconds).
        since: u64,
    },
    /// Dissolved (terminal).
    Dissolved {
        /// Why.
        reason: String,
        /// When (Unix seconds).
        at: u64,
    },
}

impl CharterStatus {
    /// The variant name.
    pub fn name(&self) -> &'static str {
        match self {
            CharterStatus::Draft => "Draft",
            CharterStatus::Active => "Active",
            CharterStatus::Suspended { .. } => "Suspended",
            CharterStatus::Dissolved { .. } => "Dissolved",
        }
    }
}

/// A cooperative's constitution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charter {
    /// sha256("commons-charter-v1" ++ domain_id).
    pub charter_id: String,
    /// `<prefix>:<slug>`.
    pub domain_id: String,
    /// 1..=200 characters, no newline.
    pub name: String,
    /// Up to 10,000 characters.
    pub description: String,
    /// Organisation type (matches the domain prefix).
    pub org_type: OrgType,
    /// Membership rules.
    pub membership_policy: MembershipPolicy,
    /// The creating holder.
    pub created_by: Did,
    /// One per DID, added while Draft.
    pub founders: Vec<Founder>,
    /// Lifecycle state.
    pub status: CharterStatus,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// A charter plus its digest, as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CharterView {
    /// The record.
    #[serde(flatten)]
    pub charter: Charter,
    /// What founders sign.
    pub digest: String,
}

/// Content of a new charter, checked by [`Charter::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharterDraft {
    /// `<prefix>:<slug>`.
    pub domain_id: String,
    /// Must match the domain prefix.
    pub org_type: OrgType,
    /// 1..=200 characters, no newline.
    pub name: String,
    /// Up to 10,000 characters.
    pub description: String,
    /// Rules.
    pub membership_policy: MembershipPolicy,
}

transitions!(Charter, CharterStatus, "charter", charter_id);

impl Charter {
    /// The charter id of a domain.
    pub fn id_for(domain_id: &str) -> String {
        derive_id("commons-charter-v1", domain_id.as_bytes())
    }

    /// Checks `draft` and builds a Draft charter.
    ///
    /// # Errors
    /// `InvalidInput` on the first bad field.
    pub fn new(draft: CharterDraft, created_by: Did, now: u64) -> Result<Self, Refusal> {
        let org = parse_domain_id(&draft.domain_id)?;
        if org != draft.org_type {
            return Err(Refusal::invalid(
                "org_type",
                format!("{} does not match the domain prefix {}", draft.org_type.name(), draft.org_type.prefix()),
            ));
        }
        let n = draft.name.chars().count();
        if n == 0 || n > MAX_NAME_CHARS || draft.name.contains(['\n', '\r']) {
            return Err(Refusal::invalid("name", "1..=200 characters without a newline"));
        }
        if draft.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(Refusal::invalid("description", "at most 10,000 characters"));
        }
        if draft.membership_policy.min_founders == 0 || draft.membership_policy.min_founders > 1000 {
            return Err(Refusal::invalid("membership_policy.min_founders", "1..=1000"));
        }
        Ok(Self {
            charter_id: Self::id_for(&draft.domain_id),
            domain_id: draft.domain_id,
            name: draft.name,
            description: draft.description,
            org_type: draft.org_type,
            membership_policy: draft.membership_policy,
            created_by,
            founders: Vec::new(),
            status: CharterStatus::Draft,
            created_at: now,
            updated_at: now,
        })
    }

    /// sha256 (hex) of the seven content fields joined by `\n`: domain_id,
    /// org_type, name, min_founders, open_enrollment, required_pop_level,
    /// description (`docs/DOMAIN.md`, "Signed actions").
    pub fn digest(&self) -> String {
        let p = &self.membership_policy;
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.domain_id,
            self.org_type.name(),
            self.name,
            p.min_founders,
            p.open_enrollment,
            p.required_pop_level.name(),
            self.description
        );
        sha256_hex(text.as_bytes())
    }

    /// The record with its derived fields.
    pub fn view(&self) -> CharterView {
        CharterView { digest: self.digest(), charter: self.clone() }
    }

    /// True when Active.
    pub fn is_active(&self) -> bool {
        self.status == CharterStatus::Active
    }

    /// Adds a founder signature over `digest`.
    ///
    /// # Errors
    /// `InvalidTransition` unless Draft; `Conflict` `digest_mismatch` when
    /// `digest` is not the current one (re-read the charter and sign again);
    /// `Conflict` `already_signed` for a second signature by the same DID.
    pub fn sign(&mut self, founder: Founder, digest: &str, now: u64) -> Result<(), Refusal> {
        if self.status != CharterStatus::Draft {
            return Err(self.refuse("sign"));
        }
        if digest != self.digest() {
            return Err(Refusal::conflict(
                ConflictCode::DigestMismatch,
                format!("signed digest {digest} is not the charter's current digest {}", self.digest()),
            ));
        }
        if self.founders.iter().any(|f| f.did == founder.did) {
            return Err(Refusal::conflict(
                ConflictCode::AlreadySigned,
                format!("{} has already signed charter {}", founder.did, self.charter_id),
            ));
        }
        if let Some(role) = &founder.role {
            if role.chars().count() > 100 || role.chars().any(char::is_control) {
                return Err(Refusal::invalid("role", "at most 100 characters, no control characters"));
            }
        }
        self.founders.push(founder);
        self.updated_at = now;
        Ok(())
    }

    /// Draft -> Active, by a founder in good standing, once at least
    /// `min_founders` founders are in good standing (`in_standing(did)`: an
    /// Active holder with an Active anchor, decided by the caller). A
    /// signature of a founder since suspended or revoked no longer counts.
    ///
    /// # Errors
    /// `InvalidTransition` unless Draft; `Forbidden` unless `by` is a founder
    /// in good standing; `Conflict` `not_enough_founders`.
    pub fn activate(&mut self, by: &Did, in_standing: impl Fn(&Did) -> bool, now: u64) -> Result<(), Refusal> {
        if self.status != CharterStatus::Draft {
            return Err(self.refuse("activate"));
        }
        if !self.founders.iter().any(|f| &f.did == by) {
            return Err(Refusal::forbidden("only a founder may activate a charter"));
        }
        if !in_standing(by) {
            return Err(Refusal::forbidden(format!(
                "founder {by} is not in good standing (an Active holder with an Active anchor)"
            )));
        }
        let need = self.membership_policy.min_founders as usize;
        let counted = self.founders.iter().filter(|f| in_standing(&f.did)).count();
        if counted < need {
            return Err(Refusal::conflict(ConflictCode::NotEnoughFounders,
                format!(
                    "charter {} has {} founder signatures, {counted} of them by founders in good standing; {need} needed",
                    self.charter_id,
                    self.founders.len()
                ),
            ));
        }
        self.status = CharterStatus::Active;
        self.updated_at = now;
        Ok(())
    }

    /// Active -> Suspended (operator).
    ///
    /// # Errors
    /// `InvalidTransition` unless Active.
    pub fn suspend(&mut self, reason: String, now: u64) -> Result<(), Refusal> {
        self.transition(
            "suspend",
            |s| *s == CharterStatus::Active,
            CharterStatus::Suspended { reason, since: now },
            now,
        )
    }

    /// Suspended -> Active (operator).
    ///
    /// # Errors
    /// `InvalidTransition` unless Suspended.
    pub fn reinstate(&mut self, now: u64) -> Result<(), Refusal> {
        self.transition("reinstate", |s| matches!(s, CharterStatus::Suspended { .. }), CharterStatus::Active, now)
    }

    /// Any state but Dissolved -> Dissolved (operator; terminal).
    ///
    /// # Errors
    /// `InvalidTransition` when already Dissolved.
    pub fn dissolve(&mut self, reason: String, now: u64) -> Result<(), Refusal> {
        self.transition(
            "dissolve",
            |s| !matches!(s, CharterStatus::Dissolved { .. }),
            CharterStatus::Dissolved { reason, at: now },
            now,
        )
    }
}
