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
use actix_web::web;

use super::body::JsonObject;
use super::error::ApiError;
use super::handlers::{list, list_query, operator_or_signed_on, read, signed, signed_on, NoFields};
use super::run;
use crate::manager::{AmendmentFilter, CommonsManager};
use crate::store::Paging;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    let open_by_operator = |m: &CommonsManager, id: &str, NoFields {}| m.open_amendment_voting_by_operator(id);
    let list_amendments = |m: &CommonsManager, (charter_id, filter): &(String, AmendmentFilter), page: Paging<'_>| {
        m.list_amendments(charter_id, filter, page)
    };
    cfg.route("/amendments", web::post().to(signed(S::CREATED, CommonsManager::propose_amendment)))
        .route("/amendments", web::get().to(list(filter, list_amendments)))
        .route("/amendments/{id}", web::get().to(read(CommonsManager::amendment)))
        .route("/amendments/{id}/changes", web::post().to(signed_on(S::CREATED, CommonsManager::add_amendment_change)))
        .route("/amendments/{id}/submit", web::post().to(signed_on(S::OK, CommonsManager::submit_amendment)))
        .route(
            "/amendments/{id}/open-voting",
            web::post().to(operator_or_signed_on(open_by_operator, CommonsManager::open_amendment_voting)),
        )
        .route("/amendments/{id}/votes", web::post().to(signed_on(S::CREATED, CommonsManager::vote_amendment)))
        .route("/amendments/{id}/close", web::post().to(close))
        .route("/amendments/{id}/withdraw", web::post().to(signed_on(S::OK, CommonsManager::withdraw_amendment)));
}

list_query!(
    /// `GET /amendments?charter_id=&status=&cursor=&limit=`.
    ListQuery { charter_id, status }
);

fn filter(q: ListQuery) -> Result<(String, AmendmentFilter), ApiError> {
    let Some(charter_id) = q.charter_id else {
        return Err(ApiError::bad_request("invalid_input", "charter_id is required: /v1/amendments?charter_id=<id>"));
    };
    Ok((charter_id, AmendmentFilter { status: q.status }))
}

/// Body `{}`. With the operator token the vote may be closed early; without
/// an `Authorization` header anyone may close it once `closes_at` has passed
/// (the outcome does not depend on who closes). Answers the amendment with
/// its `tally`.
async fn close(
    m: web::Data<CommonsManager>,
    caller: super::auth::Caller,
    id: web::Path<String>,
    JsonObject(NoFields {}): JsonObject<NoFields>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let early = matches!(caller, super::auth::Caller::Operator);
    Ok(super::ok(&run(&m, move |m| m.close_amendment(&id, early)).await?))
}
