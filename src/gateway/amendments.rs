//! `/v1/amendments`: propose, add changes, submit, withdraw and vote (signed),
//! open voting (a steward's signed envelope, or the operator token), close
//! (the operator at any time; anyone once `closes_at` has passed), lookups
//! and the per-charter list.
//!
//! Adding a change or a vote answers 201 with the updated amendment (as
//! adding an attestation does); state changes answer 200; a close answers the
//! amendment with its `tally` (`{eligible, votes, approvals, uncounted,
//! ratified}`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::handlers::{body_as, read, signed, signed_on, NoFields};
use super::{ok, parse_limit, run};
use crate::manager::amendments::AmendmentFilter;
use crate::manager::governance_actions::AmendmentOpenVoting;
use crate::manager::CommonsManager;
use crate::model::signing::SignedEnvelope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    cfg.route("/amendments", web::post().to(signed(S::CREATED, CommonsManager::propose_amendment)))
        .route("/amendments", web::get().to(list))
        .route("/amendments/{id}", web::get().to(read(CommonsManager::amendment)))
        .route("/amendments/{id}/changes", web::post().to(signed_on(S::CREATED, CommonsManager::add_amendment_change)))
        .route("/amendments/{id}/submit", web::post().to(signed_on(S::OK, CommonsManager::submit_amendment)))
        .route("/amendments/{id}/open-voting", web::post().to(open_voting))
        .route("/amendments/{id}/votes", web::post().to(signed_on(S::CREATED, CommonsManager::vote_amendment)))
        .route("/amendments/{id}/close", web::post().to(close))
        .route("/amendments/{id}/withdraw", web::post().to(signed_on(S::OK, CommonsManager::withdraw_amendment)));
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

/// With an `Authorization` header: the operator, body `{}`. Without: a
/// steward's signed `amendment-open-voting` envelope.
async fn open_voting(
    m: web::Data<CommonsManager>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    if let Caller::Operator = caller {
        let NoFields {} = body_as(body.into_inner())?;
        return Ok(ok(&run(&m, move |m| m.open_amendment_voting_by_operator(&id)).await?));
    }
    let env: SignedEnvelope = body_as(body.into_inner())?;
    let signed = env.open::<AmendmentOpenVoting>(&id)?;
    Ok(ok(&run(&m, move |m| m.open_amendment_voting(&signed)).await?))
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
