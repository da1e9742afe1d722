//! The one harness of the integration tests (include with `mod common;`):
//!
//! - [`keys`]: principals ([`keys::Person`]: an Ed25519 key and its DID),
//!   non-canonical spellings of a DID, signed envelopes, spoilt signatures,
//!   ids no record has;
//! - [`world`]: a small commons built through `CommonsManager` with real
//!   signatures ([`world::World`]), the managers it lives in, bulk fixtures
//!   and the "refused and nothing changed" check of the manager tests;
//! - [`files`]: the files of a store folder, copied and compared;
//! - [`probe`]: an in-memory backend that logs reads and fails a write on
//!   demand;
//! - [`http`] (feature `gateway`): requests and replies as data and the
//!   gateway's actix app in process;
//! - [`served`] (feature `gateway`): the commons of the bad-input tests,
//!   served in process, and the signed routes as data;
//! - [`process`] (feature `gateway`): the `commons-gateway` binary spawned
//!   as a process (subcommands, a `serve` answering the same requests).
//!
//! Each test binary uses a subset, hence the `dead_code` allowance.

#![allow(dead_code)]

pub mod files;
#[cfg(feature = "gateway")]
pub mod http;
pub mod keys;
pub mod probe;
#[cfg(feature = "gateway")]
pub mod process;
#[cfg(feature = "gateway")]
pub mod served;
pub mod world;
