//! `/v1/enrollments`: start (public), read, verify / vouch / complete /
//! reject (signed; reject also by the operator).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::handlers::{body_as, read, signed_on, ReasonBody};
use super::{created, ok, run};
use crate::manager::actions::EnrollReject;
use crate::manager::CommonsManager;
use crate::model::signing::SignedEnvelope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    cfg.route("/enrollments", web::post().to(start))
        .route("/enrollments/{id}", web::get().to(read(CommonsManager::enrollment)))
        .route("/enrollments/{id}/verify", web::post().to(signed_on(S::OK, CommonsManager::verify_enrollment)))
        .route("/enrollments/{id}/vouch", web::post().to(signed_on(S::OK, CommonsManager::vouch_enrollment)))
        .route("/enrollments/{id}/complete", web::post().to(signed_on(S::CREATED, CommonsManager::complete_enrollment)))
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
    if let Caller::Operator = caller {
        let reason = body_as::<ReasonBody>(body.into_inner())?.reason.unwrap_or_default();
        return Ok(ok(&run(&m, move |m| m.reject_enrollment_by_operator(&id, reason)).await?));
    }
    let env: SignedEnvelope = body_as(body.into_inner())?;
    let signed = env.open::<EnrollReject>(&id)?;
    Ok(ok(&run(&m, move |m| m.reject_enrollment(&signed)).await?))
}
