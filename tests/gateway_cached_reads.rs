#![cfg(feature = "gateway")]
//! `GET` of a record by id answers from the record cache on the async
//! worker when it can, and the same as the blocking read in every case:
//! a cached record, a record not cached, an unknown or malformed id, and an
//! enrollment session that expired (410 once, deleted, then 404).

mod common;

use anyhow::Result;
use common::http::{temporary_manager, Call, Gateway};
use common::keys::{unknown_hex_id, Person};
use common::world::{World, DAY};
use serde_json::Value;

#[actix_web::test]
async fn reads_by_id_answer_as_the_manager_reads() -> Result<()> {
    let m = temporary_manager()?;
    let w = World::build(&m, "bakery", false)?;
    let p = Person::new();
    let anchor_id = w.enroll(&m, &p, 0)?;
    let gw = Gateway::new(&m, None).await;
    let anchor = gw.expect(&Call::get(format!("/v1/anchors/{anchor_id}")), 200).await?;
    assert_eq!(anchor.json, serde_json::to_value(m.anchor(&anchor_id)?)?);
    let charter = gw.expect(&Call::get(format!("/v1/charters/{}", w.charter_id)), 200).await?;
    assert_eq!(charter.json, serde_json::to_value(m.charter(&w.charter_id)?)?);
    let holder_id = m.holder_by_did(p.did.as_str())?.holder.holder_id;
    let holder = gw.expect(&Call::get(format!("/v1/holders/{holder_id}")), 200).await?;
    assert_eq!(holder.json["did"], Value::from(p.did.as_str()));
    let affiliations = gw.expect(&Call::get(format!("/v1/holders/{holder_id}/affiliations")), 200).await?;
    assert_eq!(affiliations.json["items"][0]["jurisdiction"], Value::from(w.domain.as_str()));
    let by_did = gw.expect(&Call::get(format!("/v1/anchors/by-did/{}", p.did)), 200).await?;
    assert_eq!(by_did.json, anchor.json);
    gw.refused(&Call::get(format!("/v1/anchors/{}", unknown_hex_id())), 404, "not_found").await?;
    gw.refused(&Call::get("/v1/anchors/not-hex"), 400, "invalid_id").await?;
    Ok(())
}

#[actix_web::test]
async fn an_expired_session_answers_410_once_then_404() -> Result<()> {
    let m = temporary_manager()?;
    let id = m.start_enrollment("A. Person".into(), None)?.enrollment_id;
    let gw = Gateway::new(&m, None).await;
    let live = gw.expect(&Call::get(format!("/v1/enrollments/{id}")), 200).await?;
    assert_eq!(live.json["level"], Value::from(0));
    m.clock().advance(DAY);
    gw.expect(&Call::get(format!("/v1/enrollments/{id}")), 410).await?;
    assert!(gw.snapshot()?.iter().all(|(k, _)| !k.starts_with(b"enrollment")), "the session is deleted");
    gw.refused(&Call::get(format!("/v1/enrollments/{id}")), 404, "not_found").await?;
    Ok(())
}
