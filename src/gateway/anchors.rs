//! `/v1/anchors` and `/v1/holders`: operator bootstrap, lookups,
//! attestations, display names.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::Operator;
use super::error::ApiError;
use super::{created, ok, run};
use crate::manager::actions::{Attest, HolderUpdate};
use crate::manager::CommonsManager;
use crate::model::signing::SignedEnvelope;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/anchors", web::post().to(bootstrap))
        .route("/anchors/by-did/{did}", web::get().to(anchor_by_did))
        .route("/anchors/{id}", web::get().to(anchor))
        .route("/anchors/{id}/attestations", web::post().to(attest))
        .route("/holders/by-did/{did}", web::get().to(holder_by_did))
        .route("/holders/{id}", web::get().to(holder))
        .route("/holders/{id}", web::patch().to(update_holder));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapRequest {
    did: String,
    #[serde(default)]
    display_name: Option<String>,
}

async fn bootstrap(
    m: web::Data<CommonsManager>,
    _op: Operator,
    body: web::Json<BootstrapRequest>,
) -> Result<HttpResponse, ApiError> {
    let BootstrapRequest { did, display_name } = body.into_inner();
    Ok(created(&run(&m, move |m| m.bootstrap_anchor(&did, display_name)).await?))
}

async fn anchor(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.anchor(&id)).await?))
}

async fn anchor_by_did(m: web::Data<CommonsManager>, did: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.anchor_by_did(&did)).await?))
}

async fn attest(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<Attest>(&id)?;
    Ok(created(&run(&m, move |m| m.add_attestation(&signed)).await?))
}

async fn holder(m: web::Data<CommonsManager>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.holder(&id)).await?))
}

async fn holder_by_did(m: web::Data<CommonsManager>, did: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(ok(&run(&m, move |m| m.holder_by_did(&did)).await?))
}

async fn update_holder(
    m: web::Data<CommonsManager>,
    id: web::Path<String>,
    env: web::Json<SignedEnvelope>,
) -> Result<HttpResponse, ApiError> {
    let signed = env.open::<HolderUpdate>(&id)?;
    Ok(ok(&run(&m, move |m| m.update_holder(&signed)).await?))
}
