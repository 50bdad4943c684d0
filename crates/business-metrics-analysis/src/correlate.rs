//! Correlating a technical metric with a business metric over time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::client::{format_labels, PrometheusClient, RangeSeries, Sample};
use crate::correlogram::{aligned, by_time, lag_ms, step_ms, LagCorrelation};
use crate::error::AnalysisError;
use crate::explain;
use crate::period::{self, Periodicity};
use crate::stats::{self, ConfidenceInterval, StatsError, Strength, Which};
use crate::time::format_rfc3339;
use crate::units::{infer_unit, Unit};

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
    technical_unit: Option<String>,
    business_unit: Option<String>,
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
            technical_unit: None,
            business_unit: None,
        }
    }

    /// The technical metric's unit, e.g. `s`; without it the unit is read from the
    /// metric names in the query (see [`infer_unit`]).
    #[must_use]
    pub fn with_technical_unit(mut self, unit: impl Into<String>) -> Self {
        self.technical_unit = Some(unit.into());
        self
    }

    /// The business metric's unit, e.g. `orders/min` or `ratio`; without it the unit
    /// is read from the metric names in the query (see [`infer_unit`]).
    #[must_use]
    pub fn with_business_unit(mut self, unit: impl Into<String>) -> Self {
        self.business_unit = Some(unit.into());
        self
    }

    /// The technical PromQL.
    #[must_use]
    pub fn technical(&self) -> &str {
        &self.technical
    }

    /// The business PromQL.
    #[must_use]
    pub fn business(&self) -> &str {
        &self.business
    }

    /// The units of the technical and the business series: given, or inferred.
    #[must_use]
    pub fn units(&self) -> (Unit, Unit) {
        let unit = |given: &Option<String>, query: &str| {
            given
                .as_ref()
                .map_or_else(|| infer_unit(query), |u| Unit::given(u.clone()))
        };
        (
            unit(&self.technical_unit, &self.technical),
            unit(&self.business_unit, &self.business),
        )
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
    /// The technical series' unit, and where it came from.
    pub technical_unit: Unit,
    /// The business series' unit, and where it came from.
    pub business_unit: Unit,
    /// Query resolution in seconds.
    pub step_seconds: f64,
    /// Timestamps with a finite value in both series (at lag 0).
    pub aligned_points: usize,
    /// Steps by which the business series trails the technical one at the strongest
    /// correlation among the lags not refused (0 when no lag was searched).
    pub lag_steps: usize,
    /// The same lag in seconds.
    pub lag_seconds: f64,
    /// Pairs used at that lag.
    pub points: usize,
    /// What those pairs are worth as independent observations, given how much each
    /// series resembles itself one step later ([`stats::effective_pairs`]).
    pub effective_points: f64,
    /// Pearson's r at that lag.
    pub pearson: f64,
    /// Spearman's rank correlation at that lag.
    pub spearman: f64,
    /// 95 % confidence interval of Pearson's r (Fisher z, from the effective points).
    pub confidence_interval: ConfidenceInterval,
    /// Two-sided p-value of r against no correlation (Fisher z from the effective
    /// points), multiplied by the number of lags tried (Bonferroni), at most 1.
    pub p_value: f64,
    /// Lags at which r was computed.
    pub lags_tried: usize,
    /// Pearson's r without lag, when defined.
    pub pearson_at_lag_zero: Option<f64>,
    /// Least-squares change of the business metric per unit of the technical one, in
    /// [`slope_unit`](Self::slope_unit).
    pub slope: f64,
    /// `business unit per technical unit`, e.g. `ratio per s`.
    pub slope_unit: String,
    /// Least-squares business value at technical = 0, in the business unit.
    pub intercept: f64,
    /// Standard deviation of the technical values used, in the technical unit: a
    /// typical change.
    pub technical_std_dev: f64,
    /// `slope × technical_std_dev`: the business change, in its unit, that goes with a
    /// typical technical change.
    pub typical_effect: f64,
    /// Strong (|r| > 0.7), moderate (|r| > 0.4) or weak.
    pub strength: Strength,
    /// `positive` or `negative`.
    pub direction: Direction,
    /// r at every lag searched (the correlogram).
    pub correlogram: Vec<LagCorrelation>,
    /// A repeating pattern in either series, which makes some lags untrustworthy.
    pub periodicity: Option<Periodicity>,
    /// What could mislead, in sentences (refused lags, unknown units, ...).
    pub warnings: Vec<String>,
    /// One sentence for people.
    pub summary: String,
    /// What the figures mean and how sure they are, in a few sentences.
    pub explanation: Vec<String>,
}

impl CorrelationReport {
    /// Names the units (replacing those of [`analyze`], which knows no queries) and
    /// rewrites the sentences with them.
    #[must_use]
    pub fn with_units(mut self, technical: Unit, business: Unit) -> Self {
        self.slope_unit = business.per(&technical);
        self.technical_unit = technical;
        self.business_unit = business;
        self.warnings
            .retain(|w| !w.starts_with(explain::UNKNOWN_UNITS));
        if let Some(warning) = explain::unknown_units(&self.technical_unit, &self.business_unit) {
            self.warnings.push(warning);
        }
        self.summary = explain::summary(&self);
        self.explanation = explain::explanation(&self);
        self
    }
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
/// several series or none, an infinite or absurd sample
/// ([`AnalysisError::InvalidSample`]), too few aligned points, or a constant series.
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
    check_samples("technical", &request.technical, &technical)?;
    let business = client
        .query_range(&request.business, request.start, request.end, request.step)
        .await?;
    let business = single_series("business", &request.business, business)?;
    check_samples("business", &request.business, &business)?;
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
    let (technical_unit, business_unit) = request.units();
    Ok(report.with_units(technical_unit, business_unit))
}

/// The largest magnitude a sample to correlate may have: its squares, summed over
/// any range Prometheus answers, stay finite.
const MAX_MAGNITUDE: f64 = 1e100;

/// Refuses an infinite sample, or one so large its squares overflow; NaN samples are
/// gaps (a ratio of 0 by 0 in a quiet minute), left out when aligning.
///
/// # Errors
///
/// [`AnalysisError::InvalidSample`] naming the query, the series and the time.
pub fn check_samples(role: &str, query: &str, series: &RangeSeries) -> Result<(), AnalysisError> {
    let bad = series.samples.iter().find_map(|p| {
        let reason = if p.value.is_infinite() {
            format!(
                "an infinite value ({}Inf)",
                if p.value > 0.0 { "+" } else { "-" }
            )
        } else if p.value.abs() > MAX_MAGNITUDE {
            format!("a value beyond ±1e100 ({:e})", p.value)
        } else {
            return None;
        };
        Some((p.timestamp, reason))
    });
    match bad {
        None => Ok(()),
        Some((timestamp, reason)) => Err(AnalysisError::InvalidSample {
            role: role.to_owned(),
            query: query.to_owned(),
            series: format_labels(&series.labels),
            time: format_rfc3339(UNIX_EPOCH + Duration::from_secs_f64(timestamp.max(0.0))),
            reason,
        }),
    }
}

/// The largest lag at which `min_points` pairs can exist: pairs at lag k join
/// timestamps k steps apart, so both lie on the grid from the first to the last
/// sample of either series, which holds `n` points; at most `n − k` pairs remain.
fn largest_usable_lag(
    technical: &[Sample],
    business: &[Sample],
    step: Duration,
    min_points: usize,
) -> usize {
    let times = technical
        .iter()
        .chain(business)
        .filter(|s| s.value.is_finite())
        .map(Sample::timestamp_ms);
    let (first, last) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let span_steps = last
        .checked_sub(first)
        .and_then(|span| span.checked_div(step_ms(step)))
        .and_then(|steps| usize::try_from(steps).ok())
        .unwrap_or(0);
    span_steps.saturating_add(1).saturating_sub(min_points)
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
                advice: one_series_advice(query),
            })
        }
    }
}

/// How to turn `query` into one series. Quantiles are never summed or averaged
/// across series (the sum of two p99s is no percentile of anything): a histogram's
/// buckets are aggregated first and the quantile taken of the aggregate.
fn one_series_advice(query: &str) -> String {
    if query.contains("quantile") {
        "quantiles cannot be summed or averaged across series; aggregate the histogram's \
         buckets first and take the quantile of that, e.g. \
         `histogram_quantile(0.99, sum by (le) (rate(<histogram>_bucket[5m])))`, or select \
         one series with labels"
            .to_owned()
    } else {
        format!("aggregate it, e.g. `sum({query})`, or select one series with labels")
    }
}

/// The first series (technical, then business) with a dominant period.
fn find_periodicity(
    technical: &[Sample],
    business: &[Sample],
    step: Duration,
    min_points: usize,
) -> Option<Periodicity> {
    [("technical", technical), ("business", business)]
        .into_iter()
        .find_map(|(series, samples)| {
            let grid = period::on_grid(samples, step_ms(step));
            period::dominant_period(&grid, min_points).map(|(steps, r)| {
                #[allow(clippy::cast_precision_loss)]
                let period_seconds = step.as_secs_f64() * steps as f64;
                Periodicity {
                    series: series.to_owned(),
                    period_steps: steps,
                    period_seconds,
                    autocorrelation: r,
                }
            })
        })
}

/// Lag-1 autocorrelation of a series on its grid (0 where undefined).
fn lag_one(samples: &[Sample], step: Duration) -> f64 {
    period::autocorrelation(&period::on_grid(samples, step_ms(step)), 1, 3).unwrap_or(0.0)
}

/// Correlates two sampled series: aligns them on timestamps (dropping gaps), searches
/// lags `0..=max_lag` steps for the strongest |r| (the business series trailing;
/// `max_lag` is capped, with a warning, at the largest lag the points allow: their
/// grid's length minus `min_points`),
/// leaving out lags near half a dominant period of either series (see
/// [`crate::period`]), and reports r, Spearman's ρ, the Fisher 95 % interval and
/// p-value from the effective number of pairs, the least-squares slope and the
/// guide's strong/moderate/weak wording at that lag, with the correlogram and
/// sentences saying what it means. Queries are left empty and units unknown in the
/// report; [`correlate`] fills them in ([`CorrelationReport::with_units`]).
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
    let business_by_time = by_time(business);
    let pairs_at = |k: usize| aligned(technical, &business_by_time, lag_ms(step, k));
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
    // A lag beyond the points available cannot be evaluated: search no further (and
    // never loop over millions of empty lags).
    let usable_lag = largest_usable_lag(technical, business, step, min_points);
    let asked_lag = max_lag;
    let max_lag = max_lag.min(usable_lag);
    let periodicity = find_periodicity(technical, business, step, min_points);
    let refused = |k: usize| {
        periodicity
            .as_ref()
            .is_some_and(|p| period::near_half_period(k, p.period_steps))
    };
    #[allow(clippy::cast_precision_loss)]
    let seconds = |k: usize| step.as_secs_f64() * k as f64;
    let correlogram: Vec<LagCorrelation> = (0..=max_lag)
        .map(|k| {
            let (x, y) = pairs_at(k);
            let r = (x.len() >= min_points)
                .then(|| stats::pearson(&x, &y).ok())
                .flatten();
            LagCorrelation {
                lag_steps: k,
                lag_seconds: seconds(k),
                points: x.len(),
                r,
                refused: refused(k),
            }
        })
        .collect();
    let strongest = |allowed: &dyn Fn(&LagCorrelation) -> bool| {
        correlogram
            .iter()
            .filter(|c| allowed(c))
            .filter_map(|c| c.r.map(|r| (c, r)))
            .fold(
                None,
                |best: Option<(&LagCorrelation, f64)>, (c, r)| match best {
                    Some((_, b)) if b.abs() >= r.abs() => best,
                    _ => Some((c, r)),
                },
            )
    };
    let Some((best, r)) = strongest(&|c| !c.refused) else {
        let (x, y) = pairs_at(0);
        return Err(stats_error(stats::pearson(&x, &y).err().unwrap_or(
            StatsError::TooFewPoints {
                got: x.len(),
                needed: min_points,
            },
        )));
    };
    let lags_tried = correlogram.iter().filter(|c| c.r.is_some()).count();
    let mut warnings = Vec::new();
    if asked_lag > max_lag {
        warnings.push(explain::lag_capped(asked_lag, max_lag, min_points, step));
    }
    if let Some(p) = &periodicity {
        let refused_strongest = strongest(&|_| true).filter(|(c, _)| c.refused);
        warnings.extend(explain::periodicity(p, max_lag, refused_strongest));
    }
    let (x, y) = pairs_at(best.lag_steps);
    let spearman = stats::spearman(&x, &y).map_err(stats_error)?;
    let effective_points =
        stats::effective_pairs(x.len(), lag_one(technical, step), lag_one(business, step));
    let confidence_interval =
        stats::fisher_confidence_interval_effective(r, effective_points).map_err(stats_error)?;
    #[allow(clippy::cast_precision_loss)]
    let p_value = (stats::fisher_p_value(r, effective_points).map_err(stats_error)?
        * lags_tried.max(1) as f64)
        .min(1.0);
    let fit = stats::linear_fit(&x, &y).map_err(stats_error)?;
    let technical_std_dev = std_dev(&x);
    let direction = if r < 0.0 {
        Direction::Negative
    } else {
        Direction::Positive
    };
    let unknown = || Unit {
        name: None,
        source: "not named".to_owned(),
    };
    let report = CorrelationReport {
        technical_query: String::new(),
        business_query: String::new(),
        technical_unit: unknown(),
        business_unit: unknown(),
        step_seconds: step.as_secs_f64(),
        aligned_points,
        lag_steps: best.lag_steps,
        lag_seconds: best.lag_seconds,
        points: x.len(),
        effective_points,
        pearson: r,
        spearman,
        confidence_interval,
        p_value,
        lags_tried,
        pearson_at_lag_zero,
        slope: fit.slope,
        slope_unit: String::new(),
        intercept: fit.intercept,
        technical_std_dev,
        typical_effect: fit.slope * technical_std_dev,
        strength: Strength::of(r),
        direction,
        correlogram,
        periodicity,
        warnings,
        summary: String::new(),
        explanation: Vec::new(),
    };
    Ok(report.with_units(unknown(), unknown()))
}

/// The sample standard deviation (n - 1); 0 below two values.
#[allow(clippy::cast_precision_loss)]
fn std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let squares = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
    (squares / (n - 1.0)).sqrt()
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
    fn a_lag_beyond_the_points_is_capped_and_said_so() {
        let tech: Vec<f64> = (0..121).map(|i| f64::from((i * 7) % 11)).collect();
        let bus: Vec<f64> = tech.iter().map(|t| (-2.0_f64).mul_add(*t, 3.0)).collect();
        let report = analyze(
            &series(&tech),
            &series(&bus),
            Duration::from_secs(60),
            4_320_000,
            10,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.correlogram.len(), 112);
        assert_eq!(report.correlogram.last().map(|c| c.points), Some(10));
        assert!(
            report.warnings.iter().any(|w| w
                == "the largest lag asked for, 4320000 steps (8y11w3d), is more than the points \
                    allow: every lag needs at least 10 pairs and the series span 121 points, \
                    so lags 0 to 111 steps (1h51m) were searched"),
            "{:?}",
            report.warnings
        );
    }

    #[test]
    fn infinite_or_absurd_samples_are_data_errors_naming_the_series() {
        let mut samples = series(&[1.0, 2.0, f64::NAN, 4.0]);
        let labels: std::collections::BTreeMap<String, String> =
            [("instance".to_owned(), "a".to_owned())]
                .into_iter()
                .collect();
        let ok = RangeSeries {
            labels: labels.clone(),
            samples: samples.clone(),
        };
        assert!(check_samples("technical", "q", &ok).is_ok(), "NaN is a gap");
        for (value, reason) in [
            (
                f64::INFINITY,
                "gave an infinite value (+Inf) at 1970-01-01T00:17:40Z",
            ),
            (
                -2e300,
                "gave a value beyond ±1e100 (-2e300) at 1970-01-01T00:17:40Z",
            ),
        ] {
            samples[1].value = value;
            let bad = RangeSeries {
                labels: labels.clone(),
                samples: samples.clone(),
            };
            let message = check_samples("business", "q", &bad)
                .map_or_else(|e| e.to_string(), |()| String::new());
            assert!(
                message.starts_with(&format!(
                    "the business query `q` {reason} for the series {{instance=\"a\"}}"
                )),
                "{message}"
            );
        }
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

    /// Incidents every 8 steps of varying height, 4 steps long; conversion dips a
    /// little during each and rebounds after it, in proportion to its height.
    fn recurring_incidents() -> (Vec<f64>, Vec<f64>) {
        let n = 120;
        let tech: Vec<f64> = (0..n)
            .map(|i: usize| {
                let height =
                    0.1_f64.mul_add(f64::from(u32::try_from((i / 8 * 7) % 5).unwrap_or(0)), 0.8);
                if i % 8 < 4 {
                    height
                } else {
                    0.2
                }
            })
            .collect();
        let bus: Vec<f64> = (0..n)
            .map(|i| {
                let before = i
                    .checked_sub(4)
                    .and_then(|j| tech.get(j))
                    .map_or(0.0, |t| t - 0.2);
                0.01_f64.mul_add(-tech[i], 0.05_f64.mul_add(before, 0.2))
            })
            .collect();
        (tech, bus)
    }

    #[test]
    fn a_lag_near_half_the_incident_period_is_refused_and_said_so() {
        let (tech, bus) = recurring_incidents();
        // Searched naively, the strongest |r| is half a period later, positive.
        let naive = stats::best_lag(&tech, &bus, 6, 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(naive.lag, 4);
        assert!(naive.r > 0.9, "{naive:?}");

        let report = analyze(
            &series(&tech),
            &series(&bus),
            Duration::from_secs(60),
            6,
            10,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let period = report
            .periodicity
            .clone()
            .unwrap_or_else(|| panic!("no period"));
        assert_eq!(
            (period.series.as_str(), period.period_steps),
            ("technical", 8)
        );
        assert_eq!(period.period_seconds, 480.0);
        let refused: Vec<usize> = report
            .correlogram
            .iter()
            .filter(|c| c.refused)
            .map(|c| c.lag_steps)
            .collect();
        assert_eq!(refused, [3, 4, 5]);
        assert_ne!(report.lag_steps, 4);
        assert_eq!(
            report.warnings,
            [
                "the technical series repeats every 8 steps (480s; autocorrelation 0.92 at one \
                 period), as recurring incidents do. Lags 3 to 5 (steps) lie near half a period, \
                 where the series is in anti-phase with itself and a fall looks like a rise, so \
                 they were refused; the strongest |r| of all, 0.998 at 4 step(s), was one of \
                 them. Lags one period apart fit alike: the lag is known only up to multiples \
                 of 8 steps.",
                "units unknown: technical (not named), business (not named); the slope means \
                 little without them, so name them (--technical-unit, --business-unit)"
            ]
        );
        assert_eq!(
            (report.lag_steps, report.direction),
            (0, Direction::Negative)
        );
    }

    #[test]
    fn the_summary_names_both_units_and_a_typical_change() {
        let tech: Vec<f64> = (0..40).map(|i| f64::from((i * 7) % 11) / 10.0).collect();
        let bus: Vec<f64> = tech.iter().map(|t| (-0.2_f64).mul_add(*t, 0.3)).collect();
        let report = analyze(&series(&tech), &series(&bus), Duration::from_secs(60), 0, 10)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_units(
                infer_unit("histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))"),
                infer_unit("sum(rate(business_funnel_step_total{step=\"order_confirmed\"}[5m])) / sum(rate(business_funnel_step_total{step=\"cart_view\"}[5m]))"),
            );
        assert_eq!(report.slope_unit, "ratio per s");
        assert_eq!(
            report.summary,
            "strong negative correlation: the business metric falls by 0.2000 ratio per s of \
             the technical metric, at the same time; a typical rise of the technical metric \
             (one standard deviation, 0.3258 s) goes with a fall of 0.06515 ratio"
        );
        assert_eq!(
            report.explanation,
            [
                "Units: the technical metric in s (from the suffix _seconds of \
                 http_server_request_duration_seconds_bucket, through histogram_quantile()), \
                 the business metric in ratio (a quotient of two series in events/s, so a \
                 ratio); the slope is in ratio per s.",
                "Over 40 pairs taken at the same time: when the technical metric was higher, \
                 the business metric was lower. The least-squares line is business = 0.3000 - \
                 0.2000 × technical; the technical metric accounts for 100 % of the business \
                 metric's variation (r² = 1.00).",
                "How sure: r = -1.000, 95 % interval [-1.000, -1.000], from 40 pairs worth \
                 about 28 independent ones (a series that changes slowly resembles itself from \
                 one point to the next); p < 1e-15 after trying 1 lag(s) (Bonferroni). A \
                 correlation this strong is unlikely to be chance.",
                "A correlation is not a cause: both series may follow a third one (traffic, \
                 time of day); check the lag and the incident windows before blaming the \
                 technical metric."
            ]
        );
        assert_eq!(report.warnings, Vec::<String>::new());
    }

    #[test]
    fn several_quantile_series_are_never_to_be_summed() {
        let one = |v: f64| RangeSeries {
            labels: [("instance".to_owned(), format!("{v}"))]
                .into_iter()
                .collect(),
            samples: series(&[v]),
        };
        let error = |query: &str| {
            single_series("technical", query, vec![one(1.0), one(2.0)])
                .map_or_else(|e| e.to_string(), |_| String::new())
        };
        assert_eq!(
            error(
                "histogram_quantile(0.99, rate(http_server_request_duration_seconds_bucket[5m]))"
            ),
            "the technical query \
             `histogram_quantile(0.99, rate(http_server_request_duration_seconds_bucket[5m]))` \
             returned 2 series where one is needed: {instance=\"1\"}, {instance=\"2\"}; \
             quantiles cannot be summed or averaged across series; aggregate the histogram's \
             buckets first and take the quantile of that, e.g. \
             `histogram_quantile(0.99, sum by (le) (rate(<histogram>_bucket[5m])))`, or select \
             one series with labels"
        );
        assert!(error("shop_per_instance").ends_with(
            "aggregate it, e.g. `sum(shop_per_instance)`, or select one series with labels"
        ));
    }
}
