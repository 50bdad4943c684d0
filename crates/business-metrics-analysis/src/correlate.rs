//! Correlating a technical metric with a business metric over time.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::client::{format_labels, PrometheusClient, RangeSeries, Sample};
use crate::error::AnalysisError;
use crate::stats::{self, ConfidenceInterval, StatsError, Strength, Which};

/// The fewest aligned points a correlation is reported from by default.
pub const DEFAULT_MIN_POINTS: usize = 10;

/// What to correlate: two PromQL expressions, each giving one series, over a range.
#[derive(Debug, Clone)]
pub struct CorrelationRequest {
    technical: String,
    business: String,
    start: SystemTime,
    end: SystemTime,
    step: Duration,
    max_lag: usize,
    min_points: usize,
}

impl CorrelationRequest {
    /// Correlates `technical` (the suspected cause, e.g. p99 latency) with `business`
    /// (the outcome, e.g. checkouts per minute) from `start` to `end` every `step`.
    /// No lag is searched unless [`with_max_lag`](Self::with_max_lag) says so.
    #[must_use]
    pub fn new(
        technical: impl Into<String>,
        business: impl Into<String>,
        start: SystemTime,
        end: SystemTime,
        step: Duration,
    ) -> Self {
        Self {
            technical: technical.into(),
            business: business.into(),
            start,
            end,
            step,
            max_lag: 0,
            min_points: DEFAULT_MIN_POINTS,
        }
    }

    /// Searches lags of 0 to `steps` steps, the business series trailing the technical one.
    #[must_use]
    pub fn with_max_lag(mut self, steps: usize) -> Self {
        self.max_lag = steps;
        self
    }

    /// The fewest aligned points to report from (default [`DEFAULT_MIN_POINTS`], at least 4).
    #[must_use]
    pub fn with_min_points(mut self, points: usize) -> Self {
        self.min_points = points.max(4);
        self
    }
}

/// The outcome of a correlation, every number defined (never NaN).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationReport {
    /// The technical PromQL.
    pub technical_query: String,
    /// The business PromQL.
    pub business_query: String,
    /// Query resolution in seconds.
    pub step_seconds: f64,
    /// Timestamps with a finite value in both series (at lag 0).
    pub aligned_points: usize,
    /// Steps by which the business series trails the technical one at the strongest
    /// correlation (0 when no lag was searched).
    pub lag_steps: usize,
    /// The same lag in seconds.
    pub lag_seconds: f64,
    /// Pairs used at that lag.
    pub points: usize,
    /// Pearson's r at that lag.
    pub pearson: f64,
    /// Spearman's rank correlation at that lag.
    pub spearman: f64,
    /// 95 % confidence interval of Pearson's r (Fisher z).
    pub confidence_interval: ConfidenceInterval,
    /// Pearson's r without lag, when defined.
    pub pearson_at_lag_zero: Option<f64>,
    /// Least-squares change of the business metric per unit of the technical one.
    pub slope: f64,
    /// Least-squares business value at technical = 0.
    pub intercept: f64,
    /// Strong (|r| > 0.7), moderate (|r| > 0.4) or weak.
    pub strength: Strength,
    /// `positive` or `negative`.
    pub direction: Direction,
    /// One sentence for people.
    pub summary: String,
}

/// The sign of a correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Both rise together.
    Positive,
    /// One rises as the other falls.
    Negative,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Positive => "positive",
            Self::Negative => "negative",
        })
    }
}

/// Queries both expressions over the range and correlates them (see [`analyze`]).
///
/// # Errors
///
/// [`AnalysisError`]: Prometheus unreachable or rejecting a query, a query giving
/// several series or none, too few aligned points, or a constant series.
pub async fn correlate(
    client: &PrometheusClient,
    request: &CorrelationRequest,
) -> Result<CorrelationReport, AnalysisError> {
    if request.end <= request.start {
        return Err(AnalysisError::InvalidArgument {
            name: "range".to_owned(),
            reason: "the end must come after the start".to_owned(),
        });
    }
    if request.step.is_zero() {
        return Err(AnalysisError::InvalidArgument {
            name: "step".to_owned(),
            reason: "the step must be positive".to_owned(),
        });
    }
    let technical = client
        .query_range(&request.technical, request.start, request.end, request.step)
        .await?;
    let technical = single_series("technical", &request.technical, technical)?;
    let business = client
        .query_range(&request.business, request.start, request.end, request.step)
        .await?;
    let business = single_series("business", &request.business, business)?;
    let mut report = analyze(
        &technical.samples,
        &business.samples,
        request.step,
        request.max_lag,
        request.min_points,
    )
    .map_err(|e| name_queries(e, request))?;
    report.technical_query.clone_from(&request.technical);
    report.business_query.clone_from(&request.business);
    Ok(report)
}

fn name_queries(error: AnalysisError, request: &CorrelationRequest) -> AnalysisError {
    match error {
        AnalysisError::ConstantSeries { role, .. } => {
            let query = if role == "technical" {
                request.technical.clone()
            } else {
                request.business.clone()
            };
            AnalysisError::ConstantSeries { role, query }
        }
        other => other,
    }
}

/// The one series of a result, or an error naming the query.
///
/// # Errors
///
/// [`AnalysisError::EmptyResult`] or [`AnalysisError::SeveralSeries`].
pub fn single_series(
    role: &str,
    query: &str,
    mut series: Vec<RangeSeries>,
) -> Result<RangeSeries, AnalysisError> {
    series.retain(|s| !s.samples.is_empty());
    match series.len() {
        0 => Err(AnalysisError::EmptyResult {
            role: role.to_owned(),
            query: query.to_owned(),
        }),
        1 => series.pop().ok_or(AnalysisError::EmptyResult {
            role: role.to_owned(),
            query: query.to_owned(),
        }),
        count => {
            let mut shown: Vec<String> = series
                .iter()
                .take(3)
                .map(|s| format_labels(&s.labels))
                .collect();
            if count > 3 {
                shown.push(format!("and {} more", count - 3));
            }
            Err(AnalysisError::SeveralSeries {
                role: role.to_owned(),
                query: query.to_owned(),
                count,
                shown: shown.join(", "),
            })
        }
    }
}

/// Pairs technical samples with business samples `lag_ms` later, dropping timestamps
/// missing from either series and non-finite values.
fn aligned(
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

/// Correlates two sampled series: aligns them on timestamps (dropping gaps), searches
/// lags `0..=max_lag` steps for the strongest |r| (the business series trailing), and
/// reports r, Spearman's ρ, the Fisher 95 % interval, the least-squares slope and the
/// guide's strong/moderate/weak wording at that lag. Queries are left empty in the
/// report; [`correlate`] fills them in.
///
/// # Errors
///
/// [`AnalysisError::TooFewPoints`] below `min_points` aligned points (at least 4);
/// [`AnalysisError::ConstantSeries`] when either series does not vary.
pub fn analyze(
    technical: &[Sample],
    business: &[Sample],
    step: Duration,
    max_lag: usize,
    min_points: usize,
) -> Result<CorrelationReport, AnalysisError> {
    let min_points = min_points.max(4);
    let business_by_time: BTreeMap<i64, f64> = business
        .iter()
        .filter(|s| s.value.is_finite())
        .map(|s| (s.timestamp_ms(), s.value))
        .collect();
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
    let pairs_at = |k: usize| {
        let lag_ms = i64::try_from(k).unwrap_or(i64::MAX).saturating_mul(step_ms);
        aligned(technical, &business_by_time, lag_ms)
    };
    let (x0, y0) = pairs_at(0);
    let aligned_points = x0.len();
    if aligned_points < min_points {
        return Err(AnalysisError::TooFewPoints {
            got: aligned_points,
            needed: min_points,
        });
    }
    let pearson_at_lag_zero = match stats::pearson(&x0, &y0) {
        Ok(r) => Some(r),
        Err(e @ StatsError::ConstantSeries { .. }) => return Err(stats_error(e)),
        Err(_) => None,
    };
    let best = stats::best_lag_by(max_lag, min_points, pairs_at).map_err(stats_error)?;
    let (x, y) = pairs_at(best.lag);
    let spearman = stats::spearman(&x, &y).map_err(stats_error)?;
    let confidence_interval =
        stats::fisher_confidence_interval(best.r, best.points).map_err(stats_error)?;
    let fit = stats::linear_fit(&x, &y).map_err(stats_error)?;
    let strength = Strength::of(best.r);
    let direction = if best.r < 0.0 {
        Direction::Negative
    } else {
        Direction::Positive
    };
    #[allow(clippy::cast_precision_loss)]
    let lag_seconds = step.as_secs_f64() * best.lag as f64;
    let summary = summarize(strength, direction, fit.slope, best.lag, lag_seconds);
    Ok(CorrelationReport {
        technical_query: String::new(),
        business_query: String::new(),
        step_seconds: step.as_secs_f64(),
        aligned_points,
        lag_steps: best.lag,
        lag_seconds,
        points: best.points,
        pearson: best.r,
        spearman,
        confidence_interval,
        pearson_at_lag_zero,
        slope: fit.slope,
        intercept: fit.intercept,
        strength,
        direction,
        summary,
    })
}

fn stats_error(error: StatsError) -> AnalysisError {
    match error {
        StatsError::ConstantSeries { which } => AnalysisError::ConstantSeries {
            role: match which {
                Which::X => "technical",
                Which::Y => "business",
            }
            .to_owned(),
            query: String::new(),
        },
        StatsError::TooFewPoints { got, needed } => AnalysisError::TooFewPoints { got, needed },
        other => AnalysisError::Stats(other),
    }
}

fn summarize(
    strength: Strength,
    direction: Direction,
    slope: f64,
    lag: usize,
    lag_seconds: f64,
) -> String {
    let when = if lag == 0 {
        "at the same time".to_owned()
    } else {
        format!("{lag} step(s) ({lag_seconds}s) later")
    };
    match strength {
        Strength::Weak => format!(
            "weak correlation: the business metric does not follow the technical one reliably (best {when})"
        ),
        Strength::Strong | Strength::Moderate => {
            let moves = if slope < 0.0 { "falls" } else { "rises" };
            format!(
                "{strength} {direction} correlation: the business metric {moves} by {:.4} per unit \
                 of the technical metric, {when}",
                slope.abs()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<Sample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &value)| Sample {
                timestamp: 60.0_f64.mul_add(f64::from(u32::try_from(i).unwrap_or(0)), 1_000.0),
                value,
            })
            .collect()
    }

    #[test]
    fn a_trailing_business_series_is_found_at_its_lag() {
        let tech: Vec<f64> = (0..40).map(|i| f64::from((i * 7) % 11)).collect();
        // business[t] = 3 - 2·tech[t-2]
        let bus: Vec<f64> = (0..40)
            .map(|i: usize| {
                i.checked_sub(2)
                    .and_then(|j| tech.get(j))
                    .map_or(0.0, |t| (-2.0_f64).mul_add(*t, 3.0))
            })
            .collect();
        let report = analyze(
            &series(&tech),
            &series(&bus),
            Duration::from_secs(60),
            5,
            10,
        );
        let report = report.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.lag_steps, 2);
        assert!((report.pearson + 1.0).abs() < 1e-12);
        assert!((report.slope + 2.0).abs() < 1e-12);
        assert_eq!(report.strength, Strength::Strong);
    }

    #[test]
    fn gaps_are_dropped_before_correlating() {
        let mut tech = series(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        tech.remove(2);
        let mut bus = series(&[2.0, 4.0, f64::NAN, 8.0, 10.0, 12.0]);
        bus.remove(4);
        let report =
            analyze(&tech, &bus, Duration::from_secs(60), 0, 4).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.aligned_points, 4);
        assert_eq!(report.points, 4);
    }

    #[test]
    fn a_constant_business_series_is_named() {
        let r = analyze(
            &series(&[1.0, 2.0, 3.0, 4.0, 5.0]),
            &series(&[7.0; 5]),
            Duration::from_secs(60),
            0,
            4,
        );
        assert!(
            matches!(r, Err(AnalysisError::ConstantSeries { ref role, .. }) if role == "business")
        );
    }
}
