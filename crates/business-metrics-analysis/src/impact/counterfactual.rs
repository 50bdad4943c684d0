//! The counterfactual: what a figure would have been in the window had nothing
//! happened, from the same window on earlier days and weeks scaled to the level just
//! before the window, with a prediction interval from how well that method predicts
//! the earlier windows themselves.

use serde::Serialize;

/// The two-sided confidence of the prediction interval.
pub const CONFIDENCE: f64 = 0.95;

/// Whether an earlier window lies whole days or whole weeks back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceKind {
    /// 1 to `days` days back: the same time of day.
    Day,
    /// 1 to `weeks` weeks back: the same time on the same weekday.
    Week,
}

/// An earlier window: the incident's window and baseline moved back by whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Reference {
    /// How many days back (7 for one week back).
    pub days_back: u32,
    /// A day or a week back.
    pub kind: ReferenceKind,
}

impl Reference {
    /// The references of `days` days and `weeks` weeks back, nearest first. A day that
    /// is a whole number of weeks back within `weeks` is a week reference, so no
    /// window is counted twice (`days` 7 and `weeks` 4 give 6 days and 4 weeks).
    #[must_use]
    pub fn set(days: u32, weeks: u32) -> Vec<Self> {
        let is_week = |d: u32| d.is_multiple_of(7) && d / 7 <= weeks;
        let mut all: Vec<Self> = (1..=days)
            .filter(|&d| !is_week(d))
            .map(|days_back| Self {
                days_back,
                kind: ReferenceKind::Day,
            })
            .chain((1..=weeks).map(|w| Self {
                days_back: w.saturating_mul(7),
                kind: ReferenceKind::Week,
            }))
            .collect();
        all.sort_unstable();
        all
    }
}

/// A figure's increase over an earlier window and over that window's baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReferenceReading {
    /// Which earlier window.
    #[serde(flatten)]
    pub reference: Reference,
    /// The increase over the window then.
    pub window: f64,
    /// The increase over its baseline then.
    pub baseline: f64,
}

impl ReferenceReading {
    /// Whether the reading can be scaled: both increases finite, the window's at
    /// least 0 and the baseline's above 0.
    fn usable(&self) -> bool {
        self.window.is_finite()
            && self.window >= 0.0
            && self.baseline.is_finite()
            && self.baseline > 0.0
    }

    /// This window scaled to another baseline level: `window · baseline / self.baseline`.
    fn scaled_to(&self, baseline: f64) -> f64 {
        self.window * (baseline / self.baseline)
    }
}

/// One earlier window as the estimate used it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScaledReference {
    /// The reading.
    #[serde(flatten)]
    pub reading: ReferenceReading,
    /// Its window scaled by the current baseline over its own: its estimate of the
    /// incident's window.
    pub estimate: f64,
    /// How far off the method was predicting this window from the other references:
    /// actual over prediction minus 1 (`None` when the prediction was 0).
    pub holdout_error: Option<f64>,
}

/// The expectation of a figure over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The expected increase: the median of the references' estimates.
    pub expected: f64,
    /// The lower end of the 95 % prediction interval (at least 0).
    pub low: f64,
    /// The upper end.
    pub high: f64,
    /// Day references used.
    pub days_used: usize,
    /// Week references used.
    pub weeks_used: usize,
    /// The root mean square of the hold-out errors (relative).
    pub holdout_rms: f64,
    /// The Student t quantile the interval used (97.5 %, hold-outs − 1 degrees of
    /// freedom).
    pub t: f64,
    /// The references used, nearest first.
    pub references: Vec<ScaledReference>,
}

impl Estimate {
    /// References used.
    #[must_use]
    pub fn references_used(&self) -> usize {
        self.days_used + self.weeks_used
    }
}

/// What can be said about a figure's expected value over the window.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expectation {
    /// Enough history: an estimate with an interval.
    Estimated(Estimate),
    /// Fewer earlier windows have data than the estimate needs.
    HistoryTooShort {
        /// Earlier windows with data in the window and above 0 in their baseline.
        with_data: usize,
        /// At least this many are needed.
        needed: usize,
        /// Earlier windows asked for.
        requested: usize,
    },
    /// Nothing was recorded in the baseline just before the window, so the earlier
    /// windows cannot be scaled to the current level.
    NoBaseline,
}

impl Expectation {
    /// The estimate, when there is one.
    #[must_use]
    pub fn estimate(&self) -> Option<&Estimate> {
        match self {
            Self::Estimated(e) => Some(e),
            Self::HistoryTooShort { .. } | Self::NoBaseline => None,
        }
    }

    /// `estimated`, `history_too_short` or `no_baseline`.
    #[must_use]
    pub fn status(&self) -> &'static str {
        match self {
            Self::Estimated(_) => "estimated",
            Self::HistoryTooShort { .. } => "history_too_short",
            Self::NoBaseline => "no_baseline",
        }
    }
}

/// Estimates a figure's increase over the window from `readings` of earlier windows,
/// given its increase over the current baseline (`None` when it had no data there).
///
/// The method, exactly:
///
/// 1. A reading is usable when its window's increase is finite and ≥ 0 and its
///    baseline's is finite and > 0. With fewer than `min_references` usable readings
///    the history is too short ([`Expectation::HistoryTooShort`]); with a current
///    baseline that is missing or 0 there is no level to scale to
///    ([`Expectation::NoBaseline`]).
/// 2. Each usable reading r estimates the window as `E_r = w_r · b₀ / b_r`, its
///    window's increase scaled by the current baseline's over its own.
/// 3. The expectation is the median of the `E_r` (robust to an earlier window that
///    had an incident of its own).
/// 4. Hold-out: each usable reading r is predicted from the others exactly so, with
///    its own baseline as the level, `P_r = median_{s≠r}(w_s · b_r / b_s)`, and its
///    relative error is `e_r = w_r / P_r − 1` (skipped when `P_r` is 0).
/// 5. With `s = √(mean e_r²)` over the m hold-outs (errors around 0, so a bias
///    widens the interval instead of being hidden) and `t` the 97.5 % quantile of
///    Student's t with m − 1 degrees of freedom, the 95 % prediction interval is
///    `expected · [max(0, 1 − t·s), 1 + t·s]`.
///
/// Each hold-out error contains the same noise the real estimate meets: the
/// predicted window's own, its baseline's, and the other windows'. `min_references`
/// below 3 is raised to 3, the fewest a hold-out needs.
#[must_use]
pub fn estimate(
    current_baseline: Option<f64>,
    readings: &[ReferenceReading],
    min_references: usize,
    requested: usize,
) -> Expectation {
    let usable: Vec<ReferenceReading> = readings
        .iter()
        .copied()
        .filter(ReferenceReading::usable)
        .collect();
    let needed = min_references.max(3);
    if usable.len() < needed {
        return Expectation::HistoryTooShort {
            with_data: usable.len(),
            needed,
            requested,
        };
    }
    let Some(b0) = current_baseline.filter(|b| b.is_finite() && *b > 0.0) else {
        return Expectation::NoBaseline;
    };
    let estimates: Vec<f64> = usable.iter().map(|r| r.scaled_to(b0)).collect();
    let Some(expected) = median(estimates.clone()) else {
        return Expectation::HistoryTooShort {
            with_data: 0,
            needed,
            requested,
        };
    };
    let errors: Vec<Option<f64>> = usable
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let others = usable
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, s)| s.scaled_to(target.baseline))
                .collect();
            median(others)
                .filter(|p| *p > 0.0)
                .map(|p| target.window / p - 1.0)
        })
        .collect();
    let squares: Vec<f64> = errors.iter().flatten().map(|e| e * e).collect();
    let (holdout_rms, t) = match squares.len() {
        0 => (0.0, 0.0),
        m => {
            #[allow(clippy::cast_precision_loss)] // at most a few hundred references
            let mean_square = squares.iter().sum::<f64>() / m as f64;
            (mean_square.sqrt(), student_t_975(m.saturating_sub(1)))
        }
    };
    let half_width = t * holdout_rms;
    let references: Vec<ScaledReference> = usable
        .iter()
        .zip(estimates)
        .zip(errors)
        .map(|((reading, estimate), holdout_error)| ScaledReference {
            reading: *reading,
            estimate,
            holdout_error,
        })
        .collect();
    let count = |kind| usable.iter().filter(|r| r.reference.kind == kind).count();
    Expectation::Estimated(Estimate {
        expected,
        low: expected * (1.0 - half_width).max(0.0),
        high: expected * (1.0 + half_width),
        days_used: count(ReferenceKind::Day),
        weeks_used: count(ReferenceKind::Week),
        holdout_rms,
        t,
        references,
    })
}

/// The median (the mean of the middle two for an even count); `None` when empty.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    let upper = values.get(n / 2).copied()?;
    if n % 2 == 1 {
        return Some(upper);
    }
    let lower = values.get(n / 2 - 1).copied()?;
    Some((lower + upper) / 2.0)
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom (the normal's for
/// 0, which only a degenerate hold-out gives). Exact to three decimals up to 30
/// (the published table), then the Cornish-Fisher expansion in 1/df, whose error is
/// below 1e-4 there.
#[must_use]
pub fn student_t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    let z = crate::stats::Z_95;
    if df == 0 {
        return z;
    }
    if let Some(t) = TABLE.get(df - 1) {
        return *t;
    }
    #[allow(clippy::cast_precision_loss)] // df is small
    let v = df as f64;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    let g1 = z.mul_add(z * z, z) / 4.0;
    let g2 = z.mul_add(3.0, z3.mul_add(16.0, 5.0 * z5)) / 96.0;
    let g3 = z.mul_add(-15.0, z3.mul_add(17.0, z5.mul_add(19.0, 3.0 * z7))) / 384.0;
    ((g3 / v + g2) / v + g1) / v + z
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(
        days_back: u32,
        kind: ReferenceKind,
        window: f64,
        baseline: f64,
    ) -> ReferenceReading {
        ReferenceReading {
            reference: Reference { days_back, kind },
            window,
            baseline,
        }
    }

    fn estimated(e: Expectation) -> Estimate {
        match e {
            Expectation::Estimated(e) => e,
            other => panic!("no estimate: {other:?}"),
        }
    }

    #[test]
    fn week_references_are_never_counted_again_as_days() {
        let set = Reference::set(7, 4);
        let days: Vec<u32> = set
            .iter()
            .filter(|r| r.kind == ReferenceKind::Day)
            .map(|r| r.days_back)
            .collect();
        let weeks: Vec<u32> = set
            .iter()
            .filter(|r| r.kind == ReferenceKind::Week)
            .map(|r| r.days_back)
            .collect();
        assert_eq!(days, [1, 2, 3, 4, 5, 6]);
        assert_eq!(weeks, [7, 14, 21, 28]);
        // Fourteen days without weeks are all days.
        assert_eq!(Reference::set(14, 0).len(), 14);
        assert_eq!(Reference::set(14, 1).len(), 14);
        assert!(Reference::set(0, 0).is_empty());
    }

    #[test]
    fn a_growing_business_is_scaled_to_the_level_before_the_window() {
        // Every earlier window had half the baseline's volume in the window; the
        // business grew 10 % a week, and the baseline now is 1 000.
        let readings: Vec<ReferenceReading> = (1..=4)
            .map(|w| {
                let level = 1_000.0 / 1.1f64.powi(w);
                reading(
                    7 * w.unsigned_abs(),
                    ReferenceKind::Week,
                    level / 2.0,
                    level,
                )
            })
            .collect();
        let e = estimated(estimate(Some(1_000.0), &readings, 3, 4));
        assert!((e.expected - 500.0).abs() < 1e-9, "{e:?}");
        // Every reference predicts the others exactly: a zero-width interval.
        assert!(e.holdout_rms < 1e-12);
        assert!((e.low - e.expected).abs() < 1e-9 && (e.high - e.expected).abs() < 1e-9);
        assert_eq!((e.days_used, e.weeks_used), (0, 4));
    }

    #[test]
    fn the_interval_follows_the_hold_out_errors() {
        // Windows alternately 10 % above and below half the baseline.
        let readings: Vec<ReferenceReading> = (1..=6)
            .map(|d| {
                let sign = if d % 2 == 0 { 1.0 } else { -1.0 };
                reading(
                    d,
                    ReferenceKind::Day,
                    50.0 * 0.1f64.mul_add(sign, 1.0),
                    100.0,
                )
            })
            .collect();
        let e = estimated(estimate(Some(200.0), &readings, 4, 6));
        assert!((e.expected - 100.0).abs() < 1e-9, "{e:?}");
        // Holding out a +10 % window leaves the median of three −10 % and two +10 %
        // windows, −10 %: error 1.1/0.9 − 1; symmetrically 0.9/1.1 − 1.
        let up: f64 = 1.1 / 0.9 - 1.0;
        let down: f64 = 0.9 / 1.1 - 1.0;
        let rms = (up.mul_add(up, down * down) / 2.0).sqrt();
        assert!((e.holdout_rms - rms).abs() < 1e-12, "{e:?}");
        assert!((e.t - 2.571).abs() < 1e-12);
        let width = 2.571 * rms;
        assert!((e.high / 100.0 - (1.0 + width)).abs() < 1e-9);
        assert!((e.low / 100.0 - (1.0 - width)).abs() < 1e-9);
    }

    #[test]
    fn an_earlier_incident_moves_the_median_little() {
        let mut readings: Vec<ReferenceReading> = (1..=6)
            .map(|d| reading(d, ReferenceKind::Day, 50.0, 100.0))
            .collect();
        readings.push(reading(7, ReferenceKind::Week, 5.0, 100.0));
        let e = estimated(estimate(Some(100.0), &readings, 4, 7));
        assert!((e.expected - 50.0).abs() < 1e-9);
    }

    #[test]
    fn too_few_usable_windows_are_a_short_history() {
        let readings = [
            reading(1, ReferenceKind::Day, 10.0, 20.0),
            reading(2, ReferenceKind::Day, 10.0, 0.0),
            reading(3, ReferenceKind::Day, f64::NAN, 20.0),
            reading(4, ReferenceKind::Day, 10.0, 20.0),
        ];
        assert_eq!(
            estimate(Some(20.0), &readings, 4, 10),
            Expectation::HistoryTooShort {
                with_data: 2,
                needed: 4,
                requested: 10
            }
        );
        // At least three, whatever is asked.
        assert!(matches!(
            estimate(Some(20.0), &readings, 1, 10),
            Expectation::HistoryTooShort { needed: 3, .. }
        ));
        let enough = [
            readings[0],
            readings[3],
            reading(5, ReferenceKind::Day, 9.0, 18.0),
        ];
        assert_eq!(estimate(None, &enough, 3, 3), Expectation::NoBaseline);
        assert_eq!(estimate(Some(0.0), &enough, 3, 3), Expectation::NoBaseline);
    }

    #[test]
    fn t_quantiles_match_the_published_table() {
        assert!((student_t_975(1) - 12.706).abs() < 1e-9);
        assert!((student_t_975(9) - 2.262).abs() < 1e-9);
        // Published: 40 → 2.021, 60 → 2.000, 120 → 1.980.
        for (df, t) in [(40, 2.021), (60, 2.000), (120, 1.980)] {
            assert!(
                (student_t_975(df) - t).abs() < 6e-4,
                "{df}: {}",
                student_t_975(df)
            );
        }
        assert!((student_t_975(0) - crate::stats::Z_95).abs() < 1e-12);
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
