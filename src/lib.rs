//! # commons-gateway
//!
//! The persistent state store of a cooperative network's *commons*
//! (identity anchors, membership records, charters, stewards, enrollment
//! sessions), with an HTTP gateway in front of it.
pub mod backend;
pub mod manager;
pub mod model;
pub mod store;
