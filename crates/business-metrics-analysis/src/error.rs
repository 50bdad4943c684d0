//! Errors of the analyses.

use crate::client::ClientError;
use crate::definition::FunnelName;
use crate::stats::StatsError;

/// Why an analysis could not produce a result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisError {
    /// The request to Prometheus failed (see [`ClientError`]).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A query meant to give one series gave several.
    #[error(
        "the {role} query `{query}` returned {count} series where one is needed: {shown}; \
         {advice}"
    )]
    SeveralSeries {
        /// Which query (`technical`, `business`).
        role: String,
        /// The PromQL.
        query: String,
        /// How many series came back.
        count: usize,
        /// The label sets of the first few, PromQL style.
        shown: String,
        /// How to get one series: `sum(…)` for counts and rates; for quantiles, which
        /// cannot be summed or averaged, aggregating the histogram's buckets first.
        advice: String,
    },
    /// A query returned no data.
    #[error("the {role} query `{query}` returned no data in the range; check the metric name, labels and range")]
    EmptyResult {
        /// Which query (`technical`, `business`, `funnel`).
        role: String,
        /// The PromQL.
        query: String,
    },
    /// Fewer than two steps of the funnel have data, so its order cannot be read.
    #[error(
        "no funnel `{funnel}` found in the range: the query `{query}` gave {steps_found} \
         funnel step(s) where at least 2 are needed; check the funnel name and --range, \
         or give the steps in order with --steps a,b,c"
    )]
    FunnelNotFound {
        /// The funnel.
        funnel: FunnelName,
        /// The PromQL that read its steps.
        query: String,
        /// Steps found, error steps and milestones left out.
        steps_found: usize,
    },
    /// A step of the funnel in Prometheus has a name that is not a valid step name.
    #[error(
        "funnel `{funnel}` has a step `{step}` in prometheus that is no step name ({reason}), \
         so its order cannot be read; give the steps in order with --steps a,b,c"
    )]
    InvalidStepLabel {
        /// The funnel.
        funnel: FunnelName,
        /// The `step` label's value.
        step: String,
        /// What is wrong with it.
        reason: String,
    },
    /// After aligning the two series on timestamps too few points remain.
    #[error(
        "only {got} timestamps have values in both series, at least {needed} needed; \
         widen --range, shorten --step, or check that the series overlap in time"
    )]
    TooFewPoints {
        /// Aligned points.
        got: usize,
        /// Points required.
        needed: usize,
    },
    /// A series does not vary, so correlation is undefined.
    #[error(
        "the {role} series `{query}` is constant over the range, so correlation is undefined; \
         pick a range where it varies"
    )]
    ConstantSeries {
        /// Which query (`technical`, `business`).
        role: String,
        /// The PromQL.
        query: String,
    },
    /// A money query gave a value that is no amount of money: not a number, infinite,
    /// negative, or above 2^53 minor units (beyond what a Prometheus float holds exactly).
    #[error(
        "the {role} query `{query}` gave {reason} for the series {series}; amounts of \
         money are whole minor units from 0 to 2^53, so check how the metric is recorded \
         (a counter or gauge of minor units per currency)"
    )]
    InvalidAmount {
        /// Which query (`revenue`).
        role: String,
        /// The PromQL.
        query: String,
        /// The series' labels, PromQL style.
        series: String,
        /// What is wrong with the value, e.g. `a negative value (-500)`.
        reason: String,
    },
    /// A query for counts (funnel steps, conversions) gave a value that is no count:
    /// not a number, infinite, negative, or above 2^53 (beyond what a Prometheus
    /// float holds exactly).
    #[error(
        "the {role} query `{query}` gave {reason} for the series {series}; counts are \
         whole numbers from 0 to 2^53, so check that the metric is a counter of events \
         and what wrote it (an exporter or a recording rule)"
    )]
    InvalidCount {
        /// Which query (`funnel`, `funnel order`, `entries`, `completions`).
        role: String,
        /// The PromQL.
        query: String,
        /// The series' labels, PromQL style.
        series: String,
        /// What is wrong with the value, e.g. `a negative value (-5)`.
        reason: String,
    },
    /// A series to correlate or chart has a value no analysis can use: infinite, or
    /// so large in magnitude (above 1e100) that its squares overflow. (NaN samples,
    /// such as a ratio of 0 by 0 in a quiet minute, are gaps, left out.)
    #[error(
        "the {role} query `{query}` gave {reason} at {time} for the series {series}; a \
         series to correlate needs finite values below 1e100 in magnitude, so check the \
         query (a division by a series that can be 0 gives an infinite value)"
    )]
    InvalidSample {
        /// Which query (`technical`, `business`).
        role: String,
        /// The PromQL.
        query: String,
        /// The series' labels, PromQL style.
        series: String,
        /// The sample's time, RFC 3339.
        time: String,
        /// What is wrong with the value, e.g. `an infinite value (+Inf)`.
        reason: String,
    },
    /// A statistic was undefined for another reason.
    #[error(transparent)]
    Stats(#[from] StatsError),
    /// An argument was out of range.
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// The argument.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl AnalysisError {
    /// Whether the error is about the data (as opposed to reaching or querying Prometheus).
    #[must_use]
    pub fn is_data_problem(&self) -> bool {
        matches!(
            self,
            Self::SeveralSeries { .. }
                | Self::EmptyResult { .. }
                | Self::FunnelNotFound { .. }
                | Self::InvalidStepLabel { .. }
                | Self::TooFewPoints { .. }
                | Self::ConstantSeries { .. }
                | Self::InvalidAmount { .. }
                | Self::InvalidCount { .. }
                | Self::InvalidSample { .. }
                | Self::Stats(_)
        )
    }
}
