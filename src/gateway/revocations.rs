//! `/v1/revocations`: create and finalize (operator), lookups and the
//! per-target list (`?target=anchor:<id>`, `holder:<id>`, `steward:<id>`,
//! `membership:<holder_id>:<jurisdiction>`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::handlers::{operator, operator_on, read, NoFields};
use super::{ok, parse_limit, run};
use crate::manager::governance_actions::RevocationRequest;
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let create = |m: &CommonsManager, r: RevocationRequest| m.create_revocation(r);
    let finalize = |m: &CommonsManager, id: String, NoFields {}| m.finalize_revocation(&id);
    cfg.route("/revocations", web::post().to(operator(StatusCode::CREATED, create)))
        .route("/revocations", web::get().to(list))
        .route("/revocations/{id}", web::get().to(read(CommonsManager::revocation)))
        .route("/revocations/{id}/finalize", web::post().to(operator_on(StatusCode::OK, finalize)));
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
