//! `/v1/enrollments`: start (public), read, verify / vouch / complete /
//! reject (signed; reject also by the operator).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::auth::{has_authorization, AdminToken};
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

async fn verify(m: web::Data<CommonsManager>, id: web::Path<String>, env: web::Json<SignedEnvelope>) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<EnrollVerify>(&id)?;
    Ok(ok(&run(&m, move |m| m.verify_enrollment(&signed)).await?))
}

async fn vouch(m: web::Data<CommonsManager>, id: web::Path<String>, env: web::Json<SignedEnvelope>) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<EnrollVouch>(&id)?;
    Ok(ok(&run(&m, move |m| m.vouch_enrollment(&signed)).await?))
}

async fn complete(m: web::Data<CommonsManager>, id: web::Path<String>, env: web::Json<SignedEnvelope>) -> Result<HttpResponse, ApiError> {
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
/// Without: a steward's signed `enroll-reject` envelope.
async fn reject(m: web::Data<CommonsManager>, token: web::Data<AdminToken>, req: HttpRequest, id: web::Path<String>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    if has_authorization(&req) {
        token.check(&req)?;
        let r: OperatorReason = parse_body(&req, &body)?;
        let reason = r.reason.unwrap_or_default();
        return Ok(ok(&run(&m, move |m| m.reject_enrollment_by_operator(&id, reason)).await?));
    }
    let env: SignedEnvelope = parse_body(&req, &body)?;
    let signed = env.open::<EnrollReject>(&id)?;
    Ok(ok(&run(&m, move |m| m.reject_enrollment(&signed)).await?))
}

/// Parses a JSON body read as bytes (for routes with two body shapes).
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let is_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(ApiError::new(actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the body as application/json"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("invalid_json", format!("request body is not valid for this route: {e}")))
}
