//! `/v1/stewards`: registration (operator), lookups, the list, and the
//! operator's status routes `POST /stewards/{id}/suspend|reinstate|retire|revoke`
//! (body `{reason?}`) and `POST /stewards/{id}/extend-term` (body `{term_end}`).

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;

use super::error::ApiError;
use super::handlers::{list, list_query, lookup, operator, operator_on, read, status};
use crate::manager::{CommonsManager, StewardFilter};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let register = |m: &CommonsManager, r: RegisterRequest| m.register_steward(&r.did, r.term_days, r.jurisdiction);
    let extend_term = |m: &CommonsManager, id: String, b: ExtendTermBody| m.extend_steward_term(&id, b.term_end);
    cfg.route("/stewards", web::post().to(operator(StatusCode::CREATED, register)))
        .route("/stewards", web::get().to(list(filter, CommonsManager::list_stewards)))
        .route("/stewards/by-did/{did}", web::get().to(lookup(CommonsManager::steward_by_did)))
        .route("/stewards/{id}", web::get().to(read(CommonsManager::steward)))
        .route("/stewards/{id}/suspend", web::post().to(status(CommonsManager::suspend_steward)))
        .route("/stewards/{id}/reinstate", web::post().to(status(CommonsManager::reinstate_steward)))
        .route("/stewards/{id}/retire", web::post().to(status(CommonsManager::retire_steward)))
        .route("/stewards/{id}/revoke", web::post().to(status(CommonsManager::revoke_steward)))
        .route("/stewards/{id}/extend-term", web::post().to(operator_on(StatusCode::OK, extend_term)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    did: String,
    term_days: u64,
    #[serde(default)]
    jurisdiction: Option<String>,
}

/// Body of `POST /stewards/{id}/extend-term`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendTermBody {
    term_end: u64,
}

list_query!(
    /// `GET /stewards?active=&jurisdiction=&cursor=&limit=`.
    ListQuery { active, jurisdiction }
);

fn filter(q: ListQuery) -> Result<StewardFilter, ApiError> {
    let active = match q.active.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::bad_request("invalid_input", "invalid active: true or false")),
    };
    Ok(StewardFilter { active, jurisdiction: q.jurisdiction })
}
