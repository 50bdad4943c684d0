//! `bizmetrics` against a real Prometheus holding backfilled history with a known
//! correlation, lag and slope, and known funnel counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use serde_json::Value;
use support::{
    bizmetrics, bizmetrics_json, correlate_args, expected_counts, funnel_args, start_prometheus,
    step_counts, true_r, CHECKOUT, STEPS, TRUE_LAG_STEPS, TRUE_SLOPE,
};

/// The `correlate` arguments of the designed pair (latency against orders over three
/// hours, lags up to ten minutes), followed by `extra`.
fn designed_correlation<'a>(url: &'a str, end: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = correlate_args(
        url,
        "shop_request_latency_seconds",
        "shop_orders_per_minute",
        "3h",
        end,
        &["--max-lag", "10m"],
    );
    args.extend_from_slice(extra);
    args
}

#[test]
fn correlate_and_funnel_recover_the_truth_from_backfilled_history() {
    let Some(prom) = start_prometheus() else {
        return;
    };
    let end = prom.window.end.to_string();
    let url = prom.url.as_str();

    // Correlation: r within 0.03 of the design's -0.970, the lag exact, the slope within
    // 3 (about four standard errors with 178 points and this noise).
    let report = bizmetrics_json(&designed_correlation(url, &end, &["--json"]));
    eprintln!("correlation report: {report:#}");
    let r = report["pearson"].as_f64().unwrap();
    assert!(
        (r - true_r()).abs() < 0.03,
        "r = {r}, expected {}",
        true_r()
    );
    assert_eq!(report["lag_steps"].as_u64(), Some(TRUE_LAG_STEPS as u64));
    assert_eq!(report["lag_seconds"].as_f64(), Some(180.0));
    let slope = report["slope"].as_f64().unwrap();
    assert!((slope - TRUE_SLOPE).abs() < 3.0, "slope = {slope}");
    assert_eq!(report["aligned_points"].as_u64(), Some(181));
    assert_eq!(report["points"].as_u64(), Some(178));
    assert_eq!(report["strength"], "strong");
    assert_eq!(report["direction"], "negative");
    let (lower, upper) = (
        report["confidence_interval"]["lower"].as_f64().unwrap(),
        report["confidence_interval"]["upper"].as_f64().unwrap(),
    );
    assert!(lower < r && r < upper && lower > -1.0 && upper < 0.0);
    let rho = report["spearman"].as_f64().unwrap();
    assert!(rho < -0.9, "spearman = {rho}");

    // The table says the same in words.
    let table = bizmetrics(&designed_correlation(url, &end, &[]));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    assert!(text.contains("strong negative correlation"), "{text}");
    assert!(!text.contains("NaN"));

    // Funnel over the last hour: the counts are exact (linear counters, see support).
    // Without --funnel it is the checkout, in its built-in order; `checkout_error` and
    // the signup funnel's series are left out.
    let funnel = bizmetrics_json(&funnel_args(url, &end, &["--json"]));
    assert_eq!(funnel["funnel"], "checkout");
    assert_eq!(funnel["steps_from"], "definition");
    assert_eq!(funnel["steps"], Value::from(STEPS.to_vec()));
    assert_eq!(
        funnel["query"],
        "sum by (step) (increase(business_funnel_step_total{funnel=\"checkout\", \
         step=~\"cart_view|shipping_info|payment_info|order_review|order_confirmed\"}[3600s]))"
    );
    let all = &funnel["segments"][0];
    assert_eq!(funnel["segments"].as_array().map(Vec::len), Some(1));
    assert_eq!(all["segment"], "all");
    let counts = expected_counts(&CHECKOUT, "", "");
    assert_eq!(counts, [30_000, 21_500, 15_600, 12_600, 3_310]);
    assert_eq!(step_counts(all), counts);
    assert_eq!(all["steps"][0]["step"], STEPS[0]);
    assert_eq!(all["overall_conversion"].as_f64(), Some(3_310.0 / 30_000.0));
    assert_eq!(all["steps"][1]["drop_off"].as_i64(), Some(8_500));
    // Naming the checkout changes nothing.
    let named = bizmetrics_json(&funnel_args(url, &end, &["--json", "--funnel", "checkout"]));
    assert_eq!(named, funnel);

    for (label, values) in [
        ("device_type", &["desktop", "mobile"][..]),
        ("source", &["google_ads", "newsletter"][..]),
        (
            "experiment_variant",
            &["control", "variant_a", "variant_b"][..],
        ),
    ] {
        let report = bizmetrics_json(&funnel_args(url, &end, &["--json", "--by", label]));
        let segments = report["segments"].as_array().unwrap();
        let names: Vec<&str> = segments
            .iter()
            .map(|s| s["segment"].as_str().unwrap())
            .collect();
        assert_eq!(names, values, "segments by {label}");
        for segment in segments {
            let name = segment["segment"].as_str().unwrap();
            assert_eq!(
                step_counts(segment),
                expected_counts(&CHECKOUT, label, name),
                "{label}={name}"
            );
        }
    }

    // Experiment: variant_a (13 % against 10 %) is significant, variant_b (10.1 %) is not.
    let report = bizmetrics_json(&funnel_args(
        url,
        &end,
        &["--json", "--by", "experiment_variant"],
    ));
    eprintln!("experiment comparisons: {:#}", report["comparisons"]);
    let comparisons = report["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 2);
    let a = &comparisons[0];
    assert_eq!(
        (a["variant"].as_str(), a["control"].as_str()),
        (Some("variant_a"), Some("control"))
    );
    assert_eq!(a["significant"], true);
    assert!(a["test"]["p_value"].as_f64().unwrap() < 1e-6);
    let b = &comparisons[1];
    assert_eq!(b["variant"], "variant_b");
    assert_eq!(b["significant"], false);
    let p = b["test"]["p_value"].as_f64().unwrap();
    // 1010/10000 against 1000/10000: pooled 0.1005, z = 0.001/√(0.1005·0.8995·2/10000) = 0.235, p = 0.814.
    assert!((p - 0.814).abs() < 0.001, "p = {p}");

    let table = bizmetrics(&funnel_args(url, &end, &["--by", "experiment_variant"]));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    assert!(
        text.contains("p-value") && text.contains("yes (p < 0.05)"),
        "{text}"
    );
    eprintln!("{text}");
}
