//! `/v1/appeals`: file, evidence, responses and withdraw (signed), review,
//! resolve and dismiss (operator), lookups and the per-appellant list.
//!
//! Adding evidence or a response answers 201 with the updated appeal; state
//! changes answer 200. Operator bodies: review `{}`, resolve `{outcome,
//! notes}`, dismiss `{reason}`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::handlers::{operator_on, read, signed, signed_on, NoFields};
use super::{ok, parse_limit, run};
use crate::manager::appeals::AppealFilter;
use crate::manager::governance_actions::{DismissRequest, ResolveRequest};
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    let review = |m: &CommonsManager, id: String, NoFields {}| m.review_appeal(&id);
    let resolve = |m: &CommonsManager, id: String, r: ResolveRequest| m.resolve_appeal(&id, r);
    let dismiss = |m: &CommonsManager, id: String, r: DismissRequest| m.dismiss_appeal(&id, r);
    cfg.route("/appeals", web::post().to(signed(S::CREATED, CommonsManager::file_appeal)))
        .route("/appeals", web::get().to(list))
        .route("/appeals/{id}", web::get().to(read(CommonsManager::appeal)))
        .route("/appeals/{id}/evidence", web::post().to(signed_on(S::CREATED, CommonsManager::add_appeal_evidence)))
        .route("/appeals/{id}/responses", web::post().to(signed_on(S::CREATED, CommonsManager::respond_to_appeal)))
        .route("/appeals/{id}/review", web::post().to(operator_on(S::OK, review)))
        .route("/appeals/{id}/resolve", web::post().to(operator_on(S::OK, resolve)))
        .route("/appeals/{id}/dismiss", web::post().to(operator_on(S::OK, dismiss)))
        .route("/appeals/{id}/withdraw", web::post().to(signed_on(S::OK, CommonsManager::withdraw_appeal)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    appellant: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(m: web::Data<CommonsManager>, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = parse_limit(q.limit.as_deref())?;
    let Some(appellant) = q.appellant else {
        return Err(ApiError::bad_request("invalid_input", "appellant is required: /v1/appeals?appellant=<did>"));
    };
    let filter = AppealFilter { status: q.status };
    let cursor = q.cursor;
    Ok(ok(&run(&m, move |m| m.list_appeals(&appellant, &filter, cursor.as_deref(), limit)).await?))
}
