//! [`Transitions`]: the one way a record's status moves. A transition names
//! its action, says which current statuses allow it, and gives the next
//! status; anything else is refused with [`Refusal::InvalidTransition`]
//! naming the record, its current status and the action, and the record is
//! left unchanged (`docs/DOMAIN.md`, "Transitions").

use super::error::Refusal;

/// A record whose `status` moves through a transition table.
pub(crate) trait Transitions {
    /// The status type.
    type Status;
    /// Entity name in refusals (`anchor`, `steward`, ...).
    const ENTITY: &'static str;
    /// The record's id.
    fn record_id(&self) -> &str;
    /// The current status.
    fn status(&self) -> &Self::Status;
    /// The current status's variant name.
    fn status_name(&self) -> &'static str;
    /// Sets the status and `updated_at`.
    fn set_status(&mut self, status: Self::Status, now: u64);

    /// `InvalidTransition`: the record's current status does not allow
    /// `action`.
    fn refuse(&self, action: &'static str) -> Refusal {
        Refusal::InvalidTransition {
            entity: Self::ENTITY,
            id: self.record_id().to_string(),
            from: self.status_name().into(),
            action,
        }
    }

    /// Moves to `next` at `now` when `allowed` accepts the current status.
    ///
    /// # Errors
    /// `InvalidTransition` naming `action` otherwise (nothing changed).
    fn transition(
        &mut self,
        action: &'static str,
        allowed: impl FnOnce(&Self::Status) -> bool,
        next: Self::Status,
        now: u64,
    ) -> Result<(), Refusal> {
        if !allowed(self.status()) {
            return Err(self.refuse(action));
        }
        self.set_status(next, now);
        Ok(())
    }
}

/// Implements [`Transitions`] for a record with fields `status`,
/// `updated_at` and the id field named, whose status type has `name()`.
macro_rules! transitions {
    ($record:ty, $status:ty, $entity:literal, $id:ident) => {
        impl $crate::model::transition::Transitions for $record {
            type Status = $status;
            const ENTITY: &'static str = $entity;
            fn record_id(&self) -> &str {
                &self.$id
            }
            fn status(&self) -> &$status {
                &self.status
            }
            fn status_name(&self) -> &'static str {
                self.status.name()
            }
            fn set_status(&mut self, status: $status, now: u64) {
                self.status = status;
                self.updated_at = now;
            }
        }
    };
}
pub(crate) use transitions;
