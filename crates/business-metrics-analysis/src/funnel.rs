//! Conversion-funnel analysis of `business_funnel_step_total`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::client::{InstantSeries, PrometheusClient};
use crate::duration::format_promql_duration;
use crate::error::AnalysisError;
use crate::stats::{self, ProportionTest};

/// The counter every funnel step increments.
pub const FUNNEL_METRIC: &str = "business_funnel_step_total";

/// The checkout funnel's steps, in order.
pub const FUNNEL_STEPS: [&str; 5] = [
    "cart_view",
    "shipping_info",
    "payment_info",
    "order_review",
    "order_confirmed",
];

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

/// The PromQL for step counts over `range`, optionally split by a label:
/// `sum by (step[, label]) (increase(business_funnel_step_total{step=~"cart_view|…"}[range]))`.
#[must_use]
pub fn funnel_query(range: Duration, by: Option<Segmentation>) -> String {
    let group = by.map_or_else(|| "step".to_owned(), |s| format!("step, {}", s.label()));
    format!(
        "sum by ({group}) (increase({FUNNEL_METRIC}{{step=~\"{}\"}}[{}]))",
        FUNNEL_STEPS.join("|"),
        format_promql_duration(range)
    )
}

/// One step of a segment's funnel. Ratios are `None` where the previous or first step is 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepStats {
    /// The step name.
    pub step: String,
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

/// Computes the funnel over `range` ending at `end` (the server's now when `None`).
///
/// # Errors
///
/// [`AnalysisError`]: Prometheus unreachable or rejecting the query, or no funnel data.
pub async fn funnel(
    client: &PrometheusClient,
    range: Duration,
    end: Option<SystemTime>,
    by: Option<Segmentation>,
) -> Result<FunnelReport, AnalysisError> {
    let query = funnel_query(range, by);
    let series = client.query(&query, end).await?;
    build_report(&query, &series, range, by)
}

/// Builds the report from the result of [`funnel_query`].
///
/// # Errors
///
/// [`AnalysisError::EmptyResult`] when no step has data.
pub fn build_report(
    query: &str,
    series: &[InstantSeries],
    range: Duration,
    by: Option<Segmentation>,
) -> Result<FunnelReport, AnalysisError> {
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for s in series {
        let step = s.labels.get("step").cloned().unwrap_or_default();
        let segment = match by {
            Some(b) => s.labels.get(b.label()).cloned().unwrap_or_default(),
            None => "all".to_owned(),
        };
        *counts.entry(segment).or_default().entry(step).or_default() += round_count(s.sample.value);
    }
    if counts.is_empty() {
        return Err(AnalysisError::EmptyResult {
            role: "funnel".to_owned(),
            query: query.to_owned(),
        });
    }
    let segments: Vec<SegmentFunnel> = counts
        .into_iter()
        .map(|(segment, steps)| segment_funnel(segment, &steps))
        .collect();
    let comparisons = if by == Some(Segmentation::ExperimentVariant) {
        compare_variants(&segments)?
    } else {
        Vec::new()
    };
    Ok(FunnelReport {
        query: query.to_owned(),
        range_seconds: range.as_secs_f64(),
        by: by.map(|b| b.label().to_owned()),
        segments,
        comparisons,
        alpha: SIGNIFICANCE_LEVEL,
    })
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // clamped to 0..=u64::MAX first
fn round_count(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value.round().min(u64::MAX as f64) as u64
    } else {
        0
    }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

fn segment_funnel(segment: String, counts: &BTreeMap<String, u64>) -> SegmentFunnel {
    let first = counts.get(FUNNEL_STEPS[0]).copied().unwrap_or(0);
    let mut previous: Option<u64> = None;
    let steps: Vec<StepStats> = FUNNEL_STEPS
        .iter()
        .map(|&step| {
            let count = counts.get(step).copied().unwrap_or(0);
            let step_conversion = previous.and_then(|p| ratio(count, p));
            let stats = StepStats {
                step: step.to_owned(),
                count,
                step_conversion,
                overall_conversion: ratio(count, first),
                drop_off: previous.map(|p| {
                    i64::try_from(p).unwrap_or(i64::MAX) - i64::try_from(count).unwrap_or(i64::MAX)
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

    #[test]
    fn the_query_groups_by_step_and_segment() {
        assert_eq!(
            funnel_query(Duration::from_secs(3600), Some(Segmentation::Source)),
            "sum by (step, source) (increase(business_funnel_step_total{step=~\"cart_view|shipping_info|payment_info|order_review|order_confirmed\"}[3600s]))"
        );
    }

    #[test]
    fn conversions_and_drop_off_follow_the_counts() {
        let series: Vec<InstantSeries> = [1000.0, 600.0, 450.0, 400.0, 300.0]
            .iter()
            .zip(FUNNEL_STEPS)
            .map(|(&v, s)| point(s, "control", v))
            .collect();
        let report = build_report("q", &series, Duration::from_secs(60), None)
            .unwrap_or_else(|e| panic!("{e}"));
        let steps = &report.segments[0].steps;
        assert_eq!(steps[1].step_conversion, Some(0.6));
        assert_eq!(steps[1].drop_off, Some(400));
        assert_eq!(steps[4].overall_conversion, Some(0.3));
        assert_eq!(steps[0].step_conversion, None);
    }

    #[test]
    fn a_missing_first_step_leaves_ratios_undefined() {
        let report = build_report(
            "q",
            &[point("order_confirmed", "a", 5.0)],
            Duration::from_secs(60),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.segments[0].overall_conversion, None);
    }

    #[test]
    fn no_data_is_an_error() {
        assert!(matches!(
            build_report("q", &[], Duration::from_secs(60), None),
            Err(AnalysisError::EmptyResult { .. })
        ));
    }
}
