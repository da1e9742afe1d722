//! Handler builders for the route shapes that recur across the API, so each
//! route file lists its routes and the one manager call each makes.
//!
//! - [`read`]: `GET .../{id}`, answers 200 with what the manager returns.
//! - [`signed`]: a signed envelope whose target is `-` (a creation).
//! - [`signed_on`]: a signed envelope whose target is the route's `{id}`.
//! - [`operator`] / [`operator_on`]: operator routes (token checked by the
//!   [`Operator`] extractor before the body is read), with a typed JSON body
//!   (`deny_unknown_fields` on every body type) and, for `operator_on`, the
//!   route's path parameters.
//!
//! **Invariant:** every builder does exactly what a thin handler does: parse
//! (the extractors), authorise (the signature is verified by
//! [`SignedEnvelope::open`] against the route's target before the payload is
//! parsed; the operator token by [`Operator`]), run ONE manager call on the
//! blocking pool, and answer `status` with its result as JSON. Errors map
//! through [`ApiError`]. Routes with two ways in (operator or signed) or with
//! extra checks keep their own handler functions.

use actix_web::http::StatusCode;
use actix_web::{web, Handler, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::auth::Operator;
use super::error::ApiError;
use super::run;
use crate::manager::CommonsManager;
use crate::model::error::CommonsResult;
use crate::model::signing::{Action, Signed, SignedEnvelope};

/// What every builder's handler answers.
type Answer = Result<HttpResponse, ApiError>;

/// An empty JSON object body (`{}`); anything else is a 400 `invalid_json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoFields {}

/// Body of the operator status routes: `{reason?}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}

/// Parses a JSON body already read by `web::Json` (so size, content type and
/// syntax were checked as usual) as the shape a route expects; a mismatch is
/// a 400 `invalid_json`. Used by routes whose body shape depends on the caller.
pub(super) fn body_as<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::invalid_body(&e))
}

fn answer<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status).json(value)
}

/// `GET .../{id}`: `call(manager, id)`, 200.
pub(super) fn read<T, F>(call: F) -> impl Handler<(web::Data<CommonsManager>, web::Path<String>), Output = Answer>
where
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, &str) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, id: web::Path<String>| async move {
        let value = run(&m, move |m| call(m, &id)).await?;
        Ok(answer(StatusCode::OK, &value))
    }
}

/// A signed creation (target `-`): opens the envelope as action `A`, then
/// `call(manager, signed)`; answers `status`.
pub(super) fn signed<A, T, F>(
    status: StatusCode,
    call: F,
) -> impl Handler<(web::Data<CommonsManager>, web::Json<SignedEnvelope>), Output = Answer>
where
    A: Action + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, &Signed<A>) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, env: web::Json<SignedEnvelope>| async move {
        let signed = env.open::<A>("-")?;
        let value = run(&m, move |m| call(m, &signed)).await?;
        Ok(answer(status, &value))
    }
}

/// A signed action on the route's `{id}`: opens the envelope as action `A`
/// with target `id` (an envelope signed for another id is a 401), then
/// `call(manager, signed)`; answers `status`.
pub(super) fn signed_on<A, T, F>(
    status: StatusCode,
    call: F,
) -> impl Handler<(web::Data<CommonsManager>, web::Path<String>, web::Json<SignedEnvelope>), Output = Answer>
where
    A: Action + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, &Signed<A>) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, id: web::Path<String>, env: web::Json<SignedEnvelope>| async move {
        let signed = env.open::<A>(&id)?;
        let value = run(&m, move |m| call(m, &signed)).await?;
        Ok(answer(status, &value))
    }
}

/// An operator route without path parameters: `call(manager, body)`;
/// answers `status`.
pub(super) fn operator<B, T, F>(
    status: StatusCode,
    call: F,
) -> impl Handler<(web::Data<CommonsManager>, Operator, web::Json<B>), Output = Answer>
where
    B: DeserializeOwned + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, B) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, _op: Operator, body: web::Json<B>| async move {
        let body = body.into_inner();
        let value = run(&m, move |m| call(m, body)).await?;
        Ok(answer(status, &value))
    }
}

/// An operator route on path parameters `P` (`String` for `{id}`,
/// `(String, String)` for `{id}/.../{jurisdiction}`): `call(manager, path,
/// body)`; answers `status`.
pub(super) fn operator_on<P, B, T, F>(
    status: StatusCode,
    call: F,
) -> impl Handler<(web::Data<CommonsManager>, Operator, web::Path<P>, web::Json<B>), Output = Answer>
where
    P: DeserializeOwned + Send + 'static,
    B: DeserializeOwned + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, P, B) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, _op: Operator, path: web::Path<P>, body: web::Json<B>| async move {
        let (path, body) = (path.into_inner(), body.into_inner());
        let value = run(&m, move |m| call(m, path, body)).await?;
        Ok(answer(status, &value))
    }
}
