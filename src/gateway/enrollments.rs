//! `/v1/enrollments`: start (public), read, verify / vouch / complete /
//! reject (signed; reject also by the operator).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::{created, ok, run};
use crate::manager::actions::{EnrollComplete, EnrollReject, EnrollVerify, EnrollVouch};
use crate::manager::CommonsManager;
use crate::model::signing::SignedEnvelope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/enrollments", web::post().to(start))
        .route("/enrollments/{id}", web::get().to(get))
        .route("/enrollments/{id}/verify", web::post().to(verify))
        .route("/enrollments/{id}/vouch", web::post().to(vouch))
        .route("/enrollments/{id}/complete", web::post().to(complete))
        .route("/enrollments/{id}/reject", web::post().to(reject));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    identity_name: String,
    #[serde(default)]
    domain_id: Option<String>,
}

async fn start(m: web::Data<CommonsManager>, body: web::Json<StartRequest>) -> Result<HttpResponse, ApiError> {
    let StartRequest { identity_name, domain_id } = body.into_inner();
    Ok(created(&run(&m, move |m| m.start_enrollment(identity_name, domain_id)).await?))
}

async fn get(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.enrollment(&id)).await?))
}

async fn verify(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<EnrollVerify>(&id)?;
    Ok(ok(&run(&m, move |m| m.verify_enrollment(&signed)).await?))
}

async fn vouch(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<EnrollVouch>(&id)?;
    Ok(ok(&run(&m, move |m| m.vouch_enrollment(&signed)).await?))
}

async fn complete(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<EnrollComplete>(&id)?;
    Ok(created(&run(&m, move |m| m.complete_enrollment(&signed)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorReason {
    #[serde(default)]
    reason: Option<String>,
}

/// With an `Authorization` header: the operator path, body `{reason?}`.
/// Without: a steward's signed `enroll-reject` envelope. The body is read as
/// JSON first (so size, content-type and syntax errors are the usual JSON
/// errors), then parsed as the shape the header selects.
async fn reject(
    m: web::Data<CommonsManager>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let shape = |e: serde_json::Error| {
        ApiError::bad_request("invalid_json", format!("request body is not valid for this route: {e}"))
    };
    if let Caller::Operator = caller {
        let r: OperatorReason = serde_json::from_value(body.into_inner()).map_err(shape)?;
        let reason = r.reason.unwrap_or_default();
        return Ok(ok(&run(&m, move |m| m.reject_enrollment_by_operator(&id, reason)).await?));
    }
    let env: SignedEnvelope = serde_json::from_value(body.into_inner()).map_err(shape)?;
    let signed = env.open::<EnrollReject>(&id)?;
    Ok(ok(&run(&m, move |m| m.reject_enrollment(&signed)).await?))
}
