//! Handler builders for the route shapes that recur across the API, so each
//! route file lists its routes and the one manager call each makes.
//!
//! - [`read`]: `GET .../{id}`, answers 200 with what the manager returns,
//!   from the record caches on the async worker when it can ([`run_read`]).
//! - [`lookup`]: `GET .../by-did/{did}` and the like (an index lookup, so
//!   always on the blocking pool), answers 200 as `read`.
//! - [`signed`]: a signed envelope whose target is `-` (a creation).
//! - [`signed_on`]: a signed envelope whose target is the route's `{id}`.
//! - [`operator`] / [`operator_on`]: operator routes (token checked by the
//!   [`Operator`] extractor before the body is read), with a typed JSON body
//!   (a JSON object, [`JsonObject`]; `deny_unknown_fields` on every body
//!   type) and, for `operator_on`, the
//!   route's path parameters; [`status`]: an operator status route on `{id}`
//!   with body `{reason?}`.
//! - [`operator_or_signed_on`]: a route on `{id}` that the operator takes
//!   with the token (header present) and a steward takes with a signed
//!   envelope (no header).
//! - [`list`]: `GET` of a paged list, with the query struct made by
//!   [`list_query!`] (`cursor` and `limit` plus the list's own filters).
//!
//! **Invariant:** every builder does exactly what a thin handler does: parse
//! (the extractors), authorise (the signature is verified by
//! [`open_signed`] against the route's target and the gateway's audience
//! before the payload is parsed; the operator token by [`Operator`]), run ONE manager call on the
//! blocking pool (a read by id: on the record caches first, [`run_read`]), and answer `status` with its result as JSON. Errors map
//! through [`ApiError`]. Routes with two ways in (operator or signed) or with
//! extra checks keep their own handler functions.

use actix_web::http::StatusCode;
use actix_web::{web, Handler, HttpResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::auth::{Caller, Operator};
use super::body::{object_as, require_credential, JsonObject};
use super::error::ApiError;
use super::{parse_limit, run, run_read};
use crate::manager::{CommonsManager, CommonsResult};
use crate::model::signing::{Action, Signed, SignedEnvelope};
use crate::store::Paging;

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

/// Reads a JSON body (already read by `web::Json`, so size, content type and
/// syntax were checked as usual) as a version-2 signed envelope and opens it
/// for action `A` on `target` under the manager's envelope policy: 401
/// `invalid_envelope` for anything else (a version-1 envelope, an unknown
/// field), then as [`CommonsManager::open_envelope`] (401 `bad_signature`,
/// 401 `envelope_expired`, 400 `invalid_payload`, ...).
pub(super) fn open_signed<A: Action>(
    m: &CommonsManager,
    body: serde_json::Value,
    target: &str,
) -> Result<Signed<A>, ApiError> {
    let envelope = SignedEnvelope::from_json(body)?;
    Ok(m.open_envelope::<A>(&envelope, target)?)
}

fn answer<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status).json(value)
}

/// `GET .../{id}`: `call(manager, id)` ([`run_read`]: from the record
/// caches when no I/O is needed), 200.
pub(super) fn read<T, F>(call: F) -> impl Handler<(web::Data<CommonsManager>, web::Path<String>), Output = Answer>
where
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, &str) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, id: web::Path<String>| async move {
        let value = run_read(&m, id.into_inner(), call).await?;
        Ok(answer(StatusCode::OK, &value))
    }
}

/// `GET .../by-did/{did}` and the like: `call(manager, key)` on the
/// blocking pool (an index lookup always reads the engine), 200.
pub(super) fn lookup<T, F>(call: F) -> impl Handler<(web::Data<CommonsManager>, web::Path<String>), Output = Answer>
where
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, &str) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, key: web::Path<String>| async move {
        let value = run(&m, move |m| call(m, &key)).await?;
        Ok(answer(StatusCode::OK, &value))
    }
}

/// A signed creation (target `-`): opens the envelope as action `A`, then
/// `call(manager, signed)`; answers `status`.
pub(super) fn signed<A, T, F>(
    status: StatusCode,
    call: F,
) -> impl Handler<(web::Data<CommonsManager>, web::Json<serde_json::Value>), Output = Answer>
where
    A: Action + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, &Signed<A>) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, body: web::Json<serde_json::Value>| async move {
        let signed = open_signed::<A>(&m, body.into_inner(), "-")?;
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
) -> impl Handler<(web::Data<CommonsManager>, web::Path<String>, web::Json<serde_json::Value>), Output = Answer>
where
    A: Action + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, &Signed<A>) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, id: web::Path<String>, body: web::Json<serde_json::Value>| async move {
        let signed = open_signed::<A>(&m, body.into_inner(), &id)?;
        let value = run(&m, move |m| call(m, &signed)).await?;
        Ok(answer(status, &value))
    }
}

/// An operator route without path parameters: `call(manager, body)`;
/// answers `status`.
pub(super) fn operator<B, T, F>(
    status: StatusCode,
    call: F,
) -> impl Handler<(web::Data<CommonsManager>, Operator, JsonObject<B>), Output = Answer>
where
    B: DeserializeOwned + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, B) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, _op: Operator, JsonObject(body): JsonObject<B>| async move {
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
) -> impl Handler<(web::Data<CommonsManager>, Operator, web::Path<P>, JsonObject<B>), Output = Answer>
where
    P: DeserializeOwned + Send + 'static,
    B: DeserializeOwned + Send + 'static,
    T: Serialize + Send + 'static,
    F: Fn(&CommonsManager, P, B) -> CommonsResult<T> + Copy + Send + 'static,
{
    move |m: web::Data<CommonsManager>, _op: Operator, path: web::Path<P>, JsonObject(body): JsonObject<B>| async move {
        let path = path.into_inner();
        let value = run(&m, move |m| call(m, path, body)).await?;
        Ok(answer(status, &value))
    }
}

/// An operator status route on `{id}` with body `{reason?}`:
/// `call(manager, id, reason)`, 200.
pub(super) fn status<T>(
    call: fn(&CommonsManager, &str, Option<String>) -> CommonsResult<T>,
) -> impl Handler<(web::Data<CommonsManager>, Operator, web::Path<String>, JsonObject<ReasonBody>), Output = Answer>
where
    T: Serialize + Send + 'static,
{
    operator_on(StatusCode::OK, move |m: &CommonsManager, id: String, b: ReasonBody| call(m, &id, b.reason))
}

/// A route on `{id}` with two ways in. With an `Authorization` header: the
/// operator (token checked before the body is read), body `B`,
/// `by_operator(manager, id, body)`. Without: a signed envelope of action `A`
/// on `id`, `by_signer(manager, signed)`; a body that is not envelope-shaped
/// there is a 401 `unauthorized` ([`require_credential`]). The body is read
/// as JSON first (so size, content type and syntax errors are the usual JSON
/// errors), then parsed as the shape the header selects. Answers 200.
pub(super) fn operator_or_signed_on<A, B, T>(
    by_operator: fn(&CommonsManager, &str, B) -> CommonsResult<T>,
    by_signer: fn(&CommonsManager, &Signed<A>) -> CommonsResult<T>,
) -> impl Handler<(web::Data<CommonsManager>, Caller, web::Path<String>, web::Json<serde_json::Value>), Output = Answer>
where
    A: Action + Send + 'static,
    B: DeserializeOwned + Send + 'static,
    T: Serialize + Send + 'static,
{
    move |m: web::Data<CommonsManager>, caller: Caller, id: web::Path<String>, body: web::Json<serde_json::Value>| async move {
        let value = match caller {
            Caller::Operator => {
                let body: B = object_as(body.into_inner())?;
                run(&m, move |m| by_operator(m, &id, body)).await?
            }
            Caller::Signer => {
                require_credential(&body)?;
                let signed = open_signed::<A>(&m, body.into_inner(), &id)?;
                run(&m, move |m| by_signer(m, &signed)).await?
            }
        };
        Ok(answer(StatusCode::OK, &value))
    }
}

/// A list query: the `cursor` and `limit` every list takes, handed out once.
pub(super) trait Paged {
    /// `(cursor, limit)` as the query gave them.
    fn paging(&mut self) -> (Option<String>, Option<String>);
}

/// Declares a list's query struct: its own optional filters, then `cursor`
/// and `limit` (unknown parameters are a 400 `invalid_query`).
macro_rules! list_query {
    ($(#[$doc:meta])* $name:ident { $($field:ident),* }) => {
        $(#[$doc])*
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($field: Option<String>,)*
            cursor: Option<String>,
            limit: Option<String>,
        }
        impl super::handlers::Paged for $name {
            fn paging(&mut self) -> (Option<String>, Option<String>) {
                (self.cursor.take(), self.limit.take())
            }
        }
    };
}
pub(super) use list_query;

/// `GET` of a paged list: reads `limit` (1..=100, default 50; else 400
/// `invalid_input`), turns the rest of the query into the call's filter with
/// `filter` (a 400 for a bad or missing filter), then
/// `call(manager, filter, page)`, 200 `{items, next_cursor}`.
pub(super) fn list<Q, F, T>(
    filter: fn(Q) -> Result<F, ApiError>,
    call: fn(&CommonsManager, &F, Paging<'_>) -> CommonsResult<T>,
) -> impl Handler<(web::Data<CommonsManager>, web::Query<Q>), Output = Answer>
where
    Q: Paged + DeserializeOwned + 'static,
    F: Send + 'static,
    T: Serialize + Send + 'static,
{
    move |m: web::Data<CommonsManager>, q: web::Query<Q>| async move {
        let mut q = q.into_inner();
        let (cursor, limit) = q.paging();
        let limit = parse_limit(limit.as_deref())?;
        let filter = filter(q)?;
        let value = run(&m, move |m| call(m, &filter, Paging::new(cursor.as_deref(), limit))).await?;
        Ok(answer(StatusCode::OK, &value))
    }
}
