//! Running one scenario: N client threads, each with state of its own, start
//! together (a barrier) and repeat their step until the time is up or a step
//! says there is nothing left to do; their recorders are merged into one
//! [`Outcome`].
//!
//! **Invariant:** every thread is joined before [`run`] returns, also when
//! one failed to set up; the elapsed time runs from the common start to the
//! last thread's end, so throughput counts every thread's work.

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use crate::stats::{Outcome, Recorder};

/// What a client does after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on while there is time.
    Go,
    /// Stop: nothing left to do (every voter voted, every member loaded).
    Stop,
}

/// Runs scenario `name` with `clients` threads for at most `duration`.
/// Thread `i` gets its state from `make(i)` before the common start, then
/// calls `step(&mut state, &mut recorder)` until the time is up or it
/// answers [`Flow::Stop`]. Returns the merged outcome and each thread's
/// final state, in thread order.
///
/// # Errors
/// The first `make` failure (after every thread was joined), or a thread
/// that panicked.
pub fn run<S, M, F>(name: &str, clients: usize, duration: Duration, make: M, step: F) -> Result<(Outcome, Vec<S>)>
where
    S: Send,
    M: Fn(usize) -> Result<S> + Sync,
    F: Fn(&mut S, &mut Recorder) -> Flow + Sync,
{
    let barrier = Barrier::new(clients);
    let results: Vec<Result<(Recorder, Duration, S)>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                let (barrier, make, step) = (&barrier, &make, &step);
                scope.spawn(move || -> Result<(Recorder, Duration, S)> {
                    let made = make(i).and_then(|state| Ok((state, Recorder::new()?)));
                    barrier.wait();
                    let (mut state, mut recorder) = made?;
                    let start = Instant::now();
                    while start.elapsed() < duration {
                        if step(&mut state, &mut recorder) == Flow::Stop {
                            break;
                        }
                    }
                    Ok((recorder, start.elapsed(), state))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|_| Err(anyhow!("a client thread of `{name}` panicked"))))
            .collect()
    });
    let mut recorders = Vec::with_capacity(clients);
    let mut states = Vec::with_capacity(clients);
    let mut elapsed = Duration::ZERO;
    for result in results {
        let (recorder, took, state) = result?;
        elapsed = elapsed.max(took);
        recorders.push(recorder);
        states.push(state);
    }
    Ok((Outcome::merge(name, clients, elapsed, recorders)?, states))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_keeps_its_state_and_stops_when_told() -> Result<()> {
        let (outcome, states) = run(
            "count",
            3,
            Duration::from_secs(600),
            |i| Ok((i, 0u32)),
            |(i, done), recorder| {
                *done += 1;
                recorder.ok(Duration::from_micros(10));
                if *done == (*i as u32 + 1) * 2 {
                    Flow::Stop
                } else {
                    Flow::Go
                }
            },
        )?;
        assert_eq!(states, [(0, 2), (1, 4), (2, 6)]);
        assert_eq!((outcome.name.as_str(), outcome.clients, outcome.ops), ("count", 3, 12));
        Ok(())
    }

    #[test]
    fn a_failed_setup_fails_the_run_after_every_thread_ended() {
        let result = run(
            "setup",
            4,
            Duration::from_secs(600),
            |i| if i == 2 { Err(anyhow!("no key for client 2")) } else { Ok(()) },
            |_, _| Flow::Stop,
        );
        assert_eq!(result.err().map(|e| e.to_string()), Some("no key for client 2".to_string()));
    }
}
