//! Conversion-funnel analysis of `business_funnel_step_total`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::client::{format_labels, InstantSeries, PrometheusClient};
use crate::definition::{FunnelName, FunnelSpec, FunnelSteps, StepName, StepsFrom};
use crate::duration::format_promql_duration;
use crate::error::AnalysisError;
use crate::matcher::{continue_selector, LabelMatcher};
use crate::reading::{whole_count, MAX_EXACT};
use crate::stats::{self, ProportionTest};

/// The counter every funnel step increments, labelled `funnel` and `step`.
pub const FUNNEL_METRIC: &str = "business_funnel_step_total";

/// Significance level of the experiment comparison.
pub const SIGNIFICANCE_LEVEL: f64 = 0.05;

/// The variant other variants are compared with, when present.
pub const CONTROL_VARIANT: &str = "control";

/// A label the funnel can be split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Segmentation {
    /// `device_type`.
    DeviceType,
    /// `source` (traffic source).
    Source,
    /// `experiment_variant`; adds a significance test of overall conversion.
    ExperimentVariant,
}

impl Segmentation {
    /// The Prometheus label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::DeviceType => "device_type",
            Self::Source => "source",
            Self::ExperimentVariant => "experiment_variant",
        }
    }
}

/// The PromQL for the step counts of `spec` over `range`, optionally split by a label:
///
/// ```text
/// sum by (step[, label]) (increase(business_funnel_step_total{funnel="name", step=~"a|b|…"}[range]))
/// ```
#[must_use]
pub fn funnel_query(spec: &FunnelSpec, range: Duration, by: Option<Segmentation>) -> String {
    funnel_query_matching(spec, range, by, &[])
}

/// [`funnel_query`] with `matchers` added to its selector (`job="checkout"`, ...).
#[must_use]
pub fn funnel_query_matching(
    spec: &FunnelSpec,
    range: Duration,
    by: Option<Segmentation>,
    matchers: &[LabelMatcher],
) -> String {
    let group = by.map_or_else(|| "step".to_owned(), |s| format!("step, {}", s.label()));
    let steps: Vec<&str> = spec
        .steps()
        .as_slice()
        .iter()
        .map(StepName::as_str)
        .collect();
    // Funnel and step names are `[a-z][a-z0-9_]*`: nothing to escape.
    format!(
        "sum by ({group}) (increase({FUNNEL_METRIC}{{funnel=\"{}\", step=~\"{}\"{}}}[{}]))",
        spec.name(),
        steps.join("|"),
        continue_selector(matchers),
        format_promql_duration(range)
    )
}

/// One step of a segment's funnel. Ratios are `None` where the previous or first step is 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepStats {
    /// The step name.
    pub step: StepName,
    /// Entries into the step over the range (Prometheus' `increase`, rounded).
    pub count: u64,
    /// `count / previous count` (`None` for the first step or a zero previous count).
    pub step_conversion: Option<f64>,
    /// `count / first step's count`.
    pub overall_conversion: Option<f64>,
    /// `previous count - count` (`None` for the first step; negative if more arrived).
    pub drop_off: Option<i64>,
    /// `1 - step_conversion`.
    pub drop_off_rate: Option<f64>,
}

/// The funnel of one segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentFunnel {
    /// The segment's label value (`all` without segmentation, empty when the label is absent).
    pub segment: String,
    /// The steps in funnel order.
    pub steps: Vec<StepStats>,
    /// Last step over first step.
    pub overall_conversion: Option<f64>,
}

impl SegmentFunnel {
    fn entries(&self) -> u64 {
        self.steps.first().map_or(0, |s| s.count)
    }

    fn conversions(&self) -> u64 {
        self.steps.last().map_or(0, |s| s.count)
    }
}

/// One variant's overall conversion against the control's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantComparison {
    /// The variant.
    pub variant: String,
    /// The variant it is compared with.
    pub control: String,
    /// Two-proportion z-test: group 1 the control, group 2 the variant.
    pub test: ProportionTest,
    /// Whether the p-value is below [`SIGNIFICANCE_LEVEL`].
    pub significant: bool,
}

/// A funnel report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelReport {
    /// The funnel analysed.
    pub funnel: FunnelName,
    /// Where its step order came from.
    pub steps_from: StepsFrom,
    /// Its steps, in that order.
    pub steps: FunnelSteps,
    /// The PromQL run.
    pub query: String,
    /// The window in seconds.
    pub range_seconds: f64,
    /// The segmentation label, if any.
    pub by: Option<String>,
    /// One funnel per segment, sorted by segment.
    pub segments: Vec<SegmentFunnel>,
    /// For `experiment_variant`, each variant against the control.
    pub comparisons: Vec<VariantComparison>,
    /// The significance level used.
    pub alpha: f64,
}

/// Computes the funnel `spec` over `range` ending at `end` (the server's now when
/// `None`).
///
/// For a funnel whose order is not known, read it first with
/// [`discover_funnel`](crate::discover_funnel), giving it the same `end`.
///
/// # Errors
///
/// [`AnalysisError`]: Prometheus unreachable or rejecting the query, no funnel data,
/// or a count that is no count ([`AnalysisError::InvalidCount`]).
pub async fn funnel(
    client: &PrometheusClient,
    spec: &FunnelSpec,
    range: Duration,
    end: Option<SystemTime>,
    by: Option<Segmentation>,
) -> Result<FunnelReport, AnalysisError> {
    let query = funnel_query_matching(spec, range, by, client.matchers());
    let series = client.query(&query, end).await?;
    build_report(spec, &query, &series, range, by)
}

/// Builds the report of `spec` from the result of [`funnel_query`]. Series of steps
/// that are not in `spec` are ignored.
///
/// # Errors
///
/// [`AnalysisError::EmptyResult`] when no step has data,
/// [`AnalysisError::InvalidCount`] for a value that is NaN, infinite, negative or
/// above 2^53 (naming its series).
pub fn build_report(
    spec: &FunnelSpec,
    query: &str,
    series: &[InstantSeries],
    range: Duration,
    by: Option<Segmentation>,
) -> Result<FunnelReport, AnalysisError> {
    let mut counts: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for s in series {
        let Some(step) = s.labels.get("step").and_then(|label| {
            spec.steps()
                .as_slice()
                .iter()
                .find(|step| step.as_str() == label)
        }) else {
            continue;
        };
        let segment = match by {
            Some(b) => s.labels.get(b.label()).cloned().unwrap_or_default(),
            None => "all".to_owned(),
        };
        let count = read_count("funnel", query, s)?;
        let total = counts
            .entry(segment)
            .or_default()
            .entry(step.as_str())
            .or_default();
        // `sum by` gives each step and segment once; adding keeps any repeat, within 2^53.
        *total = add_counts(*total, count, "funnel", query, s)?;
    }
    if counts.is_empty() {
        return Err(AnalysisError::EmptyResult {
            role: "funnel".to_owned(),
            query: query.to_owned(),
        });
    }
    let segments: Vec<SegmentFunnel> = counts
        .into_iter()
        .map(|(segment, steps)| segment_funnel(segment, spec.steps(), &steps))
        .collect();
    let comparisons = if by == Some(Segmentation::ExperimentVariant) {
        compare_variants(&segments)?
    } else {
        Vec::new()
    };
    Ok(FunnelReport {
        funnel: spec.name().clone(),
        steps_from: spec.steps_from(),
        steps: spec.steps().clone(),
        query: query.to_owned(),
        range_seconds: range.as_secs_f64(),
        by: by.map(|b| b.label().to_owned()),
        segments,
        comparisons,
        alpha: SIGNIFICANCE_LEVEL,
    })
}

/// The value of `series` as a whole count, or [`AnalysisError::InvalidCount`] naming
/// the query and the series.
pub(crate) fn read_count(
    role: &str,
    query: &str,
    series: &InstantSeries,
) -> Result<u64, AnalysisError> {
    whole_count(series.sample.value).map_err(|reason| invalid_count(role, query, series, reason))
}

/// `a + b`, or [`AnalysisError::InvalidCount`] when the total passes 2^53.
pub(crate) fn add_counts(
    a: u64,
    b: u64,
    role: &str,
    query: &str,
    series: &InstantSeries,
) -> Result<u64, AnalysisError> {
    a.checked_add(b)
        .filter(|total| *total <= MAX_EXACT)
        .ok_or_else(|| {
            invalid_count(
                role,
                query,
                series,
                format!("a total above 2^53 ({a} + {b}) with another series of the same step"),
            )
        })
}

fn invalid_count(role: &str, query: &str, series: &InstantSeries, reason: String) -> AnalysisError {
    AnalysisError::InvalidCount {
        role: role.to_owned(),
        query: query.to_owned(),
        series: format_labels(&series.labels),
        reason,
    }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

fn segment_funnel(
    segment: String,
    order: &FunnelSteps,
    counts: &BTreeMap<&str, u64>,
) -> SegmentFunnel {
    let count = |step: &StepName| counts.get(step.as_str()).copied().unwrap_or(0);
    let first = order.as_slice().first().map_or(0, count);
    let mut previous: Option<u64> = None;
    let steps: Vec<StepStats> = order
        .as_slice()
        .iter()
        .map(|step| {
            let count = count(step);
            let step_conversion = previous.and_then(|p| ratio(count, p));
            let stats = StepStats {
                step: step.clone(),
                count,
                step_conversion,
                overall_conversion: ratio(count, first),
                // Counts are at most 2^53, so the difference always fits.
                drop_off: previous.and_then(|p| {
                    i64::try_from(p)
                        .ok()
                        .zip(i64::try_from(count).ok())
                        .and_then(|(p, c)| p.checked_sub(c))
                }),
                drop_off_rate: step_conversion.map(|c| 1.0 - c),
            };
            previous = Some(count);
            stats
        })
        .collect();
    let overall_conversion = steps.last().and_then(|s| s.overall_conversion);
    SegmentFunnel {
        segment,
        steps,
        overall_conversion,
    }
}

fn compare_variants(segments: &[SegmentFunnel]) -> Result<Vec<VariantComparison>, AnalysisError> {
    let control = segments
        .iter()
        .find(|s| s.segment == CONTROL_VARIANT)
        .or_else(|| segments.first());
    let Some(control) = control else {
        return Ok(Vec::new());
    };
    let mut comparisons = Vec::new();
    for variant in segments.iter().filter(|s| s.segment != control.segment) {
        if control.entries() == 0 || variant.entries() == 0 {
            continue;
        }
        let test = stats::two_proportion_test(
            control.conversions().min(control.entries()),
            control.entries(),
            variant.conversions().min(variant.entries()),
            variant.entries(),
        )?;
        comparisons.push(VariantComparison {
            variant: variant.segment.clone(),
            control: control.segment.clone(),
            significant: test.is_significant(SIGNIFICANCE_LEVEL),
            test,
        });
    }
    Ok(comparisons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Sample;
    use crate::definition::CHECKOUT_STEPS;

    fn point(step: &str, variant: &str, value: f64) -> InstantSeries {
        InstantSeries {
            labels: [("step", step), ("experiment_variant", variant)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            sample: Sample {
                timestamp: 0.0,
                value,
            },
        }
    }

    fn signup() -> FunnelSpec {
        FunnelSpec::parse("signup", &["landing_view", "signup_started", "subscribed"])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_query_selects_the_funnel_and_its_steps_and_groups_by_step_and_segment() {
        assert_eq!(
            funnel_query(&FunnelSpec::checkout(), Duration::from_secs(3600), Some(Segmentation::Source)),
            "sum by (step, source) (increase(business_funnel_step_total{funnel=\"checkout\", step=~\"cart_view|shipping_info|payment_info|order_review|order_confirmed\"}[3600s]))"
        );
        assert_eq!(
            funnel_query(&signup(), Duration::from_secs(5400), None),
            "sum by (step) (increase(business_funnel_step_total{funnel=\"signup\", step=~\"landing_view|signup_started|subscribed\"}[5400s]))"
        );
    }

    #[test]
    fn conversions_and_drop_off_follow_the_counts() {
        let series: Vec<InstantSeries> = [1000.0, 600.0, 450.0, 400.0, 300.0]
            .iter()
            .zip(CHECKOUT_STEPS)
            .map(|(&v, s)| point(s, "control", v))
            .collect();
        let report = build_report(
            &FunnelSpec::checkout(),
            "q",
            &series,
            Duration::from_secs(60),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let steps = &report.segments[0].steps;
        assert_eq!(steps[1].step_conversion, Some(0.6));
        assert_eq!(steps[1].drop_off, Some(400));
        assert_eq!(steps[4].overall_conversion, Some(0.3));
        assert_eq!(steps[0].step_conversion, None);
    }

    #[test]
    fn the_report_follows_the_specs_order_and_ignores_other_steps() {
        let series = [
            point("subscribed", "a", 50.0),
            point("signup_error", "a", 900.0),
            point("landing_view", "a", 1000.0),
            point("signup_started", "a", 200.0),
            point("milestone_x", "b", 7.0),
        ];
        let report = build_report(&signup(), "q", &series, Duration::from_secs(60), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.funnel.as_str(), "signup");
        assert_eq!(report.steps_from, StepsFrom::Definition);
        assert_eq!(
            report.steps.to_string(),
            "landing_view,signup_started,subscribed"
        );
        assert_eq!(report.segments.len(), 1);
        let steps: Vec<(&str, u64)> = report.segments[0]
            .steps
            .iter()
            .map(|s| (s.step.as_str(), s.count))
            .collect();
        assert_eq!(
            steps,
            [
                ("landing_view", 1000),
                ("signup_started", 200),
                ("subscribed", 50)
            ]
        );
        assert_eq!(report.segments[0].overall_conversion, Some(0.05));
    }

    #[test]
    fn a_missing_first_step_leaves_ratios_undefined() {
        let report = build_report(
            &FunnelSpec::checkout(),
            "q",
            &[point("order_confirmed", "a", 5.0)],
            Duration::from_secs(60),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.segments[0].overall_conversion, None);
    }

    #[test]
    fn values_that_are_no_count_are_data_errors_naming_the_series() {
        for (value, reason) in [
            (f64::NAN, "gave a value that is not a number"),
            (f64::INFINITY, "gave an infinite value (+Inf)"),
            (-5.0, "gave a negative value (-5)"),
            (1.8e19, "gave a value above 2^53 (1.8e19)"),
        ] {
            let series = [
                point("landing_view", "a", 1000.0),
                point("signup_started", "a\"b", value),
            ];
            match build_report(&signup(), "q", &series, Duration::from_secs(60), None) {
                Err(e @ AnalysisError::InvalidCount { .. }) => {
                    assert!(e.is_data_problem());
                    let message = e.to_string();
                    assert!(
                        message.starts_with(&format!("the funnel query `q` {reason}")),
                        "{message}"
                    );
                    assert!(
                        message.contains(
                            "for the series {experiment_variant=\"a\\\"b\", step=\"signup_started\"}"
                        ),
                        "{message}"
                    );
                    assert!(!message.contains("NaN"), "{message}");
                }
                other => panic!("{value}: {other:?}"),
            }
        }
        // Two series of one step adding up past 2^53.
        let series = [
            point("landing_view", "a", 9.0e15),
            point("landing_view", "a", 9.0e15),
        ];
        assert!(matches!(
            build_report(&signup(), "q", &series, Duration::from_secs(60), None),
            Err(AnalysisError::InvalidCount { reason, .. }) if reason.starts_with("a total above 2^53")
        ));
    }

    #[test]
    fn no_data_is_an_error() {
        for series in [&[][..], &[point("signup_error", "a", 3.0)][..]] {
            assert!(matches!(
                build_report(&signup(), "q", series, Duration::from_secs(60), None),
                Err(AnalysisError::EmptyResult { .. })
            ));
        }
    }
}
