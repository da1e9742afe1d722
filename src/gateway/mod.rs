//! The HTTP gateway (actix-web): the routes of `docs/DOMAIN.md` under `/v1`,
//! one file per entity (`anchors.rs`, `holders.rs` with affiliations and
//! jurisdictions' members, `charters.rs`, `stewards.rs`, `enrollments.rs`,
//! `amendments.rs`, `appeals.rs`, `revocations.rs`), the signed-envelope
//! rule, the operator token (`auth.rs`), the builders of recurring route
//! shapes (`handlers.rs`), the shape of a body as a whole (`body.rs`), the
//! limits every `/v1` request is held to (`intake.rs`: target length,
//! content type, body deadline), what each connection is held to (a body
//! not fully received closes it; every request head has a deadline:
//! `connection.rs`), JSON errors (`error.rs`), the abuse limits of public
//! routes (`limits.rs`) and the server (`server.rs`).
//!
//! **Invariants:** handlers are thin (parse, authorise, call one manager
//! method, map the result) and take the manager with its default type
//! parameter, `web::Data<CommonsManager>`, so the engine is fixed at compile
//! time with no dynamic dispatch. Store calls that may do I/O run off the
//! async workers (`web::block`); a read of one record by id is first tried
//! on the record caches on the async worker, where a step that would need
//! the engine or wait for a lock is refused and the read goes to the
//! blocking pool (`run_read`), so both ways give the same answer. One manager per process, shared by every worker. Request
//! bodies are limited to 64 KiB. Every error the gateway's own code answers
//! (unknown route 404, wrong method 405, body late 408, body too large 413,
//! target too long 414, content type 415) has the JSON error body.

mod amendments;
mod anchors;
mod appeals;
mod auth;
mod body;
mod charters;
mod connection;
mod enrollments;
mod error;
mod handlers;
mod holders;
mod intake;
mod limits;
mod revocations;
mod server;
mod stewards;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

pub use auth::AdminToken;
pub use error::ApiError;
pub use intake::{DEFAULT_BODY_TIMEOUT_SECS, DEFAULT_HEAD_TIMEOUT_SECS, MAX_DEADLINE_SECS, MAX_URI_BYTES};
pub use limits::{ClientAddresses, EnrollmentRateLimit, DEFAULT_ENROLLMENT_BURST, DEFAULT_ENROLLMENT_RATE_PER_MINUTE};
pub use server::{check_location, open_manager, serve, ServeError, ServeOptions, MAX_SWEEP_INTERVAL_SECS};

use crate::manager::{CommonsManager, CommonsResult, StoreInfo};

/// Largest accepted request body, in bytes (64 KiB); larger is a 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Runs a manager call on the blocking pool and maps its error.
async fn run<T, F>(manager: &web::Data<CommonsManager>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&CommonsManager) -> CommonsResult<T> + Send + 'static,
{
    let m = manager.clone();
    match web::block(move || f(&m)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// Runs a manager read of one record by `id`: first on the record caches,
/// right here on the async worker ([`CommonsManager::cached`]: no I/O, no
/// wait, the same answer the read gives on the blocking pool), and on the
/// blocking pool ([`run`]) when that needs the engine (a miss, an expired
/// enrollment session to delete, a busy record lock) or the store keeps no
/// cache (PostgreSQL).
async fn run_read<T, F>(manager: &web::Data<CommonsManager>, id: String, read: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: Fn(&CommonsManager, &str) -> CommonsResult<T> + Copy + Send + 'static,
{
    if let Some(result) = manager.cached(|m| read(m, &id)) {
        return result.map_err(ApiError::from);
    }
    run(manager, move |m| read(m, &id)).await
}

fn ok<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok().json(value)
}

fn created<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Created().json(value)
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body is over {MAX_BODY_BYTES} bytes"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json (charset utf-8, or no charset)",
        ),
        JsonPayloadError::Payload(e) => {
            intake::body_refusal(e).unwrap_or_else(|| ApiError::bad_request("invalid_body", err.to_string()))
        }
        JsonPayloadError::Deserialize(e) => ApiError::invalid_body(e),
        JsonPayloadError::Serialize(e) => ApiError::internal(e),
        _ => ApiError::bad_request("invalid_body", err.to_string()),
    };
    api.into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_path", err.to_string()).into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_query", err.to_string()).into()
}

/// What answers a request no route takes: 414 `uri_too_long` for a target
/// over [`MAX_URI_BYTES`]; 405 `method_not_allowed` for a path some route
/// serves with another method; else 404 `not_found`.
async fn not_found(req: HttpRequest) -> HttpResponse {
    let refusal = intake::uri_too_long(&req).unwrap_or_else(|| {
        let path: String = req.path().chars().take(200).collect();
        if req.match_pattern().is_some() {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{path} does not take {}; see docs/DOMAIN.md, \"Routes\"", req.method()),
            )
        } else {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no route {} {path}", req.method()))
        }
    });
    actix_web::ResponseError::error_response(&refusal)
}

/// Registers every route, the extractor settings and the request limits
/// (target length, content type, body deadline) on an app. Use with
/// `App::new().app_data(manager).app_data(token).app_data(limit).configure(configure)`,
/// where `limit` is the process's one `web::Data<EnrollmentRateLimit>`;
/// without it `POST /v1/enrollments` has no per-client rate limit (the
/// manager's cap on open sessions still holds). A request body has
/// [`DEFAULT_BODY_TIMEOUT_SECS`] to arrive ([`serve`] sets its own from
/// [`ServeOptions`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().limit(MAX_BODY_BYTES).error_handler(json_error))
        .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .service(
            web::scope("/v1")
                .wrap(actix_web::middleware::from_fn(intake::check_request))
                .route("/health", web::get().to(health))
                .configure(enrollments::routes)
                .configure(anchors::routes)
                .configure(holders::routes)
                .configure(charters::routes)
                .configure(stewards::routes)
                .configure(amendments::routes)
                .configure(appeals::routes)
                .configure(revocations::routes),
        )
        .default_service(web::to(not_found));
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    #[serde(flatten)]
    info: &'a StoreInfo,
    audience: &'a str,
}

/// `GET /v1/health`: 200 `{status: "ok", backend, persistent, data_dir,
/// database?, schema_version, durability, audience}` (`audience`: the
/// network's name, which envelopes must be signed for), or 503 `unavailable` once the
/// store has stopped after a failed write (the message names the cause;
/// restart the process after fixing it), or while its database cannot be
/// reached (it serves again by itself once the database is back). The check
/// runs on the blocking pool: for PostgreSQL it is a query.
async fn health(manager: web::Data<CommonsManager>) -> Result<HttpResponse, ApiError> {
    run(&manager, CommonsManager::check_available).await?;
    Ok(ok(&Health { status: "ok", info: manager.info(), audience: &manager.envelope_policy().audience }))
}

/// Parses a list `limit` query value (default 50).
fn parse_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(50),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::bad_request("invalid_input", "invalid limit: 1..=100")),
    }
}
