//! `/v1/appeals`: file, evidence, responses and withdraw (signed), review,
//! resolve and dismiss (operator), lookups and the per-appellant list.
//!
//! Adding evidence or a response answers 201 with the updated appeal; state
//! changes answer 200. Operator bodies: review `{}`, resolve `{outcome,
//! notes}`, dismiss `{reason}`.

use actix_web::http::StatusCode;
use actix_web::web;

use super::error::ApiError;
use super::handlers::{list, list_query, operator_on, read, signed, signed_on, NoFields};
use crate::manager::{AppealFilter, CommonsManager, DismissRequest, ResolveRequest};
use crate::store::Paging;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    let review = |m: &CommonsManager, id: String, NoFields {}| m.review_appeal(&id);
    let resolve = |m: &CommonsManager, id: String, r: ResolveRequest| m.resolve_appeal(&id, r);
    let dismiss = |m: &CommonsManager, id: String, r: DismissRequest| m.dismiss_appeal(&id, r);
    let list_appeals = |m: &CommonsManager, (appellant, filter): &(String, AppealFilter), page: Paging<'_>| {
        m.list_appeals(appellant, filter, page)
    };
    cfg.route("/appeals", web::post().to(signed(S::CREATED, CommonsManager::file_appeal)))
        .route("/appeals", web::get().to(list(filter, list_appeals)))
        .route("/appeals/{id}", web::get().to(read(CommonsManager::appeal)))
        .route("/appeals/{id}/evidence", web::post().to(signed_on(S::CREATED, CommonsManager::add_appeal_evidence)))
        .route("/appeals/{id}/responses", web::post().to(signed_on(S::CREATED, CommonsManager::respond_to_appeal)))
        .route("/appeals/{id}/review", web::post().to(operator_on(S::OK, review)))
        .route("/appeals/{id}/resolve", web::post().to(operator_on(S::OK, resolve)))
        .route("/appeals/{id}/dismiss", web::post().to(operator_on(S::OK, dismiss)))
        .route("/appeals/{id}/withdraw", web::post().to(signed_on(S::OK, CommonsManager::withdraw_appeal)));
}

list_query!(
    /// `GET /appeals?appellant=&status=&cursor=&limit=`.
    ListQuery { appellant, status }
);

fn filter(q: ListQuery) -> Result<(String, AppealFilter), ApiError> {
    let Some(appellant) = q.appellant else {
        return Err(ApiError::bad_request("invalid_input", "appellant is required: /v1/appeals?appellant=<did>"));
    };
    Ok((appellant, AppealFilter { status: q.status }))
}
