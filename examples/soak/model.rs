//! What the soak knows of the commons: every person its clients enrolled,
//! with the state the server acknowledged for each ([`Person`]), the one
//! write per client whose answer never came ([`Write`], `Person::pending`),
//! the amendments and their votes ([`Ballot`]), and the count of
//! acknowledged writes by kind ([`Ledger`]).
//!
//! **Invariant:** a person belongs to one client, and a client sends one
//! request at a time, so a person has at most one write in flight, and what
//! the model says of it is exactly what the server acknowledged, plus at
//! most that one unknown write (settled by the check after the restart).

use std::sync::atomic::AtomicUsize;
use std::sync::RwLock;

use ed25519_dalek::SigningKey;

use crate::founding::Principal;

/// The kinds of write the soak sends, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST /v1/enrollments` (public).
    Start,
    /// `enroll-verify`, signed by the person.
    Verify,
    /// `enroll-vouch`, signed by a steward.
    Vouch,
    /// `enroll-complete`, signed by the person: anchor, holder, affiliation,
    /// the steward's count and the session's deletion in one batch.
    Complete,
    /// `holder-update` (display name), signed by the holder.
    Name,
    /// Operator promotion of an affiliation (Provisional to Member).
    Promote,
    /// `vote`, signed by a Member with Vote.
    Vote,
    /// Operator revocation of a membership (with the affiliation's change).
    Revoke,
    /// `appeal-file` of a revocation (with the revocation's appeal status).
    FileAppeal,
    /// Operator review of an appeal.
    Review,
    /// Operator resolution Upheld (appeal, revocation and affiliation).
    Resolve,
    /// `amendment-propose`, signed by the proposer.
    Propose,
    /// `amendment-submit`, signed by the proposer.
    Submit,
    /// `amendment-open-voting`, signed by a steward.
    OpenVoting,
    /// Operator close of a vote (with its tally).
    Close,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 15] = [
        Kind::Start,
        Kind::Verify,
        Kind::Vouch,
        Kind::Complete,
        Kind::Name,
        Kind::Promote,
        Kind::Vote,
        Kind::Revoke,
        Kind::FileAppeal,
        Kind::Review,
        Kind::Resolve,
        Kind::Propose,
        Kind::Submit,
        Kind::OpenVoting,
        Kind::Close,
    ];

    /// The name the report uses (the signed action's, where there is one).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Start => "enroll-start",
            Kind::Verify => "enroll-verify",
            Kind::Vouch => "enroll-vouch",
            Kind::Complete => "enroll-complete",
            Kind::Name => "holder-update",
            Kind::Promote => "promote",
            Kind::Vote => "vote",
            Kind::Revoke => "revoke",
            Kind::FileAppeal => "appeal-file",
            Kind::Review => "appeal-review",
            Kind::Resolve => "appeal-resolve",
            Kind::Propose => "amendment-propose",
            Kind::Submit => "amendment-submit",
            Kind::OpenVoting => "amendment-open-voting",
            Kind::Close => "amendment-close",
        }
    }
}

/// Acknowledged writes, counted by kind.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ledger([u64; Kind::ALL.len()]);

impl Ledger {
    /// Counts one acknowledged write of `kind`.
    pub fn count(&mut self, kind: Kind) {
        self.0[kind as usize] += 1;
    }

    /// Adds another ledger's counts.
    pub fn add(&mut self, other: &Ledger) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    /// All acknowledged writes.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `kind count` for each kind with a count, e.g. `vote 120, revoke 3`.
    pub fn breakdown(&self) -> String {
        let parts: Vec<String> = Kind::ALL
            .iter()
            .filter(|kind| self.0[**kind as usize] > 0)
            .map(|kind| format!("{} {}", kind.name(), self.0[*kind as usize]))
            .collect();
        parts.join(", ")
    }
}

/// A steward of the commons (a genesis member the operator registered).
pub struct Steward {
    /// Its steward record's id.
    pub steward_id: String,
    /// The DID of its key.
    pub did: String,
    /// The key its vouches and vote openings are signed with.
    pub key: SigningKey,
}

/// What setup made and every client uses; read-only during the load.
pub struct Commons {
    /// The cooperative's domain (`coop:soak-...`).
    pub domain_id: String,
    /// The cooperative's charter (Active).
    pub charter_id: String,
    /// The two commons-wide stewards; a person is vouched by one of them.
    pub stewards: Vec<Steward>,
    /// A Member with Propose, who proposes and submits every amendment.
    pub proposer: Principal,
}

/// Where a person's enrollment and membership stand, as acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// An enrollment session in flight, at this level (0 started, 1 the
    /// person's DID bound, 2 vouched).
    Enrolling { enrollment_id: String, code: String, level: u8 },
    /// Enrolled: a Provisional member with Vote and Transact.
    Provisional,
    /// Promoted by the operator.
    Member,
    /// Under a revocation that was not immediate.
    Suspended,
    /// Under an immediate revocation.
    Banned,
}

impl Standing {
    /// The affiliation status the server must show, once enrolled.
    pub fn affiliation(&self) -> Option<&'static str> {
        match self {
            Standing::Enrolling { .. } => None,
            Standing::Provisional => Some("Provisional"),
            Standing::Member => Some("Member"),
            Standing::Suspended => Some("Suspended"),
            Standing::Banned => Some("Banned"),
        }
    }
}

/// The appeal status of a revocation, as acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationAppeal {
    None,
    /// An appeal is pending: its id.
    Pending(String),
    /// The appeal was upheld (the membership restored).
    Upheld,
}

/// One acknowledged revocation of a person's membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The id the server gave it.
    pub revocation_id: String,
    /// True: the membership Banned; false: Suspended.
    pub immediate: bool,
    /// Where its appeal stands.
    pub appeal: RevocationAppeal,
}

impl Revocation {
    /// How the check compares it: `<id> immediate <bool> appeal <status>`.
    pub fn describe(&self) -> String {
        let appeal = match &self.appeal {
            RevocationAppeal::None => "None".to_string(),
            RevocationAppeal::Pending(id) => format!("Pending:{id}"),
            RevocationAppeal::Upheld => "Upheld".to_string(),
        };
        format!("{} immediate {} appeal {appeal}", self.revocation_id, self.immediate)
    }
}

/// The status of an appeal, as acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppealStatus {
    Filed,
    UnderReview,
    /// Resolved with outcome Upheld.
    Upheld,
}

impl AppealStatus {
    /// As the check compares it: the status kind, and the outcome when
    /// resolved (`Resolved:Upheld`).
    pub fn describe(self) -> &'static str {
        match self {
            AppealStatus::Filed => "Filed",
            AppealStatus::UnderReview => "UnderReview",
            AppealStatus::Upheld => "Resolved:Upheld",
        }
    }
}

/// One acknowledged appeal of a revocation of the person's membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appeal {
    /// The id the server gave it.
    pub appeal_id: String,
    /// The revocation appealed.
    pub revocation_id: String,
    /// Where it stands.
    pub status: AppealStatus,
}

impl Appeal {
    /// How the check compares it: `<id> <status>`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.appeal_id, self.status.describe())
    }
}

/// A write whose answer never came (the server was killed meanwhile): it
/// must turn out wholly applied or wholly absent. Votes and the amendment
/// steps are kept with the amendment instead ([`Vote`], [`Ballot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Verify,
    Vouch,
    Complete,
    /// The display name sent.
    Name(String),
    Promote,
    Revoke {
        immediate: bool,
    },
    /// An appeal of this revocation.
    FileAppeal {
        revocation_id: String,
    },
    Review {
        appeal_id: String,
    },
    Resolve {
        appeal_id: String,
    },
}

impl Write {
    /// The kind of write.
    pub fn kind(&self) -> Kind {
        match self {
            Write::Verify => Kind::Verify,
            Write::Vouch => Kind::Vouch,
            Write::Complete => Kind::Complete,
            Write::Name(_) => Kind::Name,
            Write::Promote => Kind::Promote,
            Write::Revoke { .. } => Kind::Revoke,
            Write::FileAppeal { .. } => Kind::FileAppeal,
            Write::Review { .. } => Kind::Review,
            Write::Resolve { .. } => Kind::Resolve,
        }
    }
}

/// A person one client enrolled (or is enrolling), as acknowledged.
pub struct Person {
    /// Their key: they sign their own actions.
    pub key: SigningKey,
    /// The DID of their key.
    pub did: String,
    /// The anchor (= holder) id; empty until the enrollment completed.
    pub anchor_id: String,
    /// Which steward of [`Commons::stewards`] vouches (vouched) for them.
    pub steward: usize,
    /// Their enrollment or membership, as acknowledged.
    pub standing: Standing,
    /// The last acknowledged display name (none until one is set).
    pub display_name: Option<String>,
    /// The amendment this person last voted on (answered or not): one vote
    /// per voter and amendment.
    pub voted_on: Option<String>,
    /// The revocations of their membership, oldest first.
    pub revocations: Vec<Revocation>,
    /// Their appeals, oldest first.
    pub appeals: Vec<Appeal>,
    /// The write in flight when the server was killed, until the check
    /// settles it.
    pub pending: Option<Write>,
    /// Whether a write for this person was sent since the last check.
    pub touched: bool,
}

impl Person {
    /// A person whose enrollment session just started (level 0).
    pub fn enrolling(principal: Principal, enrollment_id: String, code: String, steward: usize) -> Self {
        Self {
            key: principal.key,
            did: principal.did,
            anchor_id: String::new(),
            steward,
            standing: Standing::Enrolling { enrollment_id, code, level: 0 },
            display_name: None,
            voted_on: None,
            revocations: Vec::new(),
            appeals: Vec::new(),
            pending: None,
            touched: true,
        }
    }

    /// Whether the enrollment completed (the person has an anchor).
    pub fn enrolled(&self) -> bool {
        !self.anchor_id.is_empty()
    }
}

/// One vote sent on an amendment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// Who voted.
    pub voter_did: String,
    /// For or against.
    pub approve: bool,
    /// Acknowledged (201), or found applied by a check; false while its
    /// answer never came and no check has settled it.
    pub known: bool,
}

/// Where an amendment stands, as acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmendmentStatus {
    Draft,
    Submitted,
    Voting,
    /// Closed by the operator: `Ratified` or `Rejected`.
    Closed(String),
}

impl AmendmentStatus {
    /// The status of this kind as the server shows it (`Draft`, ...,
    /// `Ratified`); `None` for a kind the soak never brings about.
    pub fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "Draft" => Some(AmendmentStatus::Draft),
            "Submitted" => Some(AmendmentStatus::Submitted),
            "Voting" => Some(AmendmentStatus::Voting),
            "Ratified" | "Rejected" => Some(AmendmentStatus::Closed(kind.to_string())),
            _ => None,
        }
    }

    /// The status kind the server shows.
    pub fn kind(&self) -> &str {
        match self {
            AmendmentStatus::Draft => "Draft",
            AmendmentStatus::Submitted => "Submitted",
            AmendmentStatus::Voting => "Voting",
            AmendmentStatus::Closed(kind) => kind,
        }
    }
}

/// One amendment the proposer made.
pub struct Amendment {
    /// The id the server gave it.
    pub amendment_id: String,
    /// Where it stands, as acknowledged.
    pub status: AmendmentStatus,
    /// The votes sent on it, in no particular order.
    pub votes: Vec<Vote>,
    /// `votes + uncounted` of the tally its close answered: every vote it
    /// held when closed.
    pub closed_with: Option<u64>,
    /// Whether it changed since the last check.
    pub touched: bool,
    /// Found missing by a check (reported once, then no longer read).
    pub gone: bool,
}

impl Amendment {
    /// A Draft just proposed, with this id.
    pub fn draft(amendment_id: String) -> Self {
        Self {
            amendment_id,
            status: AmendmentStatus::Draft,
            votes: Vec::new(),
            closed_with: None,
            touched: true,
            gone: false,
        }
    }
}

/// A step of the amendment pipeline whose answer never came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A propose: the amendment's id is unknown.
    Propose,
    /// A submit, opening or close of the amendment at this index.
    Submit(usize),
    OpenVoting(usize),
    Close(usize),
}

/// The amendments: one at a time goes through propose, submit and open
/// voting, collects votes, and is closed by the operator when enough
/// members voted, and the next one starts.
#[derive(Default)]
pub struct Ballot {
    /// Every amendment proposed, oldest first (indices are stable).
    pub amendments: Vec<Amendment>,
    /// The amendment not yet closed, if any.
    pub current: Option<usize>,
    /// The step in flight when the server was killed.
    pub pending: Option<Step>,
}

impl Ballot {
    /// The id of the current amendment when it is open for voting.
    pub fn voting(&self) -> Option<(usize, &str)> {
        let index = self.current?;
        let amendment = self.amendments.get(index)?;
        (amendment.status == AmendmentStatus::Voting).then_some((index, amendment.amendment_id.as_str()))
    }
}

/// The ballot as the clients share it: a vote holds the read lock while it
/// is sent, so no amendment closes under a vote; moving the pipeline on
/// takes the write lock.
#[derive(Default)]
pub struct SharedBallot {
    /// The amendments (see the type's docs for who holds which lock).
    pub ballot: RwLock<Ballot>,
    /// Acknowledged votes on the current amendment (the threshold for
    /// closing it).
    pub votes_on_current: AtomicUsize,
}
