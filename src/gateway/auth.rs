//! The operator token: `Authorization: Bearer <token>`, compared in constant
//! time. With no token configured every operator route answers 403
//! `admin_disabled` (fail closed).

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// The configured operator token, if any. Register one as app data.
#[derive(Clone, Default)]
pub struct AdminToken(Option<String>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "AdminToken(set)" } else { "AdminToken(none)" })
    }
}

impl AdminToken {
    /// A token (`None`: operator routes disabled). Surrounding whitespace is
    /// trimmed; an empty token counts as none.
    pub fn new(token: Option<String>) -> Self {
        Self(token.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()))
    }

    /// True when operator routes are enabled.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Checks the request's bearer token (`Authorization: Bearer <token>`;
    /// the scheme name is case-insensitive, RFC 7235 section 2.1; the token is
    /// compared in constant time).
    ///
    /// # Errors
    /// 403 `admin_disabled` with no token configured; 401 `unauthorized`
    /// for a missing or wrong token.
    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let Some(expected) = &self.0 else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "operator routes are disabled: start the server with --admin-token-file or COMMONS_ADMIN_TOKEN",
            ));
        };
        let given = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token.trim_start_matches(' '));
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) && !given.is_empty() {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong operator token (Authorization: Bearer <token>)",
            ))
        }
    }
}

/// Proof that the request carries the operator token. As a handler argument
/// placed before the body, it rejects the request before the body is read.
pub struct Operator;

impl actix_web::FromRequest for Operator {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(check_operator(req).map(|()| Operator))
    }
}

/// Checks the operator token against the app's [`AdminToken`] (an app that
/// registered none has operator routes disabled).
///
/// # Errors
/// As [`AdminToken::check`].
pub fn check_operator(req: &HttpRequest) -> Result<(), ApiError> {
    match req.app_data::<actix_web::web::Data<AdminToken>>() {
        Some(token) => token.check(req),
        None => AdminToken::default().check(req),
    }
}

/// Who takes an action that a steward may sign and the operator may take with
/// the token: `Operator` when the request has an `Authorization` header (the
/// token is checked before the body is read), `Signer` otherwise.
pub enum Caller {
    /// The token was checked.
    Operator,
    /// The body must be a signed envelope.
    Signer,
}

impl actix_web::FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut actix_web::dev::Payload) -> Self::Future {
        let result = if req.headers().contains_key(actix_web::http::header::AUTHORIZATION) {
            check_operator(req).map(|()| Caller::Operator)
        } else {
            Ok(Caller::Signer)
        };
        std::future::ready(result)
    }
}
