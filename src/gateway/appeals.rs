//! `/v1/appeals`: file, evidence, responses and withdraw (signed), review,
//! resolve and dismiss (operator), lookups and the per-appellant list.
//!
//! Adding evidence or a response answers 201 with the updated appeal; state
//! changes answer 200. Operator bodies: review `{}`, resolve `{outcome,
//! notes}`, dismiss `{reason}`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::amendments::NoFields;
use super::auth::Operator;
use super::error::ApiError;
use super::{created, ok, parse_limit, run};
use crate::manager::appeals::AppealFilter;
use crate::manager::governance_actions::{
    AppealEvidence, AppealFile, AppealRespond, AppealWithdraw, DismissRequest, ResolveRequest,
};
use crate::manager::CommonsManager;
use crate::model::signing::SignedEnvelope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/appeals", web::post().to(file))
        .route("/appeals", web::get().to(list))
        .route("/appeals/{id}", web::get().to(get))
        .route("/appeals/{id}/evidence", web::post().to(evidence))
        .route("/appeals/{id}/responses", web::post().to(respond))
        .route("/appeals/{id}/review", web::post().to(review))
        .route("/appeals/{id}/resolve", web::post().to(resolve))
        .route("/appeals/{id}/dismiss", web::post().to(dismiss))
        .route("/appeals/{id}/withdraw", web::post().to(withdraw));
}

async fn file(m: web::Data<CommonsManager>, env: web::Json<SignedEnvelope>) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AppealFile>("-")?;
    Ok(created(&run(&m, move |m| m.file_appeal(&signed)).await?))
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

async fn get(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.appeal(&id)).await?))
}

async fn evidence(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AppealEvidence>(&id)?;
    Ok(created(&run(&m, move |m| m.add_appeal_evidence(&signed)).await?))
}

async fn respond(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AppealRespond>(&id)?;
    Ok(created(&run(&m, move |m| m.respond_to_appeal(&signed)).await?))
}

async fn review(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let NoFields {} = body.into_inner();
    Ok(ok(&run(&m, move |m| m.review_appeal(&id)).await?))
}

async fn resolve(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<ResolveRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    Ok(ok(&run(&m, move |m| m.resolve_appeal(&id, request)).await?))
}

async fn dismiss(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<DismissRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    Ok(ok(&run(&m, move |m| m.dismiss_appeal(&id, request)).await?))
}

async fn withdraw(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<AppealWithdraw>(&id)?;
    Ok(ok(&run(&m, move |m| m.withdraw_appeal(&signed)).await?))
}
