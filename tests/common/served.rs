//! The commons the bad-input tests hit, served in process ([`Served`]), and
//! the routes that take a signed envelope as data ([`Signed`]): each with
//! its good request (signer, target, payload, success status) and the
//! spoilt variants the tests derive from it, so that one bad request is one
//! row of a table.
//!
//! [`Served`] is the manager-built [`World`] (`coop:bakers`, Active, founded
//! by genesis 0, 1 and 2; genesis 0 and 1 commons-wide stewards) plus, made
//! through the gateway, a Draft charter `coop:draft` and three enrollment
//! sessions at levels 0, 1 and 2, so that every bad request meets a real
//! record.

use actix_web::http::Method;
use anyhow::{ensure, Result};
use commons_gateway::SignedEnvelope;
use serde_json::{json, Value};

use super::http::{temporary_manager, Call, Gateway, TOKEN};
use super::keys::Person;
use super::world::World;

/// The commons of the bad-input tests and the app over it.
pub struct Served {
    /// The app with operator token [`TOKEN`].
    pub gw: Gateway,
    pub w: World,
    /// Genesis 0: commons-wide steward, founder of `coop:bakers`.
    pub a: Person,
    /// Genesis 2: founder of `coop:bakers` (no steward), creator and only
    /// founder of `coop:draft`.
    pub b: Person,
    /// Genesis 1: founder of `coop:bakers`, not of `coop:draft`.
    pub c: Person,
    /// The person of enrollment `e0` (not yet bound: level 0).
    pub p0: Person,
    /// The person bound to enrollment `e1` (level 1).
    pub p1: Person,
    /// The person bound to enrollment `e2` (level 2, vouched by `a`).
    pub p2: Person,
    /// A principal the commons knows nothing of.
    pub x: Person,
    pub anchor_a: String,
    pub anchor_b: String,
    pub anchor_c: String,
    pub steward_a: String,
    /// Active charter `coop:bakers` (open_enrollment false).
    pub charter: String,
    /// Draft charter `coop:draft` (min_founders 1, signed by `b`).
    pub draft: String,
    pub draft_digest: String,
    pub e0: String,
    pub code0: String,
    pub e1: String,
    pub code1: String,
    pub e2: String,
}

impl Served {
    pub async fn new() -> Result<Self> {
        let m = temporary_manager()?;
        let w = World::build(&m, "bakers", false)?;
        let gw = Gateway::new(&m, Some(TOKEN)).await;
        let (a, b, c) = (w.genesis[0].clone(), w.genesis[2].clone(), w.genesis[1].clone());
        let anchor = |p: &Person| -> Result<String> { Ok(m.anchor_by_did(p.did.as_str())?.anchor.anchor_id) };
        let (anchor_a, anchor_b, anchor_c) = (anchor(&a)?, anchor(&b)?, anchor(&c)?);
        let steward_a = m.steward_by_did(a.did.as_str())?.steward.steward_id;
        let charter = w.charter_id.clone();
        let r = gw.expect(&Call::get(format!("/v1/charters/{charter}")), 200).await?;
        ensure!(r.json["status"]["kind"] == "Active", "charter not active: {}", r.text);

        let draft_body = json!({
            "domain_id": "coop:draft", "org_type": "Cooperative", "name": "Draft",
            "description": "", "membership_policy": {"open_enrollment": true, "min_founders": 1}
        });
        let r = gw.expect(&Call::post("/v1/charters").signed(&b, "charter-create", "-", &draft_body), 201).await?;
        let (draft, draft_digest) = (r.field("charter_id")?, r.field("digest")?);
        let sign = Call::post(format!("/v1/charters/{draft}/signatures")).signed(
            &b,
            "charter-sign",
            &draft,
            json!({"digest": draft_digest}),
        );
        gw.expect(&sign, 200).await?;

        let (p0, p1, p2, x) = (Person::new(), Person::new(), Person::new(), Person::new());
        let start = |name: &str| {
            Call::post("/v1/enrollments").json(&json!({"identity_name": name, "domain_id": "coop:bakers"}))
        };
        let step = |id: &str, verb: &str| Call::post(format!("/v1/enrollments/{id}/{verb}"));
        let r = gw.expect(&start("Noor"), 201).await?;
        let (e0, code0) = (r.field("enrollment_id")?, r.field("verification_code")?);
        let r = gw.expect(&start("Olu"), 201).await?;
        let (e1, code1) = (r.field("enrollment_id")?, r.field("verification_code")?);
        let verify = step(&e1, "verify").signed(&p1, "enroll-verify", &e1, json!({"verification_code": code1}));
        gw.expect(&verify, 200).await?;
        let r = gw.expect(&start("Pia"), 201).await?;
        let (e2, code2) = (r.field("enrollment_id")?, r.field("verification_code")?);
        let verify = step(&e2, "verify").signed(&p2, "enroll-verify", &e2, json!({"verification_code": code2}));
        gw.expect(&verify, 200).await?;
        let vouch = step(&e2, "vouch").signed(&a, "enroll-vouch", &e2, json!({"person_did": p2.did}));
        let r = gw.expect(&vouch, 200).await?;
        ensure!(r.json["level"] == 2, "e2 not at level 2: {}", r.text);

        Ok(Self {
            gw,
            w,
            a,
            b,
            c,
            p0,
            p1,
            p2,
            x,
            anchor_a,
            anchor_b,
            anchor_c,
            steward_a,
            charter,
            draft,
            draft_digest,
            e0,
            code0,
            e1,
            code1,
            e2,
        })
    }
}

/// The routes that take a signed envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    Verify,
    Vouch,
    Complete,
    Reject,
    Attest,
    HolderUpdate,
    CharterCreate,
    CharterSign,
    CharterActivate,
}

impl Signed {
    pub fn action(self) -> &'static str {
        match self {
            Signed::Verify => "enroll-verify",
            Signed::Vouch => "enroll-vouch",
            Signed::Complete => "enroll-complete",
            Signed::Reject => "enroll-reject",
            Signed::Attest => "attest",
            Signed::HolderUpdate => "holder-update",
            Signed::CharterCreate => "charter-create",
            Signed::CharterSign => "charter-sign",
            Signed::CharterActivate => "charter-activate",
        }
    }

    /// A real action of another route, signed instead of this one.
    pub fn other_action(self) -> &'static str {
        match self {
            Signed::Verify => "enroll-complete",
            Signed::Vouch => "enroll-reject",
            Signed::Complete => "enroll-verify",
            Signed::Reject => "enroll-vouch",
            Signed::Attest => "holder-update",
            Signed::HolderUpdate => "attest",
            Signed::CharterCreate => "charter-sign",
            Signed::CharterSign => "charter-activate",
            Signed::CharterActivate => "charter-sign",
        }
    }

    pub fn method(self) -> Method {
        if self == Signed::HolderUpdate {
            Method::PATCH
        } else {
            Method::POST
        }
    }

    /// The route with `segment` (already URI-escaped) as its id.
    pub fn path(self, segment: &str) -> String {
        match self {
            Signed::Verify => format!("/v1/enrollments/{segment}/verify"),
            Signed::Vouch => format!("/v1/enrollments/{segment}/vouch"),
            Signed::Complete => format!("/v1/enrollments/{segment}/complete"),
            Signed::Reject => format!("/v1/enrollments/{segment}/reject"),
            Signed::Attest => format!("/v1/anchors/{segment}/attestations"),
            Signed::HolderUpdate => format!("/v1/holders/{segment}"),
            Signed::CharterCreate => "/v1/charters".to_string(),
            Signed::CharterSign => format!("/v1/charters/{segment}/signatures"),
            Signed::CharterActivate => format!("/v1/charters/{segment}/activate"),
        }
    }

    /// The record the good request acts on (`-` for a creation).
    pub fn target(self, w: &Served) -> String {
        match self {
            Signed::Verify => w.e0.clone(),
            Signed::Vouch | Signed::Reject => w.e1.clone(),
            Signed::Complete => w.e2.clone(),
            Signed::Attest | Signed::HolderUpdate => w.anchor_b.clone(),
            Signed::CharterCreate => "-".to_string(),
            Signed::CharterSign | Signed::CharterActivate => w.draft.clone(),
        }
    }

    /// Another real record of the same kind (for a creation: a charter id).
    pub fn other_target(self, w: &Served) -> String {
        match self {
            Signed::Verify | Signed::Complete => w.e1.clone(),
            Signed::Vouch | Signed::Reject => w.e0.clone(),
            Signed::Attest | Signed::HolderUpdate => w.anchor_c.clone(),
            Signed::CharterCreate | Signed::CharterSign | Signed::CharterActivate => w.charter.clone(),
        }
    }

    /// The key allowed to sign the good request.
    pub fn signer(self, w: &Served) -> &Person {
        match self {
            Signed::Verify => &w.p0,
            Signed::Vouch | Signed::Reject | Signed::Attest => &w.a,
            Signed::Complete => &w.p2,
            Signed::HolderUpdate | Signed::CharterActivate => &w.b,
            Signed::CharterCreate | Signed::CharterSign => &w.c,
        }
    }

    pub fn payload(self, w: &Served) -> Value {
        match self {
            Signed::Verify => json!({"verification_code": w.code0}),
            Signed::Vouch => json!({"person_did": w.p1.did}),
            Signed::Complete | Signed::CharterActivate => json!({}),
            Signed::Reject => json!({"reason": "not a real person"}),
            Signed::Attest => json!({"level": "Strong", "method": "InPerson"}),
            Signed::HolderUpdate => json!({"display_name": "Bea"}),
            Signed::CharterCreate => json!({
                "domain_id": "community:gardens", "org_type": "Community", "name": "Gardens",
                "description": "We grow.", "membership_policy": {"open_enrollment": true}
            }),
            Signed::CharterSign => json!({"digest": w.draft_digest, "role": "treasurer"}),
        }
    }

    /// The payload with a field of the wrong JSON type.
    pub fn payload_with_wrong_types(self) -> Value {
        match self {
            Signed::Verify => json!({"verification_code": 123456}),
            Signed::Vouch => json!({"person_did": true}),
            Signed::Complete | Signed::CharterActivate => json!("now"),
            Signed::Reject => json!({"reason": 5}),
            Signed::Attest => json!({"level": 3, "method": "InPerson"}),
            Signed::HolderUpdate => json!({"display_name": 42}),
            Signed::CharterCreate => json!({
                "domain_id": "community:gardens", "org_type": "Community", "name": "Gardens",
                "membership_policy": {"open_enrollment": "yes"}
            }),
            Signed::CharterSign => json!({"digest": ["a"]}),
        }
    }

    /// A validly signed request by someone who may not take the action.
    pub fn not_allowed(self, w: &Served) -> (&Person, Value) {
        match self {
            // Right person, wrong code.
            Signed::Verify => (
                &w.p0,
                json!({"verification_code": if w.code0 == "VERIFY-000000" { "VERIFY-000001" } else { "VERIFY-000000" }}),
            ),
            // b is a holder, not a steward.
            Signed::Vouch => (&w.b, json!({"person_did": w.p1.did})),
            // p1 is not the person bound to e2.
            Signed::Complete => (&w.p1, json!({})),
            Signed::Reject => (&w.b, json!({"reason": "no"})),
            Signed::Attest => (&w.b, json!({"level": "Strong", "method": "InPerson"})),
            // c may not rename b.
            Signed::HolderUpdate => (&w.c, json!({"display_name": "Mallory"})),
            // x is not a holder.
            Signed::CharterCreate => (&w.x, self.payload(w)),
            Signed::CharterSign => (&w.x, self.payload(w)),
            // c is not a founder of the draft.
            Signed::CharterActivate => (&w.c, json!({})),
        }
    }

    pub fn success(self) -> u16 {
        match self {
            Signed::Complete | Signed::Attest | Signed::CharterCreate => 201,
            _ => 200,
        }
    }

    /// The good envelope of this route.
    pub fn good_envelope(self, w: &Served) -> SignedEnvelope {
        self.signer(w).envelope(self.action(), &self.target(w), self.payload(w))
    }

    /// The request carrying `env` to this route's good target.
    pub fn call(self, w: &Served, env: &SignedEnvelope) -> Call {
        Call::new(self.method(), self.path(&self.target(w))).envelope(env)
    }
}

/// Every signed route.
pub const ALL_SIGNED: [Signed; 9] = {
    use Signed::*;
    [Verify, Vouch, Complete, Reject, Attest, HolderUpdate, CharterCreate, CharterSign, CharterActivate]
};
