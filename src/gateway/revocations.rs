//! `/v1/revocations`: create and finalize (operator), lookups and the
//! per-target list (`?target=anchor:<id>`, `holder:<id>`, `steward:<id>`,
//! `membership:<holder_id>:<jurisdiction>`).

use actix_web::http::StatusCode;
use actix_web::web;

use super::error::ApiError;
use super::handlers::{list, operator, operator_on, read, NoFields};
use crate::manager::{CommonsManager, RevocationRequest};
use crate::store::Paging;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let create = |m: &CommonsManager, r: RevocationRequest| m.create_revocation(r);
    let finalize = |m: &CommonsManager, id: String, NoFields {}| m.finalize_revocation(&id);
    let list_revocations = |m: &CommonsManager, target: &String, page: Paging<'_>| m.list_revocations(target, page);
    cfg.route("/revocations", web::post().to(operator(StatusCode::CREATED, create)))
        .route("/revocations", web::get().to(list(filter, list_revocations)))
        .route("/revocations/{id}", web::get().to(read(CommonsManager::revocation)))
        .route("/revocations/{id}/finalize", web::post().to(operator_on(StatusCode::OK, finalize)));
}

super::handlers::list_query!(
    /// `GET /revocations?target=&cursor=&limit=`.
    ListQuery { target }
);

fn filter(q: ListQuery) -> Result<String, ApiError> {
    q.target
        .ok_or_else(|| ApiError::bad_request("invalid_input", "target is required: /v1/revocations?target=anchor:<id>"))
}
