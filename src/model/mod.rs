//! The records of the commons (`docs/DOMAIN.md`) and their own state rules.
//!
//! **Invariant:** this module knows nothing of storage or HTTP. Every state
//! transition is a method on its record that refuses what the spec does not
//! allow, leaving the record unchanged.

pub(crate) mod amendment;
pub(crate) mod anchor;
pub(crate) mod appeal;
pub(crate) mod charter;
pub(crate) mod did;
pub(crate) mod enrollment;
pub(crate) mod error;
pub(crate) mod holder;
pub(crate) mod ids;
pub(crate) mod replay;
pub(crate) mod revocation;
pub(crate) mod signing;
pub(crate) mod steward;
mod transition;
