//! `/v1/anchors`: the operator's bootstrap, lookups by id and DID,
//! attestations (signed `attest`), and the operator's status routes
//! `POST /anchors/{id}/suspend|reinstate|revoke` (body `{reason?}`).

use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;

use super::handlers::{lookup, operator, read, signed_on, status};
use crate::manager::CommonsManager;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    let bootstrap = |m: &CommonsManager, r: BootstrapRequest| m.bootstrap_anchor(&r.did, r.display_name);
    cfg.route("/anchors", web::post().to(operator(S::CREATED, bootstrap)))
        .route("/anchors/by-did/{did}", web::get().to(lookup(CommonsManager::anchor_by_did)))
        .route("/anchors/{id}", web::get().to(read(CommonsManager::anchor)))
        .route("/anchors/{id}/attestations", web::post().to(signed_on(S::CREATED, CommonsManager::add_attestation)))
        .route("/anchors/{id}/suspend", web::post().to(status(CommonsManager::suspend_anchor)))
        .route("/anchors/{id}/reinstate", web::post().to(status(CommonsManager::reinstate_anchor)))
        .route("/anchors/{id}/revoke", web::post().to(status(CommonsManager::revoke_anchor)));
}

/// Body of the operator bootstrap `POST /anchors`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapRequest {
    did: String,
    #[serde(default)]
    display_name: Option<String>,
}
