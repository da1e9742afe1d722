//! `/v1/charters`: create, sign, activate (signed), lookups and the list.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::{created, ok, parse_limit, run};
use crate::manager::actions::{CharterActivate, CharterCreate, CharterSign};
use crate::manager::charters::CharterFilter;
use crate::manager::CommonsManager;
use crate::model::charter::OrgType;
use crate::model::signing::SignedEnvelope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/charters", web::post().to(create))
        .route("/charters", web::get().to(list))
        .route("/charters/by-domain/{domain_id}", web::get().to(by_domain))
        .route("/charters/{id}", web::get().to(get))
        .route("/charters/{id}/signatures", web::post().to(sign))
        .route("/charters/{id}/activate", web::post().to(activate));
}

async fn create(m: web::Data<CommonsManager>, env: web::Json<SignedEnvelope>) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<CharterCreate>("-")?;
    Ok(created(&run(&m, move |m| m.create_charter(&signed)).await?))
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

async fn get(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.charter(&id)).await?))
}

async fn by_domain(m: web::Data<CommonsManager>, domain: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.charter_by_domain(&domain)).await?))
}

async fn sign(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<CharterSign>(&id)?;
    Ok(ok(&run(&m, move |m| m.sign_charter(&signed)).await?))
}

async fn activate(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<CharterActivate>(&id)?;
    Ok(ok(&run(&m, move |m| m.activate_charter(&signed)).await?))
}
