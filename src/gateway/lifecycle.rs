//! Status routes of anchors, charters and stewards (operator), and the
//! affiliation routes of holders (`DOMAIN.md`, "HTTP API"):
//!
//! - `POST /anchors/{id}/suspend|reinstate|revoke` (operator, `{reason?}`)
//! - `POST /charters/{id}/suspend|reinstate|dissolve` (operator, `{reason?}`)
//! - `POST /stewards/{id}/suspend|reinstate|retire|revoke` (operator,
//!   `{reason?}`), `POST /stewards/{id}/extend-term` (operator, `{term_end}`)
//! - `GET /holders/{id}/affiliations`; `POST /holders/{id}/affiliations`
//!   (signed `affiliation-apply`, 201)
//! - `POST /holders/{id}/affiliations/{jurisdiction}/approve|promote` (signed
//!   by a steward of the jurisdiction, or the operator with `{reason?}`),
//!   `.../suspend|reinstate|ban` (operator, `{reason?}`), `.../leave` (signed
//!   `affiliation-leave`), `PUT .../capabilities` (operator, `{capabilities}`)
//!
//! Every affiliation route answers the holder as `GET /holders/{id}` does.
//! Operator routes take the [`Operator`](super::auth::Operator) extractor before the body, so a
//! missing or wrong token is refused before the body is read. Signed
//! affiliation actions carry the jurisdiction in their payload (the signature
//! covers it); it must equal the route's, else 400 `invalid_input`.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::handlers::{body_as, operator_on, read, signed_on, ReasonBody};
use super::{ok, run};
use crate::manager::actions::{AffiliationApprove, AffiliationLeave, AffiliationPromote};
use crate::manager::CommonsManager;
use crate::model::error::CommonsResult;
use crate::model::holder::Capability;
use crate::model::holder::HolderView;
use crate::model::signing::{Action, Signed, SignedEnvelope};

/// Builds the handler of an operator status route on `{id}`, body `{reason?}`.
macro_rules! status {
    ($method:ident) => {
        operator_on(StatusCode::OK, |m: &CommonsManager, id: String, b: ReasonBody| m.$method(&id, b.reason))
    };
}

/// Builds the handler of an operator affiliation route on
/// `{id}/affiliations/{jurisdiction}`, body `{reason?}`.
macro_rules! membership {
    ($method:ident) => {
        operator_on(StatusCode::OK, |m: &CommonsManager, (id, j): (String, String), b: ReasonBody| {
            m.$method(&id, &j, b.reason)
        })
    };
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let extend_term = |m: &CommonsManager, id: String, b: ExtendTermBody| m.extend_steward_term(&id, b.term_end);
    let capabilities = |m: &CommonsManager, (id, j): (String, String), b: CapabilitiesBody| {
        m.set_affiliation_capabilities(&id, &j, b.capabilities)
    };
    cfg.route("/anchors/{id}/suspend", web::post().to(status!(suspend_anchor)))
        .route("/anchors/{id}/reinstate", web::post().to(status!(reinstate_anchor)))
        .route("/anchors/{id}/revoke", web::post().to(status!(revoke_anchor)))
        .route("/charters/{id}/suspend", web::post().to(status!(suspend_charter)))
        .route("/charters/{id}/reinstate", web::post().to(status!(reinstate_charter)))
        .route("/charters/{id}/dissolve", web::post().to(status!(dissolve_charter)))
        .route("/stewards/{id}/suspend", web::post().to(status!(suspend_steward)))
        .route("/stewards/{id}/reinstate", web::post().to(status!(reinstate_steward)))
        .route("/stewards/{id}/retire", web::post().to(status!(retire_steward)))
        .route("/stewards/{id}/revoke", web::post().to(status!(revoke_steward)))
        .route("/stewards/{id}/extend-term", web::post().to(operator_on(StatusCode::OK, extend_term)))
        .route("/holders/{id}/affiliations", web::get().to(read(CommonsManager::holder_affiliations)))
        .route(
            "/holders/{id}/affiliations",
            web::post().to(signed_on(StatusCode::CREATED, CommonsManager::apply_affiliation)),
        )
        .route("/holders/{id}/affiliations/{jurisdiction}/approve", web::post().to(approve))
        .route("/holders/{id}/affiliations/{jurisdiction}/promote", web::post().to(promote))
        .route("/holders/{id}/affiliations/{jurisdiction}/suspend", web::post().to(membership!(suspend_affiliation)))
        .route(
            "/holders/{id}/affiliations/{jurisdiction}/reinstate",
            web::post().to(membership!(reinstate_affiliation)),
        )
        .route("/holders/{id}/affiliations/{jurisdiction}/ban", web::post().to(membership!(ban_affiliation)))
        .route("/holders/{id}/affiliations/{jurisdiction}/leave", web::post().to(leave))
        .route(
            "/holders/{id}/affiliations/{jurisdiction}/capabilities",
            web::put().to(operator_on(StatusCode::OK, capabilities)),
        );
}

/// Body of `POST /stewards/{id}/extend-term`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendTermBody {
    term_end: u64,
}

/// Body of `PUT /holders/{id}/affiliations/{jurisdiction}/capabilities`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesBody {
    capabilities: BTreeSet<Capability>,
}

/// The signed payload names the jurisdiction; it must be the route's.
fn same_jurisdiction(route: &str, payload: &str) -> Result<(), ApiError> {
    if route == payload {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_input",
            format!(
                "invalid jurisdiction: the signed payload names {:?}, the route {:?}",
                payload.chars().take(120).collect::<String>(),
                route.chars().take(120).collect::<String>()
            ),
        ))
    }
}

/// A manager call that moves an affiliation as the operator.
type OperatorMove = fn(&CommonsManager, &str, &str, Option<String>) -> CommonsResult<HolderView>;

/// With an `Authorization` header: the operator path (`by_operator`), body
/// `{reason?}`. Without: a steward's signed envelope of action `A`, whose
/// payload must name the route's jurisdiction (`signed_move`).
async fn advance<A: Action + Send + 'static>(
    m: web::Data<CommonsManager>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<serde_json::Value>,
    by_operator: OperatorMove,
    signed_move: fn(&CommonsManager, &Signed<A>) -> CommonsResult<HolderView>,
    jurisdiction_of: fn(&A) -> &str,
) -> Result<HttpResponse, ApiError> {
    let (id, jurisdiction) = path.into_inner();
    if let Caller::Operator = caller {
        let reason = body_as::<ReasonBody>(body.into_inner())?.reason;
        return Ok(ok(&run(&m, move |m| by_operator(m, &id, &jurisdiction, reason)).await?));
    }
    let signed = body_as::<SignedEnvelope>(body.into_inner())?.open::<A>(&id)?;
    same_jurisdiction(&jurisdiction, jurisdiction_of(&signed.body))?;
    Ok(ok(&run(&m, move |m| signed_move(m, &signed)).await?))
}

/// `.../approve`: see [`advance`].
async fn approve(
    m: web::Data<CommonsManager>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let by_operator: OperatorMove = CommonsManager::approve_affiliation_by_operator;
    advance(m, caller, path, body, by_operator, CommonsManager::approve_affiliation, |b: &AffiliationApprove| {
        &b.jurisdiction
    })
    .await
}

/// `.../promote`: see [`advance`].
async fn promote(
    m: web::Data<CommonsManager>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let by_operator: OperatorMove = CommonsManager::promote_affiliation_by_operator;
    advance(m, caller, path, body, by_operator, CommonsManager::promote_affiliation, |b: &AffiliationPromote| {
        &b.jurisdiction
    })
    .await
}

async fn leave(
    m: web::Data<CommonsManager>,
    path: web::Path<(String, String)>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let (id, jurisdiction) = path.into_inner();
    let signed = env.open::<AffiliationLeave>(&id)?;
    same_jurisdiction(&jurisdiction, &signed.body.jurisdiction)?;
    Ok(ok(&run(&m, move |m| m.leave_affiliation(&signed)).await?))
}
