//! A signed action takes effect at most once: the pair (actor, nonce) of
//! its envelope is written as a [`SpentNonce`] record in the SAME atomic
//! batch as the action's changes, and an envelope whose pair is already
//! there is refused with 409 `replayed` (`docs/DOMAIN.md`, "Signed actions").
//!
//! How: every public operation that takes a [`Signed`] value runs its body
//! through [`CommonsManager::once`]. That marks the nonce as pending for
//! the calling thread while the body runs; the body's commit of the action
//! ([`CommonsManager::commit`]) adds the nonce record to its batch, with the
//! precondition that the record is absent. A second use therefore cannot
//! commit: its batch conflicts (or its rules refuse it first, the state
//! having moved on), and whichever way it fails, `once` then finds the
//! nonce spent and answers `replayed`. Housekeeping commits that a refused action may make on its way
//! (deleting an expired enrollment session before answering 410) go straight
//! to the store and carry no nonce, so a refused action spends nothing.
//!
//! **Invariants:** a nonce is spent if and only if its action's changes
//! were committed (or, for an action that changed nothing, right after it
//! succeeded); two uses of one envelope, in one process or in two gateways on
//! one database, cannot both take effect: both batches require the same
//! record to be absent, the second conflicts, and its re-run finds the nonce
//! spent. Nonce records are kept until the envelope's `expires` plus the
//! allowed clock skew (after which this gateway refuses the envelope as
//! expired) plus [`SPENT_NONCE_GRACE_SECS`] (so that another gateway on the
//! same database whose clock is behind, or whose skew setting is larger,
//! still finds the nonce while it could still accept the envelope), and then
//! swept. Envelope times and `keep_until` are wall-clock seconds, not
//! the manager's [`Clock`] (which tests move to age records).
//!
//! [`Clock`]: super::Clock

use std::cell::RefCell;

use super::{Changes, CommonsError, CommonsManager, CommonsResult};
use crate::backend::CommonsStoreBackend;
use crate::model::error::{ConflictCode, Refusal};
use crate::model::replay::SpentNonce;
use crate::model::signing::{Action, EnvelopeError, Signed, SignedEnvelope};
use crate::store::Due;

/// Seconds a spent nonce is kept beyond the moment this gateway stops
/// accepting its envelope (`expires` + its clock skew): one hour. Gateways
/// sharing a database keep a replay refused as long as their clocks differ
/// by less than this, less the difference of their `--max-clock-skew-secs`
/// settings (each at most 600 s), so at least 50 minutes.
pub const SPENT_NONCE_GRACE_SECS: u64 = 3600;

thread_local! {
    /// The nonces of the signed operations running on this thread, innermost
    /// last. Usually one; more when a signed operation of one manager runs
    /// inside another's (a test's backend hook acting as a second gateway).
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

struct Pending {
    /// The manager running the operation (its address: it cannot move while
    /// borrowed by the call), so one manager's commit never carries
    /// another's nonce.
    owner: usize,
    record: SpentNonce,
    /// The record went into a committed batch.
    written: bool,
}

/// Removes the operation's entry when it ends, however it ends.
struct PendingGuard {
    depth: usize,
}

impl PendingGuard {
    fn push(owner: usize, record: SpentNonce) -> Self {
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.push(Pending { owner, record, written: false });
            PendingGuard { depth: p.len() }
        })
    }

    fn written(&self) -> bool {
        PENDING.with(|p| p.borrow().get(self.depth - 1).is_some_and(|p| p.written))
    }
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        PENDING.with(|p| p.borrow_mut().truncate(self.depth - 1));
    }
}

/// The innermost unspent nonce of `owner`'s running signed operation.
fn pending_of(owner: usize) -> Option<SpentNonce> {
    PENDING
        .with(|p| p.borrow().iter().rev().find(|p| p.owner == owner).filter(|p| !p.written).map(|p| p.record.clone()))
}

/// Marks `owner`'s innermost pending nonce as written.
fn mark_written(owner: usize) {
    PENDING.with(|p| {
        if let Some(p) = p.borrow_mut().iter_mut().rev().find(|p| p.owner == owner) {
            p.written = true;
        }
    });
}

/// Wall-clock time, Unix seconds: what envelope windows are checked against.
fn wall_now() -> u64 {
    super::Clock::System.now()
}

fn replayed(record: &SpentNonce) -> CommonsError {
    Refusal::conflict(
        ConflictCode::Replayed,
        format!(
            "this envelope was already used (actor {}, nonce {}); sign a new one with a fresh nonce",
            record.actor, record.nonce
        ),
    )
    .into()
}

impl<S: CommonsStoreBackend> CommonsManager<S> {
    /// Verifies `envelope` for action `A` on `target` under this manager's
    /// [`EnvelopePolicy`](crate::model::signing::EnvelopePolicy) at the
    /// wall clock (see [`SignedEnvelope::open`]). The nonce is not looked at
    /// here: the operation that takes the [`Signed`] value spends it.
    ///
    /// # Errors
    /// As [`SignedEnvelope::open`].
    pub fn open_envelope<A: Action>(
        &self,
        envelope: &SignedEnvelope,
        target: &str,
    ) -> Result<Signed<A>, EnvelopeError> {
        envelope.open(target, &self.envelopes, wall_now())
    }

    /// Runs the body of a signed operation so that its nonce is spent
    /// exactly when the action takes effect (see the module docs).
    ///
    /// # Errors
    /// `Conflict` `replayed` when (actor, nonce) was spent before (nothing
    /// changed); the body's own errors (nothing spent).
    pub(super) fn once<A: Action, T>(
        &self,
        signed: &Signed<A>,
        body: impl FnOnce() -> CommonsResult<T>,
    ) -> CommonsResult<T> {
        let record = SpentNonce {
            nonce_id: SpentNonce::id_of(&signed.actor, &signed.nonce),
            actor: signed.actor.clone(),
            nonce: signed.nonce.clone(),
            action: A::ACTION.to_string(),
            target: signed.target.clone(),
            spent_at: wall_now(),
            keep_until: signed
                .expires
                .saturating_add(self.envelopes.max_clock_skew_secs)
                .saturating_add(SPENT_NONCE_GRACE_SECS),
        };
        // No read of the nonce first: a second use cannot commit (its batch
        // requires the record absent), and every way it fails below asks
        // whether the nonce is spent, so a first use pays no extra read.
        let guard = PendingGuard::push(self.owner_id(), record.clone());
        let result = body();
        let written = guard.written();
        drop(guard);
        match result {
            Ok(value) if written => Ok(value),
            Ok(value) => {
                // The action changed nothing: spend the nonce on its own.
                let mut changes = Changes::new();
                changes.put(&record, None)?;
                match self.store.commit(changes) {
                    Ok(()) => Ok(value),
                    Err(e) if e.is_conflict() => Err(replayed(&record)),
                    Err(e) => Err(e.into()),
                }
            }
            // Refused or conflicted: when another use of this envelope took
            // effect meanwhile (it raced this one, on this gateway or
            // another), that is the answer, not the rule the race tripped.
            Err(refusal @ CommonsError::Refused(_)) => {
                self.refuse_spent(&record)?;
                Err(refusal)
            }
            Err(CommonsError::Store(e)) if e.is_conflict() => {
                self.refuse_spent(&record)?;
                Err(e.into())
            }
            // Any other store error (503): the batch may have been committed
            // before the connection broke; the client learns which by sending
            // the same envelope again (`replayed`: it was).
            Err(e) => Err(e),
        }
    }

    /// This manager's identity for [`PENDING`]: its address.
    fn owner_id(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// `Conflict` `replayed` when `record`'s nonce is spent.
    fn refuse_spent(&self, record: &SpentNonce) -> CommonsResult<()> {
        match self.store.get::<SpentNonce>(&record.nonce_id)? {
            Some(_) => Err(replayed(record)),
            None => Ok(()),
        }
    }

    /// Before a re-run of a read-modify-write ([`CommonsManager::exclusive`]):
    /// the conflict may have been another use of the same envelope.
    pub(super) fn refuse_replay_on_rerun(&self) -> CommonsResult<()> {
        match pending_of(self.owner_id()) {
            Some(record) => self.refuse_spent(&record),
            None => Ok(()),
        }
    }

    /// Commits the changes of an action as ONE atomic batch, with the
    /// running signed operation's nonce record (required absent) when it has
    /// not been spent yet. Every action commit goes through here;
    /// housekeeping commits (sweeps, deleting an expired session) call the
    /// store directly.
    ///
    /// # Errors
    /// Store errors (`Conflict` included); nothing was written and the nonce
    /// is still unspent.
    pub(super) fn commit(&self, mut changes: Changes) -> CommonsResult<()> {
        let pending = pending_of(self.owner_id());
        if let Some(record) = &pending {
            changes.put(record, None)?;
        }
        self.store.commit(changes)?;
        if pending.is_some() {
            mark_written(self.owner_id());
        }
        Ok(())
    }

    /// Deletes the spent-nonce records whose `keep_until` has passed (by
    /// then their envelopes are refused as expired), one batch each; returns
    /// how many (the server's periodic sweep).
    ///
    /// # Errors
    /// Store errors (records deleted before the error stay deleted).
    pub fn sweep_spent_nonces(&self) -> CommonsResult<usize> {
        let now = wall_now();
        let mut deleted = 0;
        self.store.for_each_due(Due::SpentNonces, now, |id| -> CommonsResult<()> {
            if let Some(record) = self.store.get::<SpentNonce>(id)? {
                if record.keep_until < now {
                    let mut changes = Changes::new();
                    changes.delete(&record)?;
                    match self.store.commit(changes) {
                        Ok(()) => deleted += 1,
                        // Another gateway's sweep deleted it first.
                        Err(e) if e.is_conflict() => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Ok(())
        })?;
        Ok(deleted)
    }
}
