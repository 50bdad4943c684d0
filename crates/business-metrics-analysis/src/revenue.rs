//! Money totals per currency: a money counter's increase over a range, or a money
//! gauge's latest value, each summed by `currency` (and by one more label).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::client::{format_labels, InstantSeries, PrometheusClient};
use crate::duration::format_promql_duration;
use crate::error::AnalysisError;
use crate::matcher::{braces, LabelMatcher};
use crate::money::CurrencyLabel;
use crate::names::{LabelName, MetricName};
use crate::reading::whole_count;
use crate::revenue_report::{RevenueReport, RevenueRow};

/// The revenue counter: `business_revenue_cents_total{product_category,
/// payment_method, region, currency}`, in minor units of `currency`.
pub const REVENUE_METRIC: &str = "business_revenue_cents_total";

/// The label every money instrument carries: an ISO 4217 code.
pub const CURRENCY_LABEL: &str = "currency";

/// The largest amount read exactly: 2^53 minor units. Prometheus holds values as
/// `f64`, which stops holding every integer above it.
pub const MAX_EXACT_MINOR: u64 = crate::reading::MAX_EXACT;

/// The segment of every row when the amounts are not split by a label.
pub const ALL_SEGMENTS: &str = "all";

/// How a money instrument is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reading {
    /// A counter: its increase over the range ending at the query time.
    Increase(Duration),
    /// A gauge: its latest value at the query time.
    Latest,
}

/// Which money instrument to read, how, and by which label besides `currency`.
///
/// ```
/// use std::time::Duration;
/// use business_metrics_analysis::{LabelName, MetricName, RevenueRequest};
///
/// let hour = RevenueRequest::revenue(Duration::from_secs(3600))
///     .with_by(LabelName::new("region")?)?;
/// assert_eq!(
///     hour.query(),
///     "sum by (region, currency) (increase(business_revenue_cents_total[3600s]))"
/// );
/// let mrr = RevenueRequest::gauge(MetricName::new("saas_mrr_cents")?);
/// assert_eq!(mrr.query(), "sum by (currency) (saas_mrr_cents)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueRequest {
    metric: MetricName,
    reading: Reading,
    by: Option<LabelName>,
}

impl RevenueRequest {
    /// [`REVENUE_METRIC`]'s increase over `range`.
    #[must_use]
    pub fn revenue(range: Duration) -> Self {
        Self::counter(MetricName::known(REVENUE_METRIC), range)
    }

    /// A money counter's increase over `range`.
    #[must_use]
    pub fn counter(metric: MetricName, range: Duration) -> Self {
        Self {
            metric,
            reading: Reading::Increase(range),
            by: None,
        }
    }

    /// A money gauge's latest value (e.g. `saas_mrr_cents`).
    #[must_use]
    pub fn gauge(metric: MetricName) -> Self {
        Self {
            metric,
            reading: Reading::Latest,
            by: None,
        }
    }

    /// Splits the amounts by `label` too (e.g. `region`).
    ///
    /// # Errors
    ///
    /// [`AnalysisError::InvalidArgument`] for [`CURRENCY_LABEL`], which every
    /// amount is split by already.
    pub fn with_by(mut self, label: LabelName) -> Result<Self, AnalysisError> {
        if label.as_str() == CURRENCY_LABEL {
            return Err(AnalysisError::InvalidArgument {
                name: format!("segment label `{label}`"),
                reason: "every amount is split by currency already; give another label, \
                         e.g. region"
                    .to_owned(),
            });
        }
        self.by = Some(label);
        Ok(self)
    }

    /// The instrument.
    #[must_use]
    pub fn metric(&self) -> &MetricName {
        &self.metric
    }

    /// How it is read.
    #[must_use]
    pub fn reading(&self) -> Reading {
        self.reading
    }

    /// The label the amounts are split by besides `currency`.
    #[must_use]
    pub fn by(&self) -> Option<&LabelName> {
        self.by.as_ref()
    }

    /// The PromQL: `sum by ([by, ]currency) (increase(metric[range]))` for a counter,
    /// `sum by ([by, ]currency) (metric)` for a gauge.
    #[must_use]
    pub fn query(&self) -> String {
        self.query_matching(&[])
    }

    /// [`RevenueRequest::query`] with `matchers` on the metric (`job="checkout"`, ...).
    #[must_use]
    pub fn query_matching(&self, matchers: &[LabelMatcher]) -> String {
        let groups = match &self.by {
            Some(by) => format!("{by}, {CURRENCY_LABEL}"),
            None => CURRENCY_LABEL.to_owned(),
        };
        let metric = format!("{}{}", self.metric, braces(matchers));
        match self.reading {
            Reading::Increase(range) => format!(
                "sum by ({groups}) (increase({metric}[{}]))",
                format_promql_duration(range)
            ),
            Reading::Latest => format!("sum by ({groups}) ({metric})"),
        }
    }
}

/// Reads the amounts `request` asks for at `end` (the server's now when `None`).
///
/// # Errors
///
/// [`AnalysisError::EmptyResult`] when the instrument has no data,
/// [`AnalysisError::InvalidAmount`] when a value is not a whole, finite amount from 0
/// to [`MAX_EXACT_MINOR`], or Prometheus unreachable or rejecting the query.
pub async fn revenue(
    client: &PrometheusClient,
    request: &RevenueRequest,
    end: Option<SystemTime>,
) -> Result<RevenueReport, AnalysisError> {
    let series = client
        .query(&request.query_matching(client.matchers()), end)
        .await?;
    build_revenue_report(request, &series)
}

/// Builds the report of `request` from the result of [`RevenueRequest::query`]: one
/// row per segment and currency, sorted by segment, then by currency label. Values
/// are rounded to whole minor units (`increase()` extrapolates, so a counter's
/// exact increase can come back as 149899.99999).
///
/// # Errors
///
/// [`AnalysisError::EmptyResult`] when there is no series,
/// [`AnalysisError::InvalidAmount`] for a value that is NaN, infinite, negative, or
/// above [`MAX_EXACT_MINOR`].
pub fn build_revenue_report(
    request: &RevenueRequest,
    series: &[InstantSeries],
) -> Result<RevenueReport, AnalysisError> {
    let query = request.query();
    if series.is_empty() {
        return Err(AnalysisError::EmptyResult {
            role: "revenue".to_owned(),
            query,
        });
    }
    let mut amounts: BTreeMap<(String, String), (CurrencyLabel, u64)> = BTreeMap::new();
    for s in series {
        let invalid = |reason: String| AnalysisError::InvalidAmount {
            role: "revenue".to_owned(),
            query: query.clone(),
            series: format_labels(&s.labels),
            reason,
        };
        let amount = whole_count(s.sample.value).map_err(invalid)?;
        let label = |name: &str| s.labels.get(name).cloned().unwrap_or_default();
        let segment = request
            .by
            .as_ref()
            .map_or_else(|| ALL_SEGMENTS.to_owned(), |by| label(by.as_str()));
        let code = label(CURRENCY_LABEL);
        let entry = amounts
            .entry((segment, code))
            .or_insert_with_key(|(_, code)| (CurrencyLabel::parse(code), 0));
        // `sum by` gives each segment and currency once; adding keeps any repeat,
        // within 2^53.
        entry.1 = entry
            .1
            .checked_add(amount)
            .filter(|total| *total <= MAX_EXACT_MINOR)
            .ok_or_else(|| {
                invalid(format!(
                    "a total above 2^53 ({} + {amount}) with another series of the same \
                     segment and currency",
                    entry.1
                ))
            })?;
    }
    let rows = amounts
        .into_iter()
        .map(|((segment, _), (currency, amount_minor))| RevenueRow {
            segment,
            currency,
            amount_minor,
        })
        .collect();
    Ok(RevenueReport {
        metric: request.metric.clone(),
        reading: request.reading,
        query,
        by: request.by.clone(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Sample;

    fn series(labels: &[(&str, &str)], value: f64) -> InstantSeries {
        InstantSeries {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            sample: Sample {
                timestamp: 1_700_000_000.0,
                value,
            },
        }
    }

    fn by_region() -> RevenueRequest {
        let region = LabelName::new("region").map_err(|e| e.to_string());
        match region.and_then(|r| {
            RevenueRequest::revenue(Duration::from_secs(3600))
                .with_by(r)
                .map_err(|e| e.to_string())
        }) {
            Ok(request) => request,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_default_metric_is_a_valid_metric_name() {
        assert_eq!(
            MetricName::new(REVENUE_METRIC),
            Ok(MetricName::known(REVENUE_METRIC))
        );
        assert!(LabelName::new(CURRENCY_LABEL).is_ok());
    }

    #[test]
    fn queries_sum_by_currency_and_the_segment_label() {
        assert_eq!(
            RevenueRequest::revenue(Duration::from_secs(5_400)).query(),
            "sum by (currency) (increase(business_revenue_cents_total[5400s]))"
        );
        assert_eq!(
            by_region().query(),
            "sum by (region, currency) (increase(business_revenue_cents_total[3600s]))"
        );
    }

    #[test]
    fn splitting_by_currency_again_is_refused() {
        let currency = LabelName::new(CURRENCY_LABEL).map_err(|e| e.to_string());
        let refused = currency.map(|c| RevenueRequest::revenue(Duration::from_secs(60)).with_by(c));
        assert!(
            matches!(refused, Ok(Err(AnalysisError::InvalidArgument { .. }))),
            "{refused:?}"
        );
    }

    #[test]
    fn rows_are_rounded_to_minor_units_and_sorted_by_segment_then_currency() {
        let result = [
            series(&[("region", "us"), ("currency", "USD")], 149_899.999_999_7),
            series(&[("region", "eu"), ("currency", "XBT")], 250.0),
            series(&[("region", "eu"), ("currency", "KWD")], 7.000_000_1),
            series(&[("currency", "JPY")], 1_499.0),
        ];
        let report = build_revenue_report(&by_region(), &result);
        let rows: Vec<(String, String, Option<u32>, u64)> = report
            .map(|r| {
                r.rows
                    .into_iter()
                    .map(|row| {
                        (
                            row.segment,
                            row.currency.code().to_owned(),
                            row.currency.exponent(),
                            row.amount_minor,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let expected = [
            ("", "JPY", Some(0), 1_499),
            ("eu", "KWD", Some(3), 7),
            ("eu", "XBT", None, 250),
            ("us", "USD", Some(2), 149_900),
        ]
        .map(|(s, c, e, a)| (s.to_owned(), c.to_owned(), e, a));
        assert_eq!(rows, expected);
    }

    #[test]
    fn values_that_are_no_amount_are_data_errors_that_never_say_nan() {
        for (value, reason) in [
            (f64::NAN, "a value that is not a number"),
            (f64::INFINITY, "an infinite value"),
            (f64::NEG_INFINITY, "an infinite value"),
            (-500.0, "a negative value (-500)"),
            (1e17, "a value above 2^53 (1e17)"),
        ] {
            let result = [series(&[("currency", "USD")], value)];
            match build_revenue_report(&RevenueRequest::revenue(Duration::from_secs(60)), &result) {
                Err(e @ AnalysisError::InvalidAmount { .. }) => {
                    assert!(e.is_data_problem());
                    let message = e.to_string();
                    assert!(message.contains(reason), "{message}");
                    assert!(message.contains("{currency=\"USD\"}"), "{message}");
                    assert!(!message.contains("NaN"), "{message}");
                }
                other => panic!("{value}: {other:?}"),
            }
        }
        let exact = [series(&[("currency", "JPY")], 9_007_199_254_740_992.0)];
        let report =
            build_revenue_report(&RevenueRequest::revenue(Duration::from_secs(60)), &exact);
        assert_eq!(
            report
                .map(|r| r.rows.first().map(|row| row.amount_minor))
                .ok(),
            Some(Some(MAX_EXACT_MINOR))
        );
    }

    #[test]
    fn no_series_is_no_data() {
        assert!(matches!(
            build_revenue_report(&RevenueRequest::revenue(Duration::from_secs(60)), &[]),
            Err(AnalysisError::EmptyResult { .. })
        ));
    }
}
