//! [`Clock`]: where "now" comes from (Unix seconds). The server uses the
//! system clock; tests use a manual one to move time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from. Tests use [`Clock::manual`] to move time.
#[derive(Debug, Default)]
pub enum Clock {
    /// The system clock (Unix seconds).
    #[default]
    System,
    /// A clock that only moves when told.
    Manual(AtomicU64),
}

impl Clock {
    /// A manual clock at `now` (Unix seconds).
    pub fn manual(now: u64) -> Self {
        Clock::Manual(AtomicU64::new(now))
    }
    /// Current time, Unix seconds.
    pub fn now(&self) -> u64 {
        match self {
            Clock::System => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            Clock::Manual(t) => t.load(Ordering::SeqCst),
        }
    }
    /// Moves a manual clock forward by `secs` (no effect on the system clock).
    pub fn advance(&self, secs: u64) {
        if let Clock::Manual(t) = self {
            t.fetch_add(secs, Ordering::SeqCst);
        }
    }
}
