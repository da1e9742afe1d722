//! `/v1/enrollments`: start (public; limited per client address by
//! `limits.rs` and capped by the manager's open-session limit), read,
//! verify / vouch / complete / reject (signed; reject also by the operator).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::body::JsonObject;
use super::error::ApiError;
use super::handlers::{operator_or_signed_on, read, signed_on, ReasonBody};
use super::limits::WithinEnrollmentRate;
use super::{created, run};
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    let reject_by_operator =
        |m: &CommonsManager, id: &str, b: ReasonBody| m.reject_enrollment_by_operator(id, b.reason.unwrap_or_default());
    cfg.route("/enrollments", web::post().to(start))
        .route("/enrollments/{id}", web::get().to(read(CommonsManager::enrollment)))
        .route("/enrollments/{id}/verify", web::post().to(signed_on(S::OK, CommonsManager::verify_enrollment)))
        .route("/enrollments/{id}/vouch", web::post().to(signed_on(S::OK, CommonsManager::vouch_enrollment)))
        .route("/enrollments/{id}/complete", web::post().to(signed_on(S::CREATED, CommonsManager::complete_enrollment)))
        .route(
            "/enrollments/{id}/reject",
            web::post().to(operator_or_signed_on(reject_by_operator, CommonsManager::reject_enrollment)),
        );
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    identity_name: String,
    #[serde(default)]
    domain_id: Option<String>,
}

/// The rate limit is checked first: a refused start's body is not read.
async fn start(
    _rate: WithinEnrollmentRate,
    m: web::Data<CommonsManager>,
    JsonObject(body): JsonObject<StartRequest>,
) -> Result<HttpResponse, ApiError> {
    let StartRequest { identity_name, domain_id } = body;
    Ok(created(&run(&m, move |m| m.start_enrollment(identity_name, domain_id)).await?))
}
