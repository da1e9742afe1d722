//! `/v1/stewards`: registration (operator), lookups and the list.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::handlers::{operator, read};
use super::{ok, parse_limit, run};
use crate::manager::identity::StewardFilter;
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let register = |m: &CommonsManager, r: RegisterRequest| m.register_steward(&r.did, r.term_days, r.jurisdiction);
    cfg.route("/stewards", web::post().to(operator(StatusCode::CREATED, register)))
        .route("/stewards", web::get().to(list))
        .route("/stewards/by-did/{did}", web::get().to(read(CommonsManager::steward_by_did)))
        .route("/stewards/{id}", web::get().to(read(CommonsManager::steward)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    did: String,
    term_days: u64,
    #[serde(default)]
    jurisdiction: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    active: Option<String>,
    jurisdiction: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(m: web::Data<CommonsManager>, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = parse_limit(q.limit.as_deref())?;
    let active = match q.active.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::bad_request("invalid_input", "invalid active: true or false")),
    };
    let filter = StewardFilter { active, jurisdiction: q.jurisdiction };
    let cursor = q.cursor;
    Ok(ok(&run(&m, move |m| m.list_stewards(&filter, cursor.as_deref(), limit)).await?))
}
