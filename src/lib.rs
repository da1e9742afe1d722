//! # commons-gateway
//!
//! The persistent state store of a cooperative network's *commons* (identity
//! anchors, membership records, charters with their founders' signatures,
//! stewards, enrollment sessions in flight), with an HTTP gateway in front of
//! it. State survives restarts and crashes when a persistent engine is built
//! in.
//!
//! What it is **not**: a general database, an identity provider for other
//! services, or a consensus system. One gateway process owns one store.
//!
//! The storage engine is chosen at **compile time** by Cargo features through
//! one type alias, [`CommonsBackend`]; [`CommonsManager`] uses it as its default
//! type parameter, so the gateway's handlers pay for no dynamic dispatch.
//!
//! ## Features
//!
//! - `gateway` (default): the actix-web HTTP gateway ([`gateway`]) and the
//!   `commons-gateway` binary; pulls in actix-web, clap, tracing-subscriber.
//!   Embedded users turn it off (`default-features = false`).
//! - `sled-store` (off): adds [`backend::SledCommonsStore`] (sled 0.34.7); it
//!   becomes [`CommonsBackend`] unless `fjall-store` is also on.
//! - `fjall-store` (off): adds [`backend::FjallCommonsStore`] (fjall 3.1); it
//!   becomes [`CommonsBackend`].
//! - With no engine feature, [`CommonsBackend`] is
//!   [`backend::InMemoryCommonsStore`]: nothing survives a restart.
//!
//! Engine features are additive; the alias follows the fixed precedence
//! `fjall-store` > `sled-store` > in-memory, and [`BACKEND_NAME`] says which
//! one was chosen. Every engine compiled in runs the same conformance suite.
//!
//! ## Example
//!
//! ```
//! use commons_gateway::backend::{InMemoryCommonsStore, StoreConfig};
//! use commons_gateway::CommonsManager;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = CommonsManager::<InMemoryCommonsStore>::temporary(&StoreConfig::default())?;
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let did = commons_gateway::Did::from_verifying_key(&key.verifying_key());
//! let anchor = manager.bootstrap_anchor(did.as_str(), Some("First member".into()))?;
//! assert_eq!(manager.holder(&anchor.anchor.anchor_id)?.holder.did, did);
//! # Ok(())
//! # }
//! ```
//!
//! ## Modules
//!
//! - [`backend`]: the engine contract, the engines, the compile-time alias.
//! - [`store`]: key layout, codec, caches, index rows, paged lists.
//! - [`model`]: the records and their state rules; DIDs and signed envelopes.
//! - [`manager`]: the operations of the commons, atomic and serialised.
//! - [`gateway`]: the HTTP API (feature `gateway`).

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod backend;
#[cfg(feature = "gateway")]
pub mod gateway;
pub mod manager;
pub mod model;
pub mod store;

pub use backend::{CommonsBackend, CommonsStoreBackend, Durability, OpenBackend, StoreConfig, BACKEND_NAME};
pub use manager::CommonsManager;
pub use model::did::Did;
pub use model::error::{CommonsError, CommonsResult};
pub use model::signing::SignedEnvelope;
