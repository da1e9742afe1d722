//! `/v1/jurisdictions/{domain_id}/members?status=&cursor=&limit=`: the paged
//! members list of one jurisdiction, read through its membership index rows
//! only (never a scan of all holders).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::{ok, parse_limit, run};
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/jurisdictions/{domain_id}/members", web::get().to(members));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MembersQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `{items: [holder views], next_cursor}`; `status` is an affiliation status
/// name (`Candidate`, ..., `Banned`), else 400.
async fn members(
    m: web::Data<CommonsManager>,
    domain: web::Path<String>,
    q: web::Query<MembersQuery>,
) -> Result<HttpResponse, ApiError> {
    let MembersQuery { status, cursor, limit } = q.into_inner();
    let limit = parse_limit(limit.as_deref())?;
    Ok(ok(&run(&m, move |m| m.list_members(&domain, status.as_deref(), cursor.as_deref(), limit)).await?))
}
