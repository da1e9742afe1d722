//! `/v1/amendments`: propose, add changes, submit, withdraw and vote (signed),
//! open voting (a steward's signed envelope, or the operator token), close
//! (the operator at any time; anyone once `closes_at` has passed), lookups
//! and the per-charter list.
//!
//! Adding a change or a vote answers 201 with the updated amendment (as
//! adding an attestation does); state changes answer 200; a close answers the
//! amendment with its `tally` (`{eligible, votes, approvals, ratified}`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::{created, ok, parse_limit, run};
use crate::manager::amendments::AmendmentFilter;
use crate::manager::governance_actions::{
    AmendmentAddChange, AmendmentOpenVoting, AmendmentPropose, AmendmentSubmit, AmendmentWithdraw, CastVote,
};
use crate::manager::CommonsManager;
use crate::model::signing::SignedEnvelope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/amendments", web::post().to(propose))
        .route("/amendments", web::get().to(list))
        .route("/amendments/{id}", web::get().to(get))
        .route("/amendments/{id}/changes", web::post().to(add_change))
        .route("/amendments/{id}/submit", web::post().to(submit))
        .route("/amendments/{id}/open-voting", web::post().to(open_voting))
        .route("/amendments/{id}/votes", web::post().to(vote))
        .route("/amendments/{id}/close", web::post().to(close))
        .route("/amendments/{id}/withdraw", web::post().to(withdraw));
}

/// An empty JSON object body (`{}`); anything else is a 400.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoFields {}

/// Parses a JSON value read by `web::Json` as the shape a route expects.
pub(super) fn shape<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("request body is not valid for this route: {e}")))
}

async fn propose(m: web::Data<CommonsManager>, env: web::Json<SignedEnvelope>) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AmendmentPropose>("-")?;
    Ok(created(&run(&m, move |m| m.propose_amendment(&signed)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    charter_id: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(m: web::Data<CommonsManager>, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = parse_limit(q.limit.as_deref())?;
    let Some(charter_id) = q.charter_id else {
        return Err(ApiError::bad_request("invalid_input", "charter_id is required: /v1/amendments?charter_id=<id>"));
    };
    let filter = AmendmentFilter { status: q.status };
    let cursor = q.cursor;
    Ok(ok(&run(&m, move |m| m.list_amendments(&charter_id, &filter, cursor.as_deref(), limit)).await?))
}

async fn get(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.amendment(&id)).await?))
}

async fn add_change(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AmendmentAddChange>(&id)?;
    Ok(created(&run(&m, move |m| m.add_amendment_change(&signed)).await?))
}

async fn submit(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AmendmentSubmit>(&id)?;
    Ok(ok(&run(&m, move |m| m.submit_amendment(&signed)).await?))
}

/// With an `Authorization` header: the operator, body `{}`. Without: a
/// steward's signed `amendment-open-voting` envelope.
async fn open_voting(
    m: web::Data<CommonsManager>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    if let Caller::Operator = caller {
        let NoFields {} = shape(body.into_inner())?;
        return Ok(ok(&run(&m, move |m| m.open_amendment_voting_by_operator(&id)).await?));
    }
    let env: SignedEnvelope = shape(body.into_inner())?;
    let signed = env.open::<AmendmentOpenVoting>(&id)?;
    Ok(ok(&run(&m, move |m| m.open_amendment_voting(&signed)).await?))
}

async fn vote(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<CastVote>(&id)?;
    Ok(created(&run(&m, move |m| m.vote_amendment(&signed)).await?))
}

/// Body `{}`. With the operator token the vote may be closed early; without
/// an `Authorization` header anyone may close it once `closes_at` has passed
/// (the outcome does not depend on who closes). Answers the amendment with
/// its `tally`.
async fn close(
    m: web::Data<CommonsManager>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let NoFields {} = body.into_inner();
    let early = matches!(caller, Caller::Operator);
    Ok(ok(&run(&m, move |m| m.close_amendment(&id, early)).await?))
}

async fn withdraw(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AmendmentWithdraw>(&id)?;
    Ok(ok(&run(&m, move |m| m.withdraw_amendment(&signed)).await?))
}
