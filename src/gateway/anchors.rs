//! `/v1/anchors` and `/v1/holders`: operator bootstrap, lookups,
//! attestations, display names.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;

use super::handlers::{operator, read, signed_on};
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    let bootstrap = |m: &CommonsManager, r: BootstrapRequest| m.bootstrap_anchor(&r.did, r.display_name);
    cfg.route("/anchors", web::post().to(operator(S::CREATED, bootstrap)))
        .route("/anchors/by-did/{did}", web::get().to(read(CommonsManager::anchor_by_did)))
        .route("/anchors/{id}", web::get().to(read(CommonsManager::anchor)))
        .route("/anchors/{id}/attestations", web::post().to(signed_on(S::CREATED, CommonsManager::add_attestation)))
        .route("/holders/by-did/{did}", web::get().to(read(CommonsManager::holder_by_did)))
        .route("/holders/{id}", web::get().to(read(CommonsManager::holder)))
        .route("/holders/{id}", web::patch().to(signed_on(S::OK, CommonsManager::update_holder)));
}

/// Body of the operator bootstrap `POST /anchors`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapRequest {
    did: String,
    #[serde(default)]
    display_name: Option<String>,
}
