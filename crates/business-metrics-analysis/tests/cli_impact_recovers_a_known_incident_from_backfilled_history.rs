//! `bizmetrics impact` against a real Prometheus 3 holding five weeks of backfilled
//! shop history (see `support/history.rs`): daily and weekly seasonality, 2 % growth
//! a week, Poisson noise from a fixed seed, a restart that resets every counter in
//! the baseline, and a 30-minute incident that lost 60 % of orders. The estimated
//! losses must lie within a bound derived from the noise, their intervals must hold
//! the truth, a window without an incident must show none, EUR (sold for two days)
//! and a window at the start of the history must be "too short".
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::suboptimal_flops
)]

#[path = "support/history.rs"]
mod history;
mod support;

use history::{Truth, CURRENCIES, DAY, INCIDENT_END, INCIDENT_KEEPS, INCIDENT_START};
use serde_json::Value;
use support::bizmetrics;

/// Earlier windows with data for the incident: 6 days and 4 weeks.
const REFERENCES: f64 = 10.0;

/// The bound on |estimated − true| for a figure whose window holds `events` expected
/// events (orders) with value spread `cv2` (squared coefficient of variation of one
/// event's value; 0 for a count), relative to what the window would have held.
///
/// Derivation: events are Poisson, so a window's total has relative variance
/// (1 + cv²)/λ_W, the one-hour baseline's (1 + cv²)/λ_B with λ_B ≈ 2·λ_W. The
/// estimate is the median over n references of w_r·b₀/b_r: the current baseline's
/// noise b₀ enters fully, each reference's (w_r and b_r) is averaged by the median,
/// whose variance is π/2 times the mean's, so var ≈ (1+cv²)(1/λ_B + (π/2)(1/λ_W +
/// 1/λ_B)/n). The truth (what the window would have held) has its own noise
/// (1+cv²)/λ_W. Four standard deviations of the sum (two-sided 6e-5 for a normal)
/// plus 1 % for what the model leaves out (weekend peaks three hours later in two of
/// the six day references, `increase()` extrapolating 29 sampled minutes to 30).
fn relative_bound(events: f64, cv2: f64) -> f64 {
    let (w, b) = (events, 2.0 * events);
    let variance = (1.0 + cv2)
        * (1.0 / w + 1.0 / b + std::f64::consts::FRAC_PI_2 * (1.0 / w + 1.0 / b) / REFERENCES);
    4.0 * variance.sqrt() + 0.01
}

/// cv² of an order value uniform on [low, high].
fn uniform_cv2(low: u64, high: u64) -> f64 {
    let (low, high) = (low as f64, high as f64);
    let mean = (low + high) / 2.0;
    (high - low).powi(2) / 12.0 / (mean * mean)
}

fn run_json(url: &str, start: u64, end: u64, extra: &[&str]) -> Value {
    let (start, end) = (start.to_string(), end.to_string());
    let mut args = vec![
        "impact",
        "--prometheus",
        url,
        "--start",
        &start,
        "--end",
        &end,
    ];
    args.extend_from_slice(extra);
    args.push("--json");
    support::bizmetrics_json(&args)
}

fn run_text(url: &str, start: &str, end: &str) -> String {
    let args = [
        "impact",
        "--prometheus",
        url,
        "--start",
        start,
        "--end",
        end,
    ];
    let output = bizmetrics(&args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "bizmetrics {args:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.trim_end().to_owned()
}

fn currency<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["revenue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["currency"] == code)
        .unwrap_or_else(|| panic!("no {code} in {report:#}"))
}

/// Checks one figure's loss against the truth: within `bound` (relative to what
/// the window would have held) and inside its interval. Returns the relative error.
fn check_loss(
    what: &str,
    estimate: (f64, f64, f64),
    truth_loss: f64,
    without: f64,
    bound: f64,
) -> f64 {
    let (loss, low, high) = estimate;
    let error = (loss - truth_loss) / without;
    eprintln!(
        "{what}: loss {loss:.0} ({low:.0} to {high:.0}), true {truth_loss:.0}; error {:+.2} % of \
         {without:.0}, bound {:.2} %",
        error * 100.0,
        bound * 100.0
    );
    assert!(error.abs() <= bound, "{what}: error {error} beyond {bound}");
    assert!(
        low <= truth_loss && truth_loss <= high,
        "{what}: {truth_loss} not in [{low}, {high}]"
    );
    error
}

fn money_loss(row: &Value) -> (f64, f64, f64) {
    let get = |k: &str| row[k].as_i64().unwrap_or_else(|| panic!("{k} in {row:#}")) as f64;
    (
        get("loss_minor"),
        get("loss_low_minor"),
        get("loss_high_minor"),
    )
}

fn count_loss(figure: &Value) -> (f64, f64, f64) {
    let get = |k: &str| {
        figure[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} in {figure:#}"))
    };
    (get("loss"), get("loss_low"), get("loss_high"))
}

fn check_window(url: &str, window: (u64, u64), truth: &Truth) {
    let report = run_json(url, window.0, window.1, &[]);
    eprintln!("{}", report["summary"]);
    for &(code, _, low, high) in &CURRENCIES[..2] {
        let row = currency(&report, code);
        assert_eq!(row["status"], "estimated", "{row:#}");
        let (actual, without) = truth.revenue(code);
        let bound = relative_bound(truth.orders_mean(code), uniform_cv2(low, high));
        check_loss(code, money_loss(row), without - actual, without, bound);
    }
    let completions = &report["completions"];
    assert_eq!(completions["status"], "estimated");
    assert_eq!(completions["days_used"], 6);
    assert_eq!(completions["weeks_used"], 4);
    let bound = relative_bound(truth.completions_mean, 0.0);
    check_loss(
        "completions",
        count_loss(completions),
        truth.completions_without - truth.completions,
        truth.completions_without,
        bound,
    );
    // The restart in the baseline does not show: increase() spans the reset.
    let baseline = completions["baseline"].as_f64().unwrap();
    assert!(baseline > 1.5 * truth.completions_mean, "{baseline}");
}

#[test]
fn the_loss_of_a_known_incident_is_recovered_within_the_noise() {
    let incident = (INCIDENT_START, INCIDENT_END);
    let (text, truth) = history::openmetrics(incident);
    let Some(prom) = history::serve(&text) else {
        return;
    };
    let url = prom.url.as_str();
    check_window(url, incident, &truth);

    let report = run_json(url, INCIDENT_START, INCIDENT_END, &[]);
    // Money in each currency's own units: JPY has no decimals, USD two.
    let jpy = currency(&report, "JPY");
    assert_eq!(jpy["exponent"], 0);
    assert_eq!(jpy["actual_major"].as_f64(), jpy["actual_minor"].as_f64());
    let usd = currency(&report, "USD");
    assert_eq!(usd["exponent"], 2);
    assert_eq!(
        usd["expected_major"].as_f64().unwrap(),
        usd["expected_minor"].as_f64().unwrap() / 100.0
    );
    // EUR has been sold for two days: too short for an expectation, never summed
    // into another currency.
    let eur = currency(&report, "EUR");
    assert_eq!(eur["status"], "history_too_short", "{eur:#}");
    assert_eq!(eur["references_with_data"], 2);
    assert_eq!(eur["references_needed"], 4);
    assert_eq!(eur["expected_minor"], Value::Null);
    // Conversion fell from about 10 % to about 4 %, clearly.
    let conversion = &report["conversion"];
    let (during, expected) = (
        conversion["during"].as_f64().unwrap(),
        conversion["expected"].as_f64().unwrap(),
    );
    assert!(
        (during - 0.1 * INCIDENT_KEEPS).abs() < 0.005,
        "{conversion:#}"
    );
    assert!((expected - 0.1).abs() < 0.005, "{conversion:#}");
    assert!(conversion["test"]["p_value"].as_f64().unwrap() < 1e-9);

    // Purchases are the same orders counted another way.
    let purchases = run_json(
        url,
        INCIDENT_START,
        INCIDENT_END,
        &["--conversion-type", "purchase"],
    );
    assert_eq!(purchases["completions"]["name"], "purchase conversions");
    assert_eq!(
        purchases["completions"]["actual"],
        report["completions"]["actual"]
    );
    assert_eq!(
        purchases["completions"]["expected"],
        report["completions"]["expected"]
    );

    // The sentence for the incident review.
    let sentence = run_text(url, "2026-03-11T15:05:00Z", "2026-03-11T16:35:00+01:00");
    eprintln!("{sentence}");
    assert!(
        sentence.starts_with("Between 2026-03-11 15:05 and 15:35 UTC, revenue was EUR "),
        "{sentence}"
    );
    assert!(
        sentence.contains(
            "(history too short for an expectation: 2 of 10 earlier windows have data, 4 needed)"
        ),
        "{sentence}"
    );
    assert!(sentence.contains("; JPY "), "{sentence}");
    assert!(sentence.contains(": a loss of about USD "), "{sentence}");
    assert!(
        sentence.contains("Checkout completions (order_confirmed): "),
        "{sentence}"
    );
    assert!(sentence.contains(" fewer ("), "{sentence}");
    assert!(
        sentence.contains("Checkout conversion (cart_view to order_confirmed) was 4."),
        "{sentence}"
    );
    assert!(
        sentence.ends_with(
            "Expectation from the same window on 6 of the last 6 days and 4 of the last 4 \
             weeks, scaled by the hour before."
        ),
        "{sentence}"
    );
    assert_eq!(report["summary"], sentence);

    // Another service's job has none of this shop's series: no data (exit 5).
    let (start, end) = (INCIDENT_START.to_string(), INCIDENT_END.to_string());
    let other = bizmetrics(&[
        "impact",
        "--prometheus",
        url,
        "--job",
        "billing",
        "--start",
        &start,
        "--end",
        &end,
    ]);
    assert_eq!(
        other.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    // The same half hour a day earlier had no incident: the loss is about zero.
    let quiet = (INCIDENT_START - DAY, INCIDENT_END - DAY);
    let (_, quiet_truth) = history::openmetrics(quiet);
    check_window(url, quiet, &quiet_truth);

    // At the start of the history two earlier windows have data: too short.
    let early = run_json(url, INCIDENT_START - 33 * DAY, INCIDENT_END - 33 * DAY, &[]);
    eprintln!("{}", early["summary"]);
    assert_eq!(early["completions"]["status"], "history_too_short");
    assert_eq!(early["completions"]["references_with_data"], 2);
    assert_eq!(currency(&early, "USD")["status"], "history_too_short");
    assert!(early["summary"]
        .as_str()
        .unwrap()
        .ends_with("No expectation: fewer than 4 of the 10 earlier windows have data."));
}
