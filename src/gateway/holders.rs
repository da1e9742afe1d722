//! `/v1/holders` and `/v1/jurisdictions`: holders and their affiliations.
//!
//! - `GET /holders/{id}`, `GET /holders/by-did/{did}`; `PATCH /holders/{id}`
//!   (signed `holder-update`)
//! - `GET /holders/{id}/affiliations`; `POST /holders/{id}/affiliations`
//!   (signed `affiliation-apply`, 201)
//! - `POST /holders/{id}/affiliations/{jurisdiction}/approve|promote` (signed
//!   by a steward of the jurisdiction, or the operator with `{reason?}`),
//!   `.../suspend|reinstate|ban` (operator, `{reason?}`), `.../leave` (signed
//!   `affiliation-leave`), `PUT .../capabilities` (operator, `{capabilities}`)
//! - `GET /jurisdictions/{domain_id}/members?status=&cursor=&limit=`: the
//!   paged members list of one jurisdiction, read through its membership
//!   index rows only (never a scan of all holders).
//!
//! Every affiliation route answers the holder as `GET /holders/{id}` does.
//! Operator routes take the [`Operator`] extractor
//! before the body, so a missing or wrong token is refused before the body
//! is read. Signed affiliation actions carry the jurisdiction in their
//! payload (the signature covers it); it must equal the route's, else 400
//! `invalid_input`.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{web, Handler, HttpResponse};
use serde::Deserialize;

use super::auth::{Caller, Operator};
use super::body::object_as;
use super::body::{require_credential, JsonObject};
use super::error::ApiError;
use super::handlers::{lookup, open_signed, operator_on, read, signed_on, ReasonBody};
use super::{ok, parse_limit, run};
use crate::manager::{AffiliationApprove, AffiliationLeave, AffiliationPromote, CommonsManager, CommonsResult};
use crate::model::holder::{Capability, HolderView};
use crate::model::signing::{Action, Signed};
use crate::store::Paging;

/// The handler of an operator affiliation route on
/// `{id}/affiliations/{jurisdiction}`, body `{reason?}`.
fn membership(call: OperatorMove) -> impl Handler<MembershipArgs, Output = Result<HttpResponse, ApiError>> {
    operator_on(StatusCode::OK, move |m: &CommonsManager, (id, j): (String, String), b: ReasonBody| {
        call(m, &id, &j, b.reason)
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    use StatusCode as S;
    let approve = advance(
        CommonsManager::approve_affiliation_by_operator,
        CommonsManager::approve_affiliation,
        |b: &AffiliationApprove| &b.jurisdiction,
    );
    let promote = advance(
        CommonsManager::promote_affiliation_by_operator,
        CommonsManager::promote_affiliation,
        |b: &AffiliationPromote| &b.jurisdiction,
    );
    let capabilities = |m: &CommonsManager, (id, j): (String, String), b: CapabilitiesBody| {
        m.set_affiliation_capabilities(&id, &j, b.capabilities)
    };
    cfg.route("/holders/by-did/{did}", web::get().to(lookup(CommonsManager::holder_by_did)))
        .route("/holders/{id}", web::get().to(read(CommonsManager::holder)))
        .route("/holders/{id}", web::patch().to(signed_on(S::OK, CommonsManager::update_holder)))
        .route("/holders/{id}/affiliations", web::get().to(read(CommonsManager::holder_affiliations)))
        .route("/holders/{id}/affiliations", web::post().to(signed_on(S::CREATED, CommonsManager::apply_affiliation)))
        .route("/holders/{id}/affiliations/{jurisdiction}/approve", web::post().to(approve))
        .route("/holders/{id}/affiliations/{jurisdiction}/promote", web::post().to(promote))
        .route(
            "/holders/{id}/affiliations/{jurisdiction}/suspend",
            web::post().to(membership(CommonsManager::suspend_affiliation)),
        )
        .route(
            "/holders/{id}/affiliations/{jurisdiction}/reinstate",
            web::post().to(membership(CommonsManager::reinstate_affiliation)),
        )
        .route(
            "/holders/{id}/affiliations/{jurisdiction}/ban",
            web::post().to(membership(CommonsManager::ban_affiliation)),
        )
        .route("/holders/{id}/affiliations/{jurisdiction}/leave", web::post().to(leave))
        .route(
            "/holders/{id}/affiliations/{jurisdiction}/capabilities",
            web::put().to(operator_on(S::OK, capabilities)),
        )
        .route("/jurisdictions/{domain_id}/members", web::get().to(members));
}

/// Body of `PUT /holders/{id}/affiliations/{jurisdiction}/capabilities`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesBody {
    capabilities: BTreeSet<Capability>,
}

/// The signed payload names the jurisdiction; it must be the route's.
fn same_jurisdiction(route: &str, payload: &str) -> Result<(), ApiError> {
    if route == payload {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_input",
            format!(
                "invalid jurisdiction: the signed payload names {:?}, the route {:?}",
                payload.chars().take(120).collect::<String>(),
                route.chars().take(120).collect::<String>()
            ),
        ))
    }
}

/// What an operator affiliation route's handler takes.
type MembershipArgs = (web::Data<CommonsManager>, Operator, web::Path<(String, String)>, JsonObject<ReasonBody>);

/// What the approve and promote handlers take.
type AdvanceArgs = (web::Data<CommonsManager>, Caller, web::Path<(String, String)>, web::Json<serde_json::Value>);

/// A manager call that moves an affiliation as the operator.
type OperatorMove = fn(&CommonsManager, &str, &str, Option<String>) -> CommonsResult<HolderView>;

/// The handler of `.../approve` and `.../promote`. With an `Authorization`
/// header: the operator path (`by_operator`), body `{reason?}`. Without: a
/// steward's signed envelope of action `A`, whose payload must name the
/// route's jurisdiction (`signed_move`); a body that is not envelope-shaped
/// there is a 401 `unauthorized` (the request has no credential).
fn advance<A: Action + Send + 'static>(
    by_operator: OperatorMove,
    signed_move: fn(&CommonsManager, &Signed<A>) -> CommonsResult<HolderView>,
    jurisdiction_of: fn(&A) -> &str,
) -> impl Handler<AdvanceArgs, Output = Result<HttpResponse, ApiError>> {
    move |m: web::Data<CommonsManager>,
          caller: Caller,
          path: web::Path<(String, String)>,
          body: web::Json<serde_json::Value>| async move {
        let (id, jurisdiction) = path.into_inner();
        if let Caller::Operator = caller {
            let reason = object_as::<ReasonBody>(body.into_inner())?.reason;
            return Ok(ok(&run(&m, move |m| by_operator(m, &id, &jurisdiction, reason)).await?));
        }
        require_credential(&body)?;
        let signed = open_signed::<A>(&m, body.into_inner(), &id)?;
        same_jurisdiction(&jurisdiction, jurisdiction_of(&signed.body))?;
        Ok(ok(&run(&m, move |m| signed_move(m, &signed)).await?))
    }
}

async fn leave(
    m: web::Data<CommonsManager>,
    path: web::Path<(String, String)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let (id, jurisdiction) = path.into_inner();
    let signed = open_signed::<AffiliationLeave>(&m, body.into_inner(), &id)?;
    same_jurisdiction(&jurisdiction, &signed.body.jurisdiction)?;
    Ok(ok(&run(&m, move |m| m.leave_affiliation(&signed)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MembersQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// `{items: [holder views], next_cursor}`; `status` is an affiliation status
/// name (`Candidate`, ..., `Banned`), else 400.
async fn members(
    m: web::Data<CommonsManager>,
    domain: web::Path<String>,
    q: web::Query<MembersQuery>,
) -> Result<HttpResponse, ApiError> {
    let MembersQuery { status, cursor, limit } = q.into_inner();
    let limit = parse_limit(limit.as_deref())?;
    Ok(ok(&run(&m, move |m| m.list_members(&domain, status.as_deref(), Paging::new(cursor.as_deref(), limit))).await?))
}
