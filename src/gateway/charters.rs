//! `/v1/charters`: create, sign, activate (signed), lookups and the list.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::handlers::{read, signed, signed_on};
use super::{ok, parse_limit, run};
use crate::manager::charters::CharterFilter;
use crate::manager::CommonsManager;
use crate::model::charter::OrgType;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    cfg.route("/charters", web::post().to(signed(S::CREATED, CommonsManager::create_charter)))
        .route("/charters", web::get().to(list))
        .route("/charters/by-domain/{domain_id}", web::get().to(read(CommonsManager::charter_by_domain)))
        .route("/charters/{id}", web::get().to(read(CommonsManager::charter)))
        .route("/charters/{id}/signatures", web::post().to(signed_on(S::OK, CommonsManager::sign_charter)))
        .route("/charters/{id}/activate", web::post().to(signed_on(S::OK, CommonsManager::activate_charter)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    org_type: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(m: web::Data<CommonsManager>, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = parse_limit(q.limit.as_deref())?;
    let org_type = match q.org_type.as_deref() {
        None => None,
        Some("Cooperative") => Some(OrgType::Cooperative),
        Some("Community") => Some(OrgType::Community),
        Some("Federation") => Some(OrgType::Federation),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_input",
                "invalid org_type: Cooperative, Community or Federation",
            ))
        }
    };
    let filter = CharterFilter { org_type, status: q.status };
    let cursor = q.cursor;
    Ok(ok(&run(&m, move |m| m.list_charters(&filter, cursor.as_deref(), limit)).await?))
}
