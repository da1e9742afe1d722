//! The shape of a request body as a whole, before its fields: [`JsonObject`]
//! (a typed body that must be a JSON object), [`object_as`] (the same for a
//! body already read), and [`require_credential`] (a route that takes the
//! operator token or a signed envelope, sent neither).
//!
//! **Invariant:** a body that is not a JSON object never reaches a typed
//! body: serde would read a struct from a JSON array (`[]` as `{reason?}`),
//! so every typed body goes through [`object_as`].

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// A request body that is a JSON object, parsed as `B`. The body is read as
/// `web::Json` reads it (size, content type and syntax checked, with their
/// usual errors); anything but an object (an array, a string, a number,
/// `null`) is a 400 `invalid_json`, as is an object that is not `B`.
pub(super) struct JsonObject<B>(pub B);

impl<B: DeserializeOwned + 'static> FromRequest for JsonObject<B> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move { Ok(JsonObject(object_as(json.await?.into_inner())?)) })
    }
}

/// Parses a JSON body already read (by `web::Json`) as the shape a route
/// expects: a JSON object that is `B`, else a 400 `invalid_json`.
pub(super) fn object_as<B: DeserializeOwned>(value: Value) -> Result<B, ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_request("invalid_json", "request body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| ApiError::invalid_body(&e))
}

/// On a route that takes the operator token or a signed envelope, called
/// when the request has no `Authorization` header: a body that does not
/// look like an envelope (not an object, or an object with neither `actor`
/// nor `signature`) is a 401 `unauthorized`, since the request carries no
/// credential at all. A body that looks like one is left to the envelope's
/// own checks.
pub(super) fn require_credential(body: &Value) -> Result<(), ApiError> {
    match body {
        Value::Object(fields) if fields.contains_key("actor") || fields.contains_key("signature") => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this route takes the operator token (Authorization: Bearer <token>) or a signed envelope; the request has neither",
        )),
    }
}
