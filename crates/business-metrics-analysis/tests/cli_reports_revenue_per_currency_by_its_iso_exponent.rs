//! `bizmetrics revenue` against a real Prometheus: a revenue counter in USD, JPY, KWD
//! and a label that is no ISO 4217 code, and an MRR gauge, all with known amounts (see
//! `support::money`), in text and JSON, whole and by a label.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use serde_json::{json, Value};
use support::money::{MRR, REVENUE};
use support::{bizmetrics, bizmetrics_json, revenue_args, start_prometheus};

/// Runs `bizmetrics` with `args`, expects success, and returns its text output.
fn text(args: &[&str]) -> String {
    let output = bizmetrics(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "bizmetrics {args:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.trim_end().to_owned()
}

/// One JSON row.
fn row(
    segment: &str,
    currency: &str,
    exponent: Option<u32>,
    minor: u64,
    major: Option<&str>,
) -> Value {
    json!({
        "segment": segment,
        "currency": currency,
        "exponent": exponent,
        "amount_minor": minor,
        "amount_major": major,
        "note": if exponent.is_some() { None } else { Some("unknown currency: minor units") },
    })
}

#[test]
fn a_counters_increase_is_summed_per_currency_and_shown_by_its_exponent() {
    let Some(prom) = start_prometheus() else {
        return;
    };
    let end = prom.window.end.to_string();
    let url = prom.url.as_str();
    let total = |currency: &str| -> u64 {
        REVENUE
            .iter()
            .filter(|r| r.3 == currency)
            .map(|r| r.4)
            .sum()
    };
    assert_eq!(
        (total("USD"), total("JPY"), total("KWD"), total("XBT")),
        (149_905, 1_499, 1_499, 250)
    );

    // The default metric, one line: currencies by code, each with its own decimals.
    assert_eq!(
        text(&revenue_args(url, &end, &["--range", "1h"])),
        "revenue over 1h: 1499 JPY, 1.499 KWD, 1499.05 USD, \
         250 XBT (unknown currency: minor units)"
    );

    let report = bizmetrics_json(&revenue_args(url, &end, &["--range", "1h", "--json"]));
    eprintln!("{report:#}");
    assert_eq!(report["metric"], "business_revenue_cents_total");
    assert_eq!(report["reading"], "increase");
    assert_eq!(report["range_seconds"].as_f64(), Some(3600.0));
    assert_eq!(report["by"], Value::Null);
    assert_eq!(
        report["query"],
        "sum by (currency) (increase(business_revenue_cents_total[3600s]))"
    );
    assert_eq!(
        report["rows"],
        json!([
            row("all", "JPY", Some(0), 1_499, Some("1499")),
            row("all", "KWD", Some(3), 1_499, Some("1.499")),
            row("all", "USD", Some(2), 149_905, Some("1499.05")),
            row("all", "XBT", None, 250, None),
        ])
    );

    // By region, the metric named: small amounts keep their leading zeros.
    let by_region = [
        "--range",
        "1h",
        "--metric",
        "business_revenue_cents_total",
        "--by",
        "region",
    ];
    assert_eq!(
        text(&revenue_args(url, &end, &by_region)),
        "revenue over 1h by region\n\
         region  currency   amount  note\n\
         eu      KWD         0.007\n\
         eu      USD          0.05\n\
         eu      XBT           250  unknown currency: minor units\n\
         jp      JPY          1499\n\
         kw      KWD         1.492\n\
         us      USD       1499.00"
    );
    let json_args: Vec<&str> = by_region.iter().copied().chain(["--json"]).collect();
    let report = bizmetrics_json(&revenue_args(url, &end, &json_args));
    assert_eq!(report["by"], "region");
    assert_eq!(
        report["query"],
        "sum by (region, currency) (increase(business_revenue_cents_total[3600s]))"
    );
    assert_eq!(
        report["rows"],
        json!([
            row("eu", "KWD", Some(3), 7, Some("0.007")),
            row("eu", "USD", Some(2), 5, Some("0.05")),
            row("eu", "XBT", None, 250, None),
            row("jp", "JPY", Some(0), 1_499, Some("1499")),
            row("kw", "KWD", Some(3), 1_492, Some("1.492")),
            row("us", "USD", Some(2), 149_900, Some("1499.00")),
        ])
    );

    // A label no series has: one segment, shown as (none).
    assert_eq!(
        text(&revenue_args(
            url,
            &end,
            &["--range", "1h", "--by", "channel"]
        )),
        "revenue over 1h by channel\n\
         channel  currency   amount  note\n\
         (none)   JPY          1499\n\
         (none)   KWD         1.499\n\
         (none)   USD       1499.05\n\
         (none)   XBT           250  unknown currency: minor units"
    );

    // Half the window: half the increase.
    let half = bizmetrics_json(&revenue_args(
        url,
        &end,
        &["--range", "30m", "--by", "region", "--json"],
    ));
    assert_eq!(half["range_seconds"].as_f64(), Some(1800.0));
    let us = half["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["segment"] == "us")
        .unwrap();
    assert_eq!(*us, row("us", "USD", Some(2), 74_950, Some("749.50")));
}

#[test]
fn a_money_gauge_is_read_at_its_latest_value() {
    let Some(prom) = start_prometheus() else {
        return;
    };
    let end = prom.window.end.to_string();
    let url = prom.url.as_str();
    let gauge = ["--metric", "saas_mrr_cents", "--gauge"];
    assert_eq!(
        MRR.iter()
            .filter(|m| m.2 == "USD")
            .map(|m| m.3)
            .sum::<u64>(),
        6_980_000
    );

    assert_eq!(
        text(&revenue_args(url, &end, &gauge)),
        "latest saas_mrr_cents: 12345.67 EUR, 150000 JPY, 69800.00 USD"
    );

    let json_args: Vec<&str> = gauge.iter().copied().chain(["--json"]).collect();
    let report = bizmetrics_json(&revenue_args(url, &end, &json_args));
    eprintln!("{report:#}");
    assert_eq!(report["metric"], "saas_mrr_cents");
    assert_eq!(report["reading"], "latest");
    assert_eq!(report["range_seconds"], Value::Null);
    assert_eq!(report["query"], "sum by (currency) (saas_mrr_cents)");
    assert_eq!(
        report["rows"],
        json!([
            row("all", "EUR", Some(2), 1_234_567, Some("12345.67")),
            row("all", "JPY", Some(0), 150_000, Some("150000")),
            row("all", "USD", Some(2), 6_980_000, Some("69800.00")),
        ])
    );

    let by_plan: Vec<&str> = gauge.iter().copied().chain(["--by", "plan"]).collect();
    assert_eq!(
        text(&revenue_args(url, &end, &by_plan)),
        "latest saas_mrr_cents by plan\n\
         plan  currency    amount\n\
         pro   EUR       12345.67\n\
         pro   JPY         150000\n\
         pro   USD       49900.00\n\
         team  USD       19900.00"
    );

    // A minute earlier every series was 100 minor units lower.
    let earlier = (prom.window.end - 60).to_string();
    let by_region: Vec<&str> = gauge
        .iter()
        .copied()
        .chain(["--by", "region", "--json"])
        .collect();
    let report = bizmetrics_json(&revenue_args(url, &earlier, &by_region));
    assert_eq!(
        report["rows"],
        json!([
            row("eu", "EUR", Some(2), 1_234_467, Some("12344.67")),
            row("jp", "JPY", Some(0), 149_900, Some("149900")),
            row("us", "USD", Some(2), 6_979_800, Some("69798.00")),
        ])
    );
}
