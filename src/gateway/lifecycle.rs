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
//! Operator routes take the [`Operator`] extractor before the body, so a
//! missing or wrong token is refused before the body is read. Signed
//! affiliation actions carry the jurisdiction in their payload (the signature
//! covers it); it must equal the route's, else 400 `invalid_input`.

use std::collections::BTreeSet;

use actix_web::{web, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::auth::{Caller, Operator};
use super::error::ApiError;
use super::{created, ok, run};
use crate::manager::actions::{AffiliationApply, AffiliationApprove, AffiliationLeave, AffiliationPromote};
use crate::manager::CommonsManager;
use crate::model::error::CommonsResult;
use crate::model::holder::{Capability, HolderView};
use crate::model::signing::SignedEnvelope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/anchors/{id}/suspend", web::post().to(suspend_anchor))
        .route("/anchors/{id}/reinstate", web::post().to(reinstate_anchor))
        .route("/anchors/{id}/revoke", web::post().to(revoke_anchor))
        .route("/charters/{id}/suspend", web::post().to(suspend_charter))
        .route("/charters/{id}/reinstate", web::post().to(reinstate_charter))
        .route("/charters/{id}/dissolve", web::post().to(dissolve_charter))
        .route("/stewards/{id}/suspend", web::post().to(suspend_steward))
        .route("/stewards/{id}/reinstate", web::post().to(reinstate_steward))
        .route("/stewards/{id}/retire", web::post().to(retire_steward))
        .route("/stewards/{id}/revoke", web::post().to(revoke_steward))
        .route("/stewards/{id}/extend-term", web::post().to(extend_term))
        .route("/holders/{id}/affiliations", web::get().to(affiliations))
        .route("/holders/{id}/affiliations", web::post().to(apply))
        .route("/holders/{id}/affiliations/{jurisdiction}/approve", web::post().to(approve))
        .route("/holders/{id}/affiliations/{jurisdiction}/promote", web::post().to(promote))
        .route("/holders/{id}/affiliations/{jurisdiction}/suspend", web::post().to(suspend_affiliation))
        .route("/holders/{id}/affiliations/{jurisdiction}/reinstate", web::post().to(reinstate_affiliation))
        .route("/holders/{id}/affiliations/{jurisdiction}/ban", web::post().to(ban_affiliation))
        .route("/holders/{id}/affiliations/{jurisdiction}/leave", web::post().to(leave))
        .route("/holders/{id}/affiliations/{jurisdiction}/capabilities", web::put().to(capabilities));
}

/// Body of the operator status routes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

/// A manager status change taking the route id and the optional reason.
type StatusChange<T> = fn(&CommonsManager, &str, Option<String>) -> CommonsResult<T>;

async fn status<T: Serialize + Send + 'static>(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
    change: StatusChange<T>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.into_inner().reason;
    Ok(ok(&run(&m, move |m| change(m, &id, reason)).await?))
}

async fn suspend_anchor(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::suspend_anchor).await
}

async fn reinstate_anchor(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::reinstate_anchor).await
}

async fn revoke_anchor(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::revoke_anchor).await
}

async fn suspend_charter(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::suspend_charter).await
}

async fn reinstate_charter(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::reinstate_charter).await
}

async fn dissolve_charter(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::dissolve_charter).await
}

async fn suspend_steward(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::suspend_steward).await
}

async fn reinstate_steward(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::reinstate_steward).await
}

async fn retire_steward(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::retire_steward).await
}

async fn revoke_steward(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    status(m, id, body, CommonsManager::revoke_steward).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendTermBody {
    term_end: u64,
}

async fn extend_term(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ExtendTermBody>,
) -> Result<HttpResponse, ApiError> {
    let term_end = body.into_inner().term_end;
    Ok(ok(&run(&m, move |m| m.extend_steward_term(&id, term_end)).await?))
}

async fn affiliations(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.holder_affiliations(&id)).await?))
}

async fn apply(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AffiliationApply>(&id)?;
    Ok(created(&run(&m, move |m| m.apply_affiliation(&signed)).await?))
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

/// Parses an already-read JSON body as the shape the caller selected.
fn body_as<T: DeserializeOwned>(body: web::Json<serde_json::Value>) -> Result<T, ApiError> {
    serde_json::from_value(body.into_inner())
        .map_err(|e| ApiError::bad_request("invalid_json", format!("request body is not valid for this route: {e}")))
}

/// With an `Authorization` header: the operator path, body `{reason?}`.
/// Without: a steward's signed `affiliation-approve` envelope.
async fn approve(
    m: web::Data<CommonsManager>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let (id, jurisdiction) = path.into_inner();
    if let Caller::Operator = caller {
        let reason = body_as::<ReasonBody>(body)?.reason;
        return Ok(ok(&run(&m, move |m| m.approve_affiliation_by_operator(&id, &jurisdiction, reason)).await?));
    }
    let signed = body_as::<SignedEnvelope>(body)?.open::<AffiliationApprove>(&id)?;
    same_jurisdiction(&jurisdiction, &signed.body.jurisdiction)?;
    Ok(ok(&run(&m, move |m| m.approve_affiliation(&signed)).await?))
}

/// As [`approve`], for `affiliation-promote`.
async fn promote(
    m: web::Data<CommonsManager>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let (id, jurisdiction) = path.into_inner();
    if let Caller::Operator = caller {
        let reason = body_as::<ReasonBody>(body)?.reason;
        return Ok(ok(&run(&m, move |m| m.promote_affiliation_by_operator(&id, &jurisdiction, reason)).await?));
    }
    let signed = body_as::<SignedEnvelope>(body)?.open::<AffiliationPromote>(&id)?;
    same_jurisdiction(&jurisdiction, &signed.body.jurisdiction)?;
    Ok(ok(&run(&m, move |m| m.promote_affiliation(&signed)).await?))
}

/// A manager affiliation change taking holder id, jurisdiction and reason.
type AffiliationChange = fn(&CommonsManager, &str, &str, Option<String>) -> CommonsResult<HolderView>;

async fn operator_affiliation(
    m: web::Data<CommonsManager>,
    path: web::Path<(String, String)>,
    body: web::Json<ReasonBody>,
    change: AffiliationChange,
) -> Result<HttpResponse, ApiError> {
    let (id, jurisdiction) = path.into_inner();
    let reason = body.into_inner().reason;
    Ok(ok(&run(&m, move |m| change(m, &id, &jurisdiction, reason)).await?))
}

async fn suspend_affiliation(
    m: web::Data<CommonsManager>,
    _op: Operator,
    path: web::Path<(String, String)>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    operator_affiliation(m, path, body, CommonsManager::suspend_affiliation).await
}

async fn reinstate_affiliation(
    m: web::Data<CommonsManager>,
    _op: Operator,
    path: web::Path<(String, String)>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    operator_affiliation(m, path, body, CommonsManager::reinstate_affiliation).await
}

async fn ban_affiliation(
    m: web::Data<CommonsManager>,
    _op: Operator,
    path: web::Path<(String, String)>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    operator_affiliation(m, path, body, CommonsManager::ban_affiliation).await
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesBody {
    capabilities: BTreeSet<Capability>,
}

async fn capabilities(
    m: web::Data<CommonsManager>,
    _op: Operator,
    path: web::Path<(String, String)>,
    body: web::Json<CapabilitiesBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, jurisdiction) = path.into_inner();
    let caps = body.into_inner().capabilities;
    Ok(ok(&run(&m, move |m| m.set_affiliation_capabilities(&id, &jurisdiction, caps)).await?))
}
