//! Revenue per minute, computed in-process: a rolling 60-second window per region
//! and currency (minor units of different currencies are never summed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Instant;

use crate::clock::Clock;
use crate::currency::Currency;
use crate::labels::LabelPolicy;
use crate::series::{pick, rehash, Padded, Stripes};

/// Length of the window, in one-second buckets.
pub(crate) const WINDOW_SECS: usize = 60;

/// Default number of regions tracked before new ones are folded into `other`.
pub(crate) const DEFAULT_MAX_REGIONS: usize = 1000;

/// One region's ring of per-second sums.
#[derive(Debug)]
struct Ring {
    sums: [u64; WINDOW_SECS],
    /// The absolute second (since the window's origin) of the newest bucket.
    head: u64,
}

fn slot(second: u64) -> usize {
    // WINDOW_SECS fits in u64 and the remainder fits in usize.
    usize::try_from(second % WINDOW_SECS as u64).unwrap_or(0)
}

impl Ring {
    fn new(now: u64) -> Self {
        Self {
            sums: [0; WINDOW_SECS],
            head: now,
        }
    }

    /// Clears the buckets that fell out of the window between `head` and `now`.
    fn advance(&mut self, now: u64) {
        if now <= self.head {
            return;
        }
        if now - self.head >= WINDOW_SECS as u64 {
            self.sums = [0; WINDOW_SECS];
        } else {
            for second in self.head + 1..=now {
                if let Some(s) = self.sums.get_mut(slot(second)) {
                    *s = 0;
                }
            }
        }
        self.head = now;
    }

    fn add(&mut self, now: u64, amount: u64) {
        self.advance(now);
        if let Some(s) = self.sums.get_mut(slot(self.head)) {
            *s = s.saturating_add(amount);
        }
    }

    fn total(&mut self, now: u64) -> u64 {
        self.advance(now);
        self.sums.iter().fold(0u64, |acc, v| acc.saturating_add(*v))
    }
}

/// The window's key: a region and a currency.
type Key = (Arc<str>, Currency);

/// One region's sums in one currency, shared between the window and the cached
/// sales of the region.
///
/// One ring until two threads collide on it; then one ring per stripe, each on
/// its own cache lines, picked by the adding thread's probe (as the counters'
/// cells do), so threads recording sales in one region do not take turns on one
/// lock. The total sums every ring.
#[derive(Debug)]
pub(crate) struct RegionSums {
    /// On lines of its own: sales in other regions write other lines.
    ring: Padded<Mutex<Ring>>,
    stripes: Stripes<Mutex<Ring>>,
}

fn lock(ring: &Mutex<Ring>) -> MutexGuard<'_, Ring> {
    // A panic elsewhere while holding the lock leaves the sums usable.
    ring.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RegionSums {
    fn new(now: u64) -> Self {
        Self {
            ring: Padded(Mutex::new(Ring::new(now))),
            stripes: Stripes::new(),
        }
    }

    #[inline]
    fn add(&self, now: u64, amount: u64) {
        if let Some(stripes) = self.stripes.get() {
            Self::add_to_stripe(stripes, now, amount);
            return;
        }
        match self.ring.0.try_lock() {
            Ok(mut ring) => ring.add(now, amount),
            Err(TryLockError::Poisoned(e)) => e.into_inner().add(now, amount),
            Err(TryLockError::WouldBlock) => self.contended(now, amount),
        }
    }

    #[cold]
    fn contended(&self, now: u64, amount: u64) {
        Self::add_to_stripe(
            self.stripes.get_or_grow(|| Mutex::new(Ring::new(now))),
            now,
            amount,
        );
    }

    #[inline]
    fn add_to_stripe(stripes: &[Padded<Mutex<Ring>>], now: u64, amount: u64) {
        let Some(stripe) = pick(stripes) else {
            return;
        };
        match stripe.try_lock() {
            Ok(mut ring) => ring.add(now, amount),
            Err(TryLockError::Poisoned(e)) => e.into_inner().add(now, amount),
            Err(TryLockError::WouldBlock) => {
                // Another thread shares this stripe: wait for it, and move on next time.
                lock(stripe).add(now, amount);
                rehash();
            }
        }
    }

    fn total(&self, now: u64) -> u64 {
        let first = lock(&self.ring.0).total(now);
        self.stripes.get().map_or(first, |stripes| {
            stripes
                .iter()
                .fold(first, |acc, s| acc.saturating_add(lock(&s.0).total(now)))
        })
    }
}

/// Per-region rolling sums with bounded memory.
///
/// An amount counts from the second it is added in until the same second of the
/// next minute: at one-second resolution, it leaves the window between 59 and 60
/// seconds after it was recorded. At most `max_regions` regions are tracked; amounts
/// for further regions are summed under `other`.
#[derive(Debug)]
pub(crate) struct RevenueWindow {
    clock: Arc<dyn Clock>,
    origin: Instant,
    max_regions: usize,
    regions: Mutex<HashMap<Key, Arc<RegionSums>>>,
}

impl RevenueWindow {
    pub(crate) fn new(clock: Arc<dyn Clock>, max_regions: usize) -> Self {
        let origin = clock.now();
        Self {
            clock,
            origin,
            max_regions: max_regions.max(1),
            regions: Mutex::new(HashMap::new()),
        }
    }

    fn second(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_secs()
    }

    fn regions(&self) -> MutexGuard<'_, HashMap<Key, Arc<RegionSums>>> {
        self.regions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sums of `region` in `currency`, created if absent (or those of `other`
    /// in that currency past the limit).
    pub(crate) fn region(&self, region: &str, currency: Currency) -> Arc<RegionSums> {
        let mut regions = self.regions();
        if let Some(sums) = regions.get(&(Arc::from(region), currency)) {
            return Arc::clone(sums);
        }
        let key: Key = if regions.len() < self.max_regions {
            (Arc::from(region), currency)
        } else {
            (Arc::from(LabelPolicy::OTHER), currency)
        };
        let now = self.second(self.clock.now());
        Arc::clone(
            regions
                .entry(key)
                .or_insert_with(|| Arc::new(RegionSums::new(now))),
        )
    }

    /// Adds `amount` to a region's sums at the instant `at` (of this window's clock).
    pub(crate) fn add_at(&self, sums: &RegionSums, at: Instant, amount: u64) {
        let now = self.second(at);
        sums.add(now, amount);
    }

    /// Adds `amount` to `region` now.
    #[cfg(test)]
    fn add(&self, region: &str, amount: u64) {
        let sums = self.region(region, Currency::USD);
        self.add_at(&sums, self.clock.now(), amount);
    }

    /// The trailing-minute sum of every tracked region and currency (0 for quiet
    /// ones), sorted by region, then currency.
    pub(crate) fn snapshot(&self) -> Vec<(Arc<str>, Currency, u64)> {
        let now = self.second(self.clock.now());
        let regions = self.regions();
        let mut out: Vec<_> = regions
            .iter()
            .map(|((region, currency), sums)| (Arc::clone(region), *currency, sums.total(now)))
            .collect();
        out.sort_unstable_by(|a, b| (&a.0, a.1.code()).cmp(&(&b.0, b.1.code())));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::time::Duration;

    fn window(max_regions: usize) -> (ManualClock, RevenueWindow) {
        let clock = ManualClock::new();
        let w = RevenueWindow::new(Arc::new(clock.clone()), max_regions);
        (clock, w)
    }

    fn totals(w: &RevenueWindow) -> Vec<(String, u64)> {
        w.snapshot()
            .into_iter()
            .map(|(k, _, v)| (k.to_string(), v))
            .collect()
    }

    #[test]
    fn an_amount_stays_in_the_window_until_the_same_second_a_minute_later() {
        let (clock, w) = window(10);
        clock.advance(Duration::from_millis(500));
        w.add("eu", 100);
        clock.advance(Duration::from_millis(59_499)); // t = 59.999 s
        assert_eq!(totals(&w), [("eu".into(), 100)]);
        clock.advance(Duration::from_millis(1)); // t = 60.000 s
        assert_eq!(totals(&w), [("eu".into(), 0)]);
    }

    #[test]
    fn sums_roll_second_by_second_and_survive_long_gaps() {
        let (clock, w) = window(10);
        for _ in 0..120 {
            w.add("us", 10);
            clock.advance(Duration::from_secs(1));
        }
        // Added at seconds 0..=119; now = 120: seconds 61..=119 remain (59 of them).
        assert_eq!(totals(&w), [("us".into(), 590)]);
        w.add("us", 5);
        assert_eq!(totals(&w), [("us".into(), 595)]);
        clock.advance(Duration::from_secs(3600));
        assert_eq!(totals(&w), [("us".into(), 0)]);
        w.add("us", 7);
        assert_eq!(totals(&w), [("us".into(), 7)]);
    }

    #[test]
    fn regions_past_the_limit_are_folded_into_other() {
        let (_clock, w) = window(2);
        w.add("a", 1);
        w.add("b", 2);
        w.add("c", 3);
        w.add("d", 4);
        w.add("a", 10);
        assert_eq!(
            totals(&w),
            [("a".into(), 11), ("b".into(), 2), ("other".into(), 7)]
        );
    }

    #[test]
    fn amounts_saturate_instead_of_overflowing() {
        let (_clock, w) = window(2);
        w.add("a", u64::MAX);
        w.add("a", 1);
        assert_eq!(totals(&w), [("a".into(), u64::MAX)]);
    }
}
