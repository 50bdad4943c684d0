//! Counts that many threads add to at once without sharing a cache line.
//!
//! A [`StripedU64`] starts as one atomic. The first time two threads collide on it
//! (a compare-and-swap that loses), it grows stripes: one atomic per cache line, as
//! many as the machine runs threads at once (a power of two, at most
//! [`MAX_STRIPES`]). From then on each thread adds to the stripe its probe picks,
//! and a thread that collides there moves to another stripe. A reader sums the
//! atomic and every stripe. So a series nobody contends costs one word, a contended
//! one a fixed number of lines, and no line is written by every core.
//!
//! Every add lands in exactly one atomic, and every atomic only grows (modulo
//! 2^64, as the SDK's own sums wrap), so a sum read while others add holds every
//! add that finished before the read began, and a later read never reports less.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;

/// The most stripes a contended cell grows.
pub(crate) const MAX_STRIPES: usize = 64;

/// One atomic on a cache line of its own (two lines on x86-64, whose prefetcher
/// fetches lines in pairs).
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
#[derive(Debug, Default)]
pub(crate) struct Padded<T>(pub(crate) T);

/// How many stripes a contended cell gets: the threads the machine runs at once,
/// rounded up to a power of two, between 2 and [`MAX_STRIPES`].
fn stripe_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(2, std::num::NonZeroUsize::get)
            .clamp(2, MAX_STRIPES)
            .next_power_of_two()
    })
}

thread_local! {
    /// This thread's probe: which stripe it adds to (0 until first use).
    static PROBE: Cell<u32> = const { Cell::new(0) };
}

/// Hands out the first probe of each thread: consecutive threads start on
/// consecutive stripes.
static NEXT_PROBE: AtomicU32 = AtomicU32::new(1);

/// This thread's probe, never 0.
#[inline]
fn probe() -> u32 {
    PROBE
        .try_with(|p| {
            let v = p.get();
            if v != 0 {
                return v;
            }
            let v = NEXT_PROBE.fetch_add(1, Ordering::Relaxed).max(1);
            p.set(v);
            v
        })
        // During thread teardown the slot is gone: any stripe is correct.
        .unwrap_or(1)
}

/// Moves this thread to another stripe after it collided on one (a xorshift step,
/// so threads that collided once spread apart).
#[cold]
pub(crate) fn rehash() {
    let _ = PROBE.try_with(|p| {
        let mut v = p.get().max(1);
        v ^= v << 13;
        v ^= v >> 17;
        v ^= v << 5;
        p.set(v.max(1));
    });
}

/// The index a probe picks among `len` stripes (a power of two).
#[inline]
fn index(probe: u32, len: usize) -> usize {
    usize::try_from(probe).unwrap_or(0) & len.wrapping_sub(1)
}

/// The stripes a contended value grows, [`stripe_count`] of them, each on lines of
/// its own; none until the first collision.
pub(crate) struct Stripes<T>(OnceLock<Box<[Padded<T>]>>);

impl<T> Stripes<T> {
    pub(crate) const fn new() -> Self {
        Self(OnceLock::new())
    }

    /// The stripes, if grown.
    #[inline]
    pub(crate) fn get(&self) -> Option<&[Padded<T>]> {
        self.0.get().map(|s| &**s)
    }

    /// The stripes, grown with `make` on first use.
    pub(crate) fn get_or_grow(&self, mut make: impl FnMut() -> T) -> &[Padded<T>] {
        self.0
            .get_or_init(|| (0..stripe_count()).map(|_| Padded(make())).collect())
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Stripes<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The stripe this thread's probe picks.
#[inline]
pub(crate) fn pick<T>(stripes: &[Padded<T>]) -> Option<&T> {
    stripes.get(index(probe(), stripes.len())).map(|s| &s.0)
}

/// A `u64` sum that threads add to without contending: see the module docs.
pub(crate) struct StripedU64 {
    base: AtomicU64,
    stripes: Stripes<AtomicU64>,
}

impl StripedU64 {
    pub(crate) const fn new() -> Self {
        Self {
            base: AtomicU64::new(0),
            stripes: Stripes::new(),
        }
    }

    /// Adds `value` (wrapping at 2^64).
    #[inline]
    pub(crate) fn add(&self, value: u64) {
        if let Some(stripes) = self.stripes.get() {
            Self::add_to(stripes, value);
            return;
        }
        let current = self.base.load(Ordering::Relaxed);
        if self
            .base
            .compare_exchange(
                current,
                current.wrapping_add(value),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            self.contended(value);
        }
    }

    #[cold]
    fn contended(&self, value: u64) {
        Self::add_to(self.stripes.get_or_grow(|| AtomicU64::new(0)), value);
    }

    #[inline]
    fn add_to(stripes: &[Padded<AtomicU64>], value: u64) {
        let Some(stripe) = pick(stripes) else {
            return;
        };
        let current = stripe.load(Ordering::Relaxed);
        if stripe
            .compare_exchange(
                current,
                current.wrapping_add(value),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // Another thread shares this stripe: add anyway, and move on next time.
            stripe.fetch_add(value, Ordering::Relaxed);
            rehash();
        }
    }

    /// The sum of every add so far.
    pub(crate) fn sum(&self) -> u64 {
        let base = self.base.load(Ordering::Relaxed);
        self.stripes.get().map_or(base, |stripes| {
            stripes
                .iter()
                .fold(base, |acc, s| acc.wrapping_add(s.0.load(Ordering::Relaxed)))
        })
    }

    /// Whether the cell grew stripes.
    #[cfg(test)]
    pub(crate) fn is_striped(&self) -> bool {
        self.stripes.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn sums_are_exact_across_threads_that_come_and_go() {
        let cell = StripedU64::new();
        // 64 short-lived threads in waves of 8, each adding its own amounts, while a
        // reader checks that the sum never goes back.
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut last = 0;
                while !done.load(Ordering::Relaxed) {
                    let now = cell.sum();
                    assert!(now >= last, "{now} < {last}");
                    last = now;
                }
            });
            for wave in 0..8u64 {
                let barrier = Barrier::new(8);
                std::thread::scope(|w| {
                    for t in 0..8u64 {
                        let (cell, barrier) = (&cell, &barrier);
                        w.spawn(move || {
                            barrier.wait();
                            for i in 0..10_000u64 {
                                cell.add(wave * 8 + t + i % 3);
                            }
                        });
                    }
                });
            }
            done.store(true, Ordering::Relaxed);
        });
        let expected: u64 = (0..64u64)
            .map(|k| (0..10_000u64).map(|i| k + i % 3).sum::<u64>())
            .sum();
        assert_eq!(cell.sum(), expected);
    }

    #[test]
    fn one_thread_never_grows_stripes() {
        let cell = StripedU64::new();
        for _ in 0..1_000 {
            cell.add(2);
        }
        assert_eq!(cell.sum(), 2_000);
        assert!(!cell.is_striped());
    }

    #[test]
    fn stripe_counts_are_powers_of_two_within_bounds() {
        let n = stripe_count();
        assert!(n.is_power_of_two() && (2..=MAX_STRIPES).contains(&n), "{n}");
        for probe in [1, 2, 3, u32::MAX] {
            assert!(index(probe, n) < n);
        }
    }

    #[test]
    fn sums_wrap_as_the_sdk_sums_do() {
        let cell = StripedU64::new();
        cell.add(u64::MAX);
        cell.add(2);
        assert_eq!(cell.sum(), 1);
    }
}
