//! `/v1/stewards`: registration (operator), lookups and the list.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Operator;
use super::error::ApiError;
use super::{created, ok, parse_limit, run};
use crate::manager::identity::StewardFilter;
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stewards", web::post().to(register))
        .route("/stewards", web::get().to(list))
        .route("/stewards/by-did/{did}", web::get().to(by_did))
        .route("/stewards/{id}", web::get().to(get));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    did: String,
    term_days: u64,
    #[serde(default)]
    jurisdiction: Option<String>,
}

async fn register(
    m: web::Data<CommonsManager>,
    _op: Operator,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let RegisterRequest { did, term_days, jurisdiction } = body.into_inner();
    Ok(created(&run(&m, move |m| m.register_steward(&did, term_days, jurisdiction)).await?))
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

async fn get(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.steward(&id)).await?))
}

async fn by_did(m: web::Data<CommonsManager>, did: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.steward_by_did(&did)).await?))
}
