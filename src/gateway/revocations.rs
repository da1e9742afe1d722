//! `/v1/revocations`: create and finalize (operator), lookups and the
//! per-target list (`?target=anchor:<id>`, `holder:<id>`, `steward:<id>`,
//! `membership:<holder_id>:<jurisdiction>`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::amendments::NoFields;
use super::auth::Operator;
use super::error::ApiError;
use super::{created, ok, parse_limit, run};
use crate::manager::governance_actions::RevocationRequest;
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/revocations", web::post().to(create))
        .route("/revocations", web::get().to(list))
        .route("/revocations/{id}", web::get().to(get))
        .route("/revocations/{id}/finalize", web::post().to(finalize));
}

async fn create(
    m: web::Data<CommonsManager>,
    _op: Operator,
    body: web::Json<RevocationRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    Ok(created(&run(&m, move |m| m.create_revocation(request)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    target: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(m: web::Data<CommonsManager>, q: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = parse_limit(q.limit.as_deref())?;
    let Some(target) = q.target else {
        return Err(ApiError::bad_request("invalid_input", "target is required: /v1/revocations?target=anchor:<id>"));
    };
    let cursor = q.cursor;
    Ok(ok(&run(&m, move |m| m.list_revocations(&target, cursor.as_deref(), limit)).await?))
}

async fn get(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.revocation(&id)).await?))
}

async fn finalize(
    m: web::Data<CommonsManager>,
    _op: Operator,
    id: web::Path<String>,
    body: web::Json<NoFields>,
) -> Result<HttpResponse, ApiError> {
    let NoFields {} = body.into_inner();
    Ok(ok(&run(&m, move |m| m.finalize_revocation(&id)).await?))
}
