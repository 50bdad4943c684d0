//! The correlogram of a correlation (r at every lag searched) and the pairs behind
//! it, for charts and for the lag search of [`analyze`](crate::analyze).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::client::Sample;

/// Pearson's r at one lag of the search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LagCorrelation {
    /// Steps the business series trails the technical one.
    pub lag_steps: usize,
    /// The same in seconds.
    pub lag_seconds: f64,
    /// Pairs at this lag.
    pub points: usize,
    /// Pearson's r, `None` where undefined (too few pairs, a constant stretch).
    pub r: Option<f64>,
    /// Whether the lag was refused for lying near half a dominant period
    /// (see [`Periodicity`](crate::period::Periodicity)).
    pub refused: bool,
}

/// Pairs technical samples with business samples `lag_ms` later, dropping timestamps
/// missing from either series and non-finite values.
pub(crate) fn aligned(
    technical: &[Sample],
    business: &BTreeMap<i64, f64>,
    lag_ms: i64,
) -> (Vec<f64>, Vec<f64>) {
    technical
        .iter()
        .filter(|s| s.value.is_finite())
        .filter_map(|s| {
            business
                .get(&(s.timestamp_ms() + lag_ms))
                .map(|&b| (s.value, b))
        })
        .unzip()
}

/// The pairs (technical at t, business at t + `lag_steps`·`step`) that [`analyze`](crate::analyze)
/// correlates at that lag: the points of a scatter plot.
#[must_use]
pub fn aligned_pairs(
    technical: &[Sample],
    business: &[Sample],
    step: Duration,
    lag_steps: usize,
) -> (Vec<f64>, Vec<f64>) {
    aligned(technical, &by_time(business), lag_ms(step, lag_steps))
}

pub(crate) fn by_time(samples: &[Sample]) -> BTreeMap<i64, f64> {
    samples
        .iter()
        .filter(|s| s.value.is_finite())
        .map(|s| (s.timestamp_ms(), s.value))
        .collect()
}

pub(crate) fn step_ms(step: Duration) -> i64 {
    i64::try_from(step.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn lag_ms(step: Duration, lag_steps: usize) -> i64 {
    i64::try_from(lag_steps)
        .unwrap_or(i64::MAX)
        .saturating_mul(step_ms(step))
}
