//! The records of the commons (`DOMAIN.md`) and their own state rules.
//!
//! **Invariant:** this module knows nothing of storage or HTTP. Every state
//! transition is a method on its record that refuses what the spec does not
//! allow, leaving the record unchanged.

pub mod amendment;
pub mod anchor;
pub mod appeal;
pub mod charter;
pub mod did;
pub mod enrollment;
pub mod error;
pub mod holder;
pub mod ids;
pub mod revocation;
pub mod signing;
pub mod steward;
