//! Time sources: the system's monotonic clock, or a manual one for exact tests.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A monotonic time source.
///
/// Session starts, time to conversion, session durations and the revenue-per-minute
/// window all read the clock of the [`BusinessMetrics`](crate::BusinessMetrics) they
/// belong to, so a test can drive them exactly with a [`ManualClock`].
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant. Must never go backwards.
    fn now(&self) -> Instant;

    /// The current instant, allowed to be off by a few milliseconds in exchange
    /// for a cheaper read. The revenue-per-minute window, which counts whole
    /// seconds, reads this when a sale is recorded on its own. By default, [`now`](Self::now).
    fn now_coarse(&self) -> Instant {
        self.now()
    }
}

/// The system's monotonic clock ([`Instant::now`]).
///
/// [`now_coarse`](Clock::now_coarse) reads the kernel's coarse monotonic clock
/// (`CLOCK_MONOTONIC_COARSE` on Linux), which is a few times cheaper than
/// [`Instant::now`] and advances once per scheduler tick (1 to 10 ms).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    #[inline]
    fn now_coarse(&self) -> Instant {
        // Both clocks count the same monotonic time; the coarse one lags by up to a
        // tick. Anchoring them once maps coarse readings onto `Instant`s.
        static ANCHOR: OnceLock<(Instant, coarsetime::Instant)> = OnceLock::new();
        // `now_without_cache_update`: `now` would also store the reading in a
        // process-wide cell, a shared cache line every recording thread would write.
        let (at, coarse_at) = *ANCHOR.get_or_init(|| {
            (
                Instant::now(),
                coarsetime::Instant::now_without_cache_update(),
            )
        });
        let since = coarsetime::Instant::now_without_cache_update().duration_since(coarse_at);
        at.checked_add(Duration::from(since))
            .unwrap_or_else(Instant::now)
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Clone, Debug)]
pub struct ManualClock {
    origin: Instant,
    elapsed_nanos: Arc<AtomicU64>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A clock standing at an arbitrary origin.
    #[must_use]
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            elapsed_nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .elapsed_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(nanos))
            });
    }

    /// Time since the clock's origin.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed_nanos.load(Ordering::SeqCst))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_system_clock_stays_within_a_tick_of_the_precise_one() {
        let clock = SystemClock;
        let slack = Duration::from_millis(50);
        let mut last = clock.now_coarse();
        for _ in 0..10_000 {
            let before = Instant::now();
            let coarse = clock.now_coarse();
            let after = Instant::now();
            assert!(coarse + slack >= before, "{coarse:?} lags {before:?}");
            assert!(coarse <= after + slack, "{coarse:?} leads {after:?}");
            assert!(coarse >= last, "went backwards");
            last = coarse;
        }
    }

    #[test]
    fn a_manual_clock_reads_the_same_coarse_or_not() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_millis(1_234));
        assert_eq!(clock.now_coarse(), clock.now());
    }

    #[test]
    fn manual_clock_moves_only_when_advanced_and_clones_share_time() {
        let clock = ManualClock::new();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        let other = clock.clone();
        other.advance(Duration::from_millis(1500));
        assert_eq!(clock.now() - t0, Duration::from_millis(1500));
        assert_eq!(clock.elapsed(), Duration::from_millis(1500));
    }
}
