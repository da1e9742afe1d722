//! `/v1/charters`: create, sign, activate (signed), lookups, the
//! newest-first list, and the operator's status routes
//! `POST /charters/{id}/suspend|reinstate|dissolve` (body `{reason?}`).

use actix_web::http::StatusCode;
use actix_web::web;

use super::error::ApiError;
use super::handlers::{list, list_query, lookup, read, signed, signed_on, status};
use crate::manager::{CharterFilter, CommonsManager};
use crate::model::charter::OrgType;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    cfg.route("/charters", web::post().to(signed(S::CREATED, CommonsManager::create_charter)))
        .route("/charters", web::get().to(list(filter, CommonsManager::list_charters)))
        .route("/charters/by-domain/{domain_id}", web::get().to(lookup(CommonsManager::charter_by_domain)))
        .route("/charters/{id}", web::get().to(read(CommonsManager::charter)))
        .route("/charters/{id}/signatures", web::post().to(signed_on(S::OK, CommonsManager::sign_charter)))
        .route("/charters/{id}/activate", web::post().to(signed_on(S::OK, CommonsManager::activate_charter)))
        .route("/charters/{id}/suspend", web::post().to(status(CommonsManager::suspend_charter)))
        .route("/charters/{id}/reinstate", web::post().to(status(CommonsManager::reinstate_charter)))
        .route("/charters/{id}/dissolve", web::post().to(status(CommonsManager::dissolve_charter)));
}

list_query!(
    /// `GET /charters?org_type=&status=&cursor=&limit=`.
    ListQuery { org_type, status }
);

fn filter(q: ListQuery) -> Result<CharterFilter, ApiError> {
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
    Ok(CharterFilter { org_type, status: q.status })
}
