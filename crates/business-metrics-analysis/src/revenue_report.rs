//! The money report: its rows, its JSON and its text.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::duration::format_duration;
use crate::money::CurrencyLabel;
use crate::names::{LabelName, MetricName};
use crate::revenue::{Reading, REVENUE_METRIC};

/// One segment's amount in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueRow {
    /// The segment label's value ([`crate::ALL_SEGMENTS`] without one, empty when a
    /// series lacks the label).
    pub segment: String,
    /// The currency label, read once.
    pub currency: CurrencyLabel,
    /// The amount in minor units, rounded from Prometheus' float.
    pub amount_minor: u64,
}

impl RevenueRow {
    /// The amount with its code: `1499.00 USD`, or in minor units with a note when
    /// the currency is unknown.
    #[must_use]
    pub fn formatted(&self) -> String {
        self.currency.format(self.amount_minor)
    }
}

/// Each row as `{segment, currency, exponent, amount_minor, amount_major, note}`;
/// `exponent` and `amount_major` (a string, exact) are null and `note` says why when
/// the currency is unknown.
impl Serialize for RevenueRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Row<'a> {
            segment: &'a str,
            currency: &'a str,
            exponent: Option<u32>,
            amount_minor: u64,
            amount_major: Option<String>,
            note: Option<&'static str>,
        }
        Row {
            segment: &self.segment,
            currency: self.currency.code(),
            exponent: self.currency.exponent(),
            amount_minor: self.amount_minor,
            amount_major: self.currency.major(self.amount_minor),
            note: self.currency.note(),
        }
        .serialize(serializer)
    }
}

/// Amounts of one money instrument per segment and currency.
///
/// Its text ([`fmt::Display`]) is one line without a segment label,
/// `revenue over 1h: 1499 JPY, 1.499 KWD, 1499.00 USD`, else a title and a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueReport {
    /// The instrument read.
    pub metric: MetricName,
    /// How it was read.
    pub reading: Reading,
    /// The PromQL run.
    pub query: String,
    /// The label the amounts are split by besides `currency`.
    pub by: Option<LabelName>,
    /// One row per segment and currency, sorted by segment, then by currency label.
    pub rows: Vec<RevenueRow>,
}

impl RevenueReport {
    /// What was read: `revenue over 1h` ([`REVENUE_METRIC`]),
    /// `shop_refunds_cents_total increase over 1h`, `latest saas_mrr_cents`.
    #[must_use]
    pub fn title(&self) -> String {
        match self.reading {
            Reading::Increase(range) if self.metric.as_str() == REVENUE_METRIC => {
                format!("revenue over {}", format_duration(range))
            }
            Reading::Increase(range) => {
                format!("{} increase over {}", self.metric, format_duration(range))
            }
            Reading::Latest => format!("latest {}", self.metric),
        }
    }

    fn table(&self, by: &LabelName) -> String {
        let has_notes = self.rows.iter().any(|r| r.currency.note().is_some());
        let mut rows = vec![[
            by.to_string(),
            "currency".to_owned(),
            "amount".to_owned(),
            if has_notes { "note" } else { "" }.to_owned(),
        ]];
        rows.extend(self.rows.iter().map(|row| {
            let segment = if row.segment.is_empty() {
                "(none)"
            } else {
                &row.segment
            };
            [
                segment.to_owned(),
                row.currency.code().to_owned(),
                row.currency
                    .major(row.amount_minor)
                    .unwrap_or_else(|| row.amount_minor.to_string()),
                row.currency.note().unwrap_or_default().to_owned(),
            ]
        }));
        let width = |column: usize| {
            rows.iter()
                .filter_map(|r| r.get(column))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2) = (width(0), width(1), width(2));
        rows.iter()
            .map(|[segment, currency, amount, note]| {
                format!("{segment:<w0$}  {currency:<w1$}  {amount:>w2$}  {note}")
                    .trim_end()
                    .to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl fmt::Display for RevenueReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.by {
            None => {
                let amounts: Vec<String> = self.rows.iter().map(RevenueRow::formatted).collect();
                write!(f, "{}: {}", self.title(), amounts.join(", "))
            }
            Some(by) => write!(f, "{} by {by}\n{}", self.title(), self.table(by)),
        }
    }
}

/// `{metric, reading: "increase" | "latest", range_seconds (null for a gauge), query,
/// by, rows}`.
impl Serialize for RevenueReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Report<'a> {
            metric: &'a MetricName,
            reading: &'static str,
            range_seconds: Option<f64>,
            query: &'a str,
            by: Option<&'a LabelName>,
            rows: &'a [RevenueRow],
        }
        let (reading, range_seconds) = match self.reading {
            Reading::Increase(range) => ("increase", Some(range.as_secs_f64())),
            Reading::Latest => ("latest", None),
        };
        Report {
            metric: &self.metric,
            reading,
            range_seconds,
            query: &self.query,
            by: self.by.as_ref(),
            rows: &self.rows,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn row(segment: &str, code: &str, amount_minor: u64) -> RevenueRow {
        RevenueRow {
            segment: segment.to_owned(),
            currency: CurrencyLabel::parse(code),
            amount_minor,
        }
    }

    fn report(
        metric: &'static str,
        reading: Reading,
        by: Option<&str>,
        rows: Vec<RevenueRow>,
    ) -> RevenueReport {
        RevenueReport {
            metric: MetricName::known(metric),
            reading,
            query: "q".to_owned(),
            by: by.and_then(|b| LabelName::new(b).ok()),
            rows,
        }
    }

    #[test]
    fn without_a_segment_the_text_is_one_line_of_amounts() {
        let hour = Reading::Increase(Duration::from_secs(3600));
        let r = report(
            REVENUE_METRIC,
            hour,
            None,
            vec![
                row("all", "JPY", 1_499),
                row("all", "KWD", 1_499),
                row("all", "USD", 149_900),
            ],
        );
        assert_eq!(
            r.to_string(),
            "revenue over 1h: 1499 JPY, 1.499 KWD, 1499.00 USD"
        );
        let r = report(
            "saas_mrr_cents",
            Reading::Latest,
            None,
            vec![row("all", "XBT", 250)],
        );
        assert_eq!(
            r.to_string(),
            "latest saas_mrr_cents: 250 XBT (unknown currency: minor units)"
        );
    }

    #[test]
    fn with_a_segment_the_text_is_a_table_with_amounts_right_aligned() {
        let r = report(
            REVENUE_METRIC,
            Reading::Increase(Duration::from_secs(5_400)),
            Some("region"),
            vec![
                row("", "JPY", 1_499),
                row("eu", "KWD", 7),
                row("eu", "XBT", 250),
                row("us", "USD", 149_900),
            ],
        );
        assert_eq!(
            r.to_string(),
            "revenue over 1h30m by region\n\
             region  currency   amount  note\n\
             (none)  JPY          1499\n\
             eu      KWD         0.007\n\
             eu      XBT           250  unknown currency: minor units\n\
             us      USD       1499.00"
        );
    }

    #[test]
    fn json_rows_carry_the_exponent_and_an_exact_major_amount() {
        let r = report(
            REVENUE_METRIC,
            Reading::Increase(Duration::from_secs(3600)),
            None,
            vec![row("all", "KWD", 1_499), row("all", "XBT", 250)],
        );
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "metric": "business_revenue_cents_total",
                "reading": "increase",
                "range_seconds": 3600.0,
                "query": "q",
                "by": null,
                "rows": [
                    {"segment": "all", "currency": "KWD", "exponent": 3, "amount_minor": 1499,
                     "amount_major": "1.499", "note": null},
                    {"segment": "all", "currency": "XBT", "exponent": null, "amount_minor": 250,
                     "amount_major": null, "note": "unknown currency: minor units"},
                ]
            })
        );
    }
}
