//! The statistics behind the analyses: correlation coefficients, their confidence
//! interval, least squares, lag search, the normal distribution and the
//! two-proportion test.
//!
//! Every function returns a [`StatsError`] where the result would be undefined
//! (too few points, a constant series); none returns NaN.

use serde::Serialize;

/// The two-sided 97.5 % quantile of the standard normal distribution, for 95 % intervals.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Why a statistic is undefined for the data given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// The two series have different lengths.
    #[error("series lengths differ ({x} and {y}); pass paired observations")]
    LengthMismatch {
        /// Length of the first series.
        x: usize,
        /// Length of the second series.
        y: usize,
    },
    /// Fewer points than the statistic needs.
    #[error("{got} points, at least {needed} needed; widen the range or shorten the step")]
    TooFewPoints {
        /// Points available.
        got: usize,
        /// Points required.
        needed: usize,
    },
    /// One series does not vary, so its correlation with anything is undefined.
    #[error(
        "the {which} series is constant, so correlation is undefined; pick a range where it varies"
    )]
    ConstantSeries {
        /// Which series: [`Which::X`] (first, technical) or [`Which::Y`] (second, business).
        which: Which,
    },
    /// A proportion test was given no trials in a group.
    #[error("group {group} has no trials; a proportion needs at least one")]
    NoTrials {
        /// 1 or 2.
        group: u8,
    },
    /// A proportion test was given more successes than trials.
    #[error("group {group} has more successes than trials; check the counts")]
    SuccessesExceedTrials {
        /// 1 or 2.
        group: u8,
    },
}

/// Which of two paired series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// The first (`x`, the technical metric in a correlation).
    X,
    /// The second (`y`, the business metric in a correlation).
    Y,
}

impl std::fmt::Display for Which {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::X => "first",
            Self::Y => "second",
        })
    }
}

fn check_pair(x: &[f64], y: &[f64], needed: usize) -> Result<(), StatsError> {
    if x.len() != y.len() {
        return Err(StatsError::LengthMismatch {
            x: x.len(),
            y: y.len(),
        });
    }
    if x.len() < needed {
        return Err(StatsError::TooFewPoints {
            got: x.len(),
            needed,
        });
    }
    Ok(())
}

#[allow(clippy::cast_precision_loss)] // lengths of in-memory series are far below 2^52.
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Centred sums: (Σ(x-x̄)², Σ(y-ȳ)², Σ(x-x̄)(y-ȳ)), computed two-pass for accuracy.
fn centred_sums(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let (mx, my) = (mean(x), mean(y));
    x.iter()
        .zip(y)
        .fold((0.0, 0.0, 0.0), |(sxx, syy, sxy), (a, b)| {
            let (dx, dy) = (a - mx, b - my);
            (
                dx.mul_add(dx, sxx),
                dy.mul_add(dy, syy),
                dx.mul_add(dy, sxy),
            )
        })
}

/// Whether every value equals the first (exactly, or within rounding of the mean).
fn is_constant(values: &[f64], centred_sum_sq: f64) -> bool {
    let scale = values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    centred_sum_sq <= f64::EPSILON * f64::EPSILON * scale * scale * values.len().max(1) as f64
        || values.windows(2).all(|w| w.first() == w.get(1))
}

/// Pearson's product-moment correlation coefficient of paired observations.
///
/// # Errors
///
/// Fewer than 2 pairs, different lengths, or a constant series.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64, StatsError> {
    check_pair(x, y, 2)?;
    let (sxx, syy, sxy) = centred_sums(x, y);
    if is_constant(x, sxx) {
        return Err(StatsError::ConstantSeries { which: Which::X });
    }
    if is_constant(y, syy) {
        return Err(StatsError::ConstantSeries { which: Which::Y });
    }
    Ok((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Ranks starting at 1, ties sharing the average of the ranks they span
/// (`[10, 20, 20, 30]` ranks as `[1, 2.5, 2.5, 4]`).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        let (va, vb) = (values.get(a), values.get(b));
        va.partial_cmp(&vb).unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let value = order.get(start).and_then(|&i| values.get(i));
        let mut end = start + 1;
        while end < order.len() && order.get(end).and_then(|&i| values.get(i)) == value {
            end += 1;
        }
        // Positions start..end hold ranks start+1 ..= end; their average:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &index in order.get(start..end).unwrap_or_default() {
            if let Some(slot) = ranks.get_mut(index) {
                *slot = rank;
            }
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation: Pearson's coefficient of the average ranks, which
/// is exact with ties (unlike the `1 - 6Σd²/(n(n²-1))` shortcut).
///
/// # Errors
///
/// As [`pearson`].
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64, StatsError> {
    check_pair(x, y, 2)?;
    pearson(&average_ranks(x), &average_ranks(y))
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConfidenceInterval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Coverage, e.g. 0.95.
    pub level: f64,
}

/// The 95 % confidence interval of a correlation coefficient `r` from `n` pairs by
/// Fisher's z-transformation: `tanh(atanh(r) ± 1.96/√(n-3))`.
///
/// # Errors
///
/// [`StatsError::TooFewPoints`] when `n < 4`.
#[allow(clippy::cast_precision_loss)]
pub fn fisher_confidence_interval(r: f64, n: usize) -> Result<ConfidenceInterval, StatsError> {
    if n < 4 {
        return Err(StatsError::TooFewPoints { got: n, needed: 4 });
    }
    let r = r.clamp(-1.0, 1.0);
    if r.abs() >= 1.0 {
        return Ok(ConfidenceInterval {
            lower: r,
            upper: r,
            level: 0.95,
        });
    }
    let z = r.atanh();
    let half_width = Z_95 / ((n - 3) as f64).sqrt();
    Ok(ConfidenceInterval {
        lower: (z - half_width).tanh(),
        upper: (z + half_width).tanh(),
        level: 0.95,
    })
}

/// The two-sided p-value of a correlation `r` from `n` (possibly effective, hence
/// fractional) pairs against no correlation, by Fisher's z: `z = atanh(r)·√(n-3)`,
/// `p = erfc(|z|/√2)`. The same approximation as [`fisher_confidence_interval`], so
/// `p < 0.05` exactly when that interval (at `n`) excludes 0.
///
/// # Errors
///
/// [`StatsError::TooFewPoints`] when `n < 4`.
pub fn fisher_p_value(r: f64, n: f64) -> Result<f64, StatsError> {
    if n.is_nan() || n < 4.0 {
        return Err(StatsError::TooFewPoints {
            got: count_of(n),
            needed: 4,
        });
    }
    let r = r.clamp(-1.0, 1.0);
    if r.abs() >= 1.0 {
        return Ok(0.0);
    }
    let z = r.atanh() * (n - 3.0).sqrt();
    Ok(erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0))
}

/// The 95 % confidence interval of `r` by Fisher's z from `n` effective pairs, which
/// may be fractional (see [`effective_pairs`]); [`fisher_confidence_interval`] with
/// whole pairs.
///
/// # Errors
///
/// [`StatsError::TooFewPoints`] when `n < 4`.
pub fn fisher_confidence_interval_effective(
    r: f64,
    n: f64,
) -> Result<ConfidenceInterval, StatsError> {
    if n.is_nan() || n < 4.0 {
        return Err(StatsError::TooFewPoints {
            got: count_of(n),
            needed: 4,
        });
    }
    let r = r.clamp(-1.0, 1.0);
    if r.abs() >= 1.0 {
        return Ok(ConfidenceInterval {
            lower: r,
            upper: r,
            level: 0.95,
        });
    }
    let z = r.atanh();
    let half_width = Z_95 / (n - 3.0).sqrt();
    Ok(ConfidenceInterval {
        lower: (z - half_width).tanh(),
        upper: (z + half_width).tanh(),
        level: 0.95,
    })
}

fn count_of(n: f64) -> usize {
    crate::reading::clamped_usize(n, u32::MAX)
}

/// The number of independent pairs `n` autocorrelated pairs are worth when the two
/// series have lag-1 autocorrelations `rho_x` and `rho_y`:
/// `n·(1 - ρx·ρy)/(1 + ρx·ρy)` (Bartlett's approximation for two AR(1) series, as
/// used by Bretherton et al., J. Climate 12, 1999), never above `n` nor below 4.
///
/// Series sampled more often than they change (a 5-minute `rate()` queried every 30
/// seconds) have ρ near 1 and are worth far fewer pairs than they have points.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn effective_pairs(n: usize, rho_x: f64, rho_y: f64) -> f64 {
    let n = n as f64;
    let product = (rho_x.clamp(-1.0, 1.0) * rho_y.clamp(-1.0, 1.0)).max(0.0);
    let effective = n * (1.0 - product) / (1.0 + product);
    if effective.is_finite() {
        effective.clamp(4.0_f64.min(n), n)
    } else {
        n
    }
}

/// The Wilson score interval (95 %) of a proportion `successes / trials`, which stays
/// inside [0, 1] and is sound for proportions near 0 or 1.
///
/// # Errors
///
/// [`StatsError::NoTrials`] or [`StatsError::SuccessesExceedTrials`] (group 1).
#[allow(clippy::cast_precision_loss)]
pub fn wilson_interval(successes: u64, trials: u64) -> Result<ConfidenceInterval, StatsError> {
    if trials == 0 {
        return Err(StatsError::NoTrials { group: 1 });
    }
    if successes > trials {
        return Err(StatsError::SuccessesExceedTrials { group: 1 });
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z_95 * Z_95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z_95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Ok(ConfidenceInterval {
        lower: (centre - half).clamp(0.0, 1.0),
        upper: (centre + half).clamp(0.0, 1.0),
        level: 0.95,
    })
}

/// An ordinary least-squares line `y = intercept + slope·x`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LinearFit {
    /// Change in `y` per unit of `x`.
    pub slope: f64,
    /// `y` at `x = 0`.
    pub intercept: f64,
}

/// Fits `y = intercept + slope·x` by ordinary least squares.
///
/// # Errors
///
/// Fewer than 2 pairs, different lengths, or a constant `x`.
pub fn linear_fit(x: &[f64], y: &[f64]) -> Result<LinearFit, StatsError> {
    check_pair(x, y, 2)?;
    let (sxx, _, sxy) = centred_sums(x, y);
    if is_constant(x, sxx) {
        return Err(StatsError::ConstantSeries { which: Which::X });
    }
    let slope = sxy / sxx;
    Ok(LinearFit {
        slope,
        intercept: slope.mul_add(-mean(x), mean(y)),
    })
}

/// The lag at which two series correlate most strongly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BestLag {
    /// Steps the second series trails the first (see [`best_lag`]).
    pub lag: usize,
    /// Pearson's r at that lag.
    pub r: f64,
    /// Pairs used at that lag.
    pub points: usize,
}

/// Searches lags `0..=max_lag` for the largest |Pearson r|, the smaller lag winning
/// a tie. `pairs_at(k)` returns the paired observations at lag `k`.
///
/// Sign convention: a **positive lag k means the second (business) series trails the
/// first (technical) one by k steps**: `x[t]` is paired with `y[t + k]`. Lags at which
/// fewer than `min_points` pairs remain, or the correlation is undefined, are skipped.
///
/// # Errors
///
/// The error of lag 0 when no lag gives a defined correlation.
pub fn best_lag_by<F>(
    max_lag: usize,
    min_points: usize,
    mut pairs_at: F,
) -> Result<BestLag, StatsError>
where
    F: FnMut(usize) -> (Vec<f64>, Vec<f64>),
{
    let mut best: Option<BestLag> = None;
    let mut first_error = None;
    for lag in 0..=max_lag {
        let (x, y) = pairs_at(lag);
        let result = if x.len() < min_points {
            Err(StatsError::TooFewPoints {
                got: x.len(),
                needed: min_points,
            })
        } else {
            pearson(&x, &y)
        };
        match result {
            Ok(r) if best.is_none_or(|b| r.abs() > b.r.abs()) => {
                best = Some(BestLag {
                    lag,
                    r,
                    points: x.len(),
                });
            }
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    best.ok_or(first_error.unwrap_or(StatsError::TooFewPoints {
        got: 0,
        needed: min_points,
    }))
}

/// [`best_lag_by`] for two gap-free series sampled at the same instants:
/// `x[i]` is paired with `y[i + k]`.
///
/// # Errors
///
/// As [`best_lag_by`].
pub fn best_lag(
    x: &[f64],
    y: &[f64],
    max_lag: usize,
    min_points: usize,
) -> Result<BestLag, StatsError> {
    check_pair(x, y, 0)?;
    best_lag_by(max_lag, min_points, |k| {
        let n = x.len().saturating_sub(k);
        let xs = x.get(..n).unwrap_or_default().to_vec();
        let ys = y.get(k..).unwrap_or_default().to_vec();
        (xs, ys)
    })
}

/// How strong a correlation is, in the wording of the business-metrics guide:
/// |r| > 0.7 is strong, |r| > 0.4 moderate, anything else weak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// |r| > 0.7.
    Strong,
    /// 0.4 < |r| ≤ 0.7.
    Moderate,
    /// |r| ≤ 0.4.
    Weak,
}

impl Strength {
    /// Threshold above which a correlation is strong.
    pub const STRONG: f64 = 0.7;
    /// Threshold above which a correlation is moderate.
    pub const MODERATE: f64 = 0.4;

    /// Classifies a correlation coefficient.
    #[must_use]
    pub fn of(r: f64) -> Self {
        if r.abs() > Self::STRONG {
            Self::Strong
        } else if r.abs() > Self::MODERATE {
            Self::Moderate
        } else {
            Self::Weak
        }
    }
}

impl std::fmt::Display for Strength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Strong => "strong",
            Self::Moderate => "moderate",
            Self::Weak => "weak",
        })
    }
}

/// The error function.
///
/// For |x| < 2.5 the power series `erf x = 2/√π · e^(-x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))`
/// (Abramowitz & Stegun 7.1.6), whose terms are all positive so nothing cancels; beyond,
/// `1 - erfc x` from the continued fraction of A&S 7.1.14. Both are summed to double
/// precision: the absolute error is below 1e-14 everywhere (checked against published
/// tables in the tests).
#[must_use]
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x.abs() < 2.5 {
        erf_series(x)
    } else {
        (1.0 - erfc_continued_fraction(x.abs())).copysign(x)
    }
}

/// The complementary error function `1 - erf x`, accurate in relative terms far into
/// the tail (where `1 - erf x` would round to 0).
#[must_use]
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x >= 2.5 {
        erfc_continued_fraction(x)
    } else if x <= -2.5 {
        2.0 - erfc_continued_fraction(-x)
    } else {
        1.0 - erf_series(x)
    }
}

const FRAC_2_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

fn erf_series(x: f64) -> f64 {
    let two_x2 = 2.0 * x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    while term.abs() > f64::EPSILON * 1e-3 * sum.abs() && n < 200.0 {
        n += 1.0;
        term *= two_x2 / 2.0_f64.mul_add(n, 1.0);
        sum += term;
    }
    FRAC_2_SQRT_PI * (-x * x).exp() * sum
}

/// erfc x = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), x ≥ 2.5,
/// evaluated from the tail; 200 terms converge to double precision there.
fn erfc_continued_fraction(x: f64) -> f64 {
    let mut tail = x;
    for k in (1..=200).rev() {
        tail = x + f64::from(k) / 2.0 / tail;
    }
    FRAC_2_SQRT_PI / 2.0 * (-x * x).exp() / tail
}

/// The standard normal cumulative distribution function Φ(z) = erfc(-z/√2)/2.
#[must_use]
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The result of a two-proportion z-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProportionTest {
    /// Proportion of group 1.
    pub p1: f64,
    /// Proportion of group 2.
    pub p2: f64,
    /// `p2 - p1`.
    pub difference: f64,
    /// The z statistic, `(p2 - p1) / se` with the pooled standard error.
    pub z: f64,
    /// The two-sided p-value, `2·(1 - Φ(|z|))`.
    pub p_value: f64,
}

impl ProportionTest {
    /// Whether the difference is significant at level `alpha` (e.g. 0.05).
    #[must_use]
    pub fn is_significant(&self, alpha: f64) -> bool {
        self.p_value < alpha
    }
}

/// Two-proportion z-test of `successes1/trials1` against `successes2/trials2` with the
/// pooled proportion `p = (s1 + s2)/(n1 + n2)` and `se = √(p(1-p)(1/n1 + 1/n2))`.
/// When both groups convert all or none (pooled p is 0 or 1), z = 0 and p = 1.
///
/// # Errors
///
/// A group without trials, or with more successes than trials.
#[allow(clippy::cast_precision_loss)]
pub fn two_proportion_test(
    successes1: u64,
    trials1: u64,
    successes2: u64,
    trials2: u64,
) -> Result<ProportionTest, StatsError> {
    for (group, s, n) in [(1, successes1, trials1), (2, successes2, trials2)] {
        if n == 0 {
            return Err(StatsError::NoTrials { group });
        }
        if s > n {
            return Err(StatsError::SuccessesExceedTrials { group });
        }
    }
    let (n1, n2) = (trials1 as f64, trials2 as f64);
    let (p1, p2) = (successes1 as f64 / n1, successes2 as f64 / n2);
    let pooled = (successes1 + successes2) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let z = if se > 0.0 { (p2 - p1) / se } else { 0.0 };
    // 2·(1 - Φ(|z|)) = erfc(|z|/√2), computed directly so tiny p-values keep their precision.
    let p_value = erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0);
    Ok(ProportionTest {
        p1,
        p2,
        difference: p2 - p1,
        z,
        p_value,
    })
}
