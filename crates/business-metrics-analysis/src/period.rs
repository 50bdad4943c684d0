//! A series' dominant period, and the lags a lag search must not trust because of it.
//!
//! Incidents that recur every P steps make the technical series periodic. Shifted by
//! half a period it is in anti-phase with itself, so the business series lines up
//! with it as well there, with the opposite sign: a search for the strongest |r| can
//! then report that latency *raises* conversion half a period later. The rule:
//!
//! - **Dominant period**: the autocorrelation of the series at lags 2 to n/2 (each
//!   from at least the correlation's minimum of pairs) is searched for peaks (a lag
//!   whose r is at least its neighbours') with r ≥ [`MIN_PEAK_R`] that rise at least
//!   [`MIN_PEAK_RISE`] above the lowest autocorrelation at a shorter lag. White noise
//!   and trends have no such peak. Of the peaks within 0.1 of the highest, the
//!   shortest lag is the period (its multiples peak as well).
//! - **Refused lags**: with a period of P steps, a lag k ≥ 1 within P/8 steps (and
//!   always within half a step) of an odd multiple of P/2 is refused: it is not
//!   considered for the best lag, and the report says so. Lags one period apart
//!   cannot be told apart either, which the report also says.

use serde::Serialize;

use crate::client::Sample;
use crate::stats;

/// The lowest autocorrelation a peak must reach to count as a period.
pub const MIN_PEAK_R: f64 = 0.3;

/// How far a peak must rise above the lowest autocorrelation at a shorter lag.
pub const MIN_PEAK_RISE: f64 = 0.3;

/// A repeating pattern found in one series of a correlation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Periodicity {
    /// Which series repeats: `technical` or `business`.
    pub series: String,
    /// The period in steps.
    pub period_steps: usize,
    /// The period in seconds.
    pub period_seconds: f64,
    /// The series' autocorrelation at one period.
    pub autocorrelation: f64,
}

/// A series on the grid of its first timestamp every `step_ms`: `None` where a
/// sample is missing or not finite.
#[must_use]
pub fn on_grid(samples: &[Sample], step_ms: i64) -> Vec<Option<f64>> {
    let Some(first) = samples.first().map(Sample::timestamp_ms) else {
        return Vec::new();
    };
    let step_ms = step_ms.max(1);
    let index = |s: &Sample| usize::try_from((s.timestamp_ms() - first) / step_ms).ok();
    let len = samples.iter().filter_map(index).max().map_or(0, |m| m + 1);
    let mut grid = vec![None; len];
    for s in samples.iter().filter(|s| s.value.is_finite()) {
        if let Some(slot) = index(s).and_then(|i| grid.get_mut(i)) {
            *slot = Some(s.value);
        }
    }
    grid
}

/// Pearson's r of the grid with itself `lag` cells later, from at least `min_points`
/// pairs; `None` when undefined.
#[must_use]
pub fn autocorrelation(grid: &[Option<f64>], lag: usize, min_points: usize) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = grid
        .iter()
        .zip(grid.iter().skip(lag))
        .filter_map(|(a, b)| a.zip(*b))
        .unzip();
    if x.len() < min_points.max(3) {
        return None;
    }
    stats::pearson(&x, &y).ok()
}

/// The dominant period of a gridded series in cells and its autocorrelation there,
/// by the rule of this module.
#[must_use]
pub fn dominant_period(grid: &[Option<f64>], min_points: usize) -> Option<(usize, f64)> {
    let max_lag = grid.len() / 2;
    if max_lag < 3 {
        return None;
    }
    let acf: Vec<Option<f64>> = (0..=max_lag + 1)
        .map(|k| autocorrelation(grid, k, min_points))
        .collect();
    let at = |k: usize| acf.get(k).copied().flatten();
    let mut lowest = f64::INFINITY;
    let mut peaks: Vec<(usize, f64)> = Vec::new();
    for k in 1..=max_lag {
        let Some(r) = at(k) else { continue };
        let rises = at(k - 1).is_none_or(|before| r >= before);
        let falls = at(k + 1).is_none_or(|after| r >= after);
        if k >= 2 && rises && falls && r >= MIN_PEAK_R && r - lowest >= MIN_PEAK_RISE {
            peaks.push((k, r));
        }
        lowest = lowest.min(r);
    }
    let highest = peaks
        .iter()
        .map(|&(_, r)| r)
        .fold(f64::NEG_INFINITY, f64::max);
    peaks.into_iter().find(|&(_, r)| r >= highest - 0.1)
}

/// Whether `lag` is refused under a period of `period` steps: within P/8 (at least
/// half a step) of an odd multiple of P/2. Lag 0 is never refused.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn near_half_period(lag: usize, period: usize) -> bool {
    if lag == 0 || period == 0 {
        return false;
    }
    let p = period as f64;
    let in_periods = lag as f64 / p;
    let distance = (in_periods.fract() - 0.5).abs() * p;
    distance <= (p / 8.0).max(0.5)
}

/// Lags `0..=max_lag` refused under `period`, as inclusive ranges.
#[must_use]
pub fn refused_ranges(max_lag: usize, period: usize) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for lag in (0..=max_lag).filter(|&k| near_half_period(k, period)) {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == lag => *end = lag,
            _ => ranges.push((lag, lag)),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(values: &[f64]) -> Vec<Option<f64>> {
        values.iter().copied().map(Some).collect()
    }

    /// On for `on` of every `period` cells, with a small deterministic wobble.
    fn incidents(period: usize, on: usize, n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let wobble = f64::from(u32::try_from((i * 7) % 5).unwrap_or(0)) * 0.01;
                if i % period < on {
                    1.0 + wobble
                } else {
                    wobble
                }
            })
            .collect()
    }

    #[test]
    fn recurring_incidents_have_their_period() {
        let found = dominant_period(&grid(&incidents(10, 1, 120)), 10);
        assert_eq!(found.map(|(p, _)| p), Some(10));
        let found = dominant_period(&grid(&incidents(8, 4, 120)), 10);
        assert_eq!(found.map(|(p, _)| p), Some(8));
    }

    #[test]
    fn noise_and_trends_have_no_period() {
        let mut state = 42_u64;
        let noise: Vec<f64> = (0..180)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                f64::from(u32::try_from(state >> 40).unwrap_or(0))
            })
            .collect();
        assert_eq!(dominant_period(&grid(&noise), 10), None);
        let trend: Vec<f64> = (0..100).map(|i| f64::from(i) * 0.5).collect();
        assert_eq!(dominant_period(&grid(&trend), 10), None);
    }

    #[test]
    fn lags_near_half_a_period_are_refused() {
        assert_eq!(refused_ranges(20, 8), [(3, 5), (11, 13), (19, 20)]);
        assert_eq!(refused_ranges(20, 10), [(4, 6), (14, 16)]);
        assert_eq!(refused_ranges(6, 2), [(1, 1), (3, 3), (5, 5)]);
        assert!(!near_half_period(0, 2));
    }

    #[test]
    fn gaps_stay_gaps_on_the_grid() {
        let samples: Vec<Sample> = [0.0, 60.0, 180.0]
            .iter()
            .map(|&t| Sample {
                timestamp: 1_000.0 + t,
                value: t,
            })
            .collect();
        assert_eq!(
            on_grid(&samples, 60_000),
            [Some(0.0), Some(60.0), None, Some(180.0)]
        );
    }
}
