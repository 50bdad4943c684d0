//! `bizmetrics funnel --funnel signup` against a real Prometheus that also holds the
//! checkout funnel: the order read from Prometheus, the same figures with `--steps`,
//! and the experiment comparison, all known in advance (see `support::SIGNUP`).
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
    bizmetrics, bizmetrics_json, expected_counts, funnel_args, start_prometheus, step_counts,
    SIGNUP,
};

/// The step names of one segment of a JSON funnel report, in report order.
fn step_names(segment: &Value) -> Vec<&str> {
    segment["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect()
}

#[test]
fn a_custom_funnels_order_is_read_from_prometheus_and_its_figures_are_exact() {
    let Some(prom) = start_prometheus() else {
        return;
    };
    let end = prom.window.end.to_string();
    let url = prom.url.as_str();
    let defined_order = SIGNUP.steps.join(",");

    // The order read from Prometheus is the definition's: `signup_error` and
    // `milestone_x` are left out, the checkout's larger counts do not leak in.
    let inferred = bizmetrics_json(&funnel_args(url, &end, &["--json", "--funnel", "signup"]));
    eprintln!("signup funnel: {inferred:#}");
    assert_eq!(inferred["funnel"], "signup");
    assert_eq!(inferred["steps_from"], "prometheus");
    assert_eq!(inferred["steps"], Value::from(SIGNUP.steps.to_vec()));
    assert_eq!(
        inferred["query"],
        "sum by (step) (increase(business_funnel_step_total{funnel=\"signup\", \
         step=~\"landing_view|signup_started|email_verified|workspace_created|first_project|subscribed\"}[3600s]))"
    );
    let segments = inferred["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 1);
    let all = &segments[0];
    assert_eq!(all["segment"], "all");
    assert_eq!(step_names(all), SIGNUP.steps);
    let counts = expected_counts(&SIGNUP, "", "");
    assert_eq!(counts, [16_000, 8_400, 6_400, 4_400, 2_200, 960]);
    assert_eq!(step_counts(all), counts);
    assert_eq!(all["overall_conversion"].as_f64(), Some(0.06));
    assert_eq!(all["steps"][1]["step_conversion"].as_f64(), Some(0.525));
    assert_eq!(all["steps"][2]["drop_off"].as_i64(), Some(2_000));
    assert_eq!(all["steps"][5]["overall_conversion"].as_f64(), Some(0.06));
    assert_eq!(inferred["comparisons"], Value::Array(Vec::new()));

    // The same steps given with --steps: the same figures, from the definition.
    let defined = bizmetrics_json(&funnel_args(
        url,
        &end,
        &["--json", "--funnel", "signup", "--steps", &defined_order],
    ));
    assert_eq!(defined["steps_from"], "definition");
    for key in ["funnel", "steps", "query", "range_seconds", "segments"] {
        assert_eq!(defined[key], inferred[key], "{key}");
    }

    // --steps is taken as given, even when it skips steps.
    let skipping = bizmetrics_json(&funnel_args(
        url,
        &end,
        &[
            "--json",
            "--funnel",
            "signup",
            "--steps",
            "landing_view,subscribed",
        ],
    ));
    assert_eq!(step_counts(&skipping["segments"][0]), [16_000, 960]);
    assert_eq!(
        skipping["segments"][0]["overall_conversion"].as_f64(),
        Some(0.06)
    );

    // By experiment variant: each variant's counts, and 7 % against 5 % of 8000 each is
    // significant (z = 0.02 / √(0.06 · 0.94 · 2 / 8000)).
    let by_variant = bizmetrics_json(&funnel_args(
        url,
        &end,
        &["--json", "--funnel", "signup", "--by", "experiment_variant"],
    ));
    assert_eq!(by_variant["steps_from"], "prometheus");
    assert_eq!(by_variant["steps"], Value::from(SIGNUP.steps.to_vec()));
    assert_eq!(by_variant["by"], "experiment_variant");
    let segments = by_variant["segments"].as_array().unwrap();
    let names: Vec<&str> = segments
        .iter()
        .map(|s| s["segment"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["control", "variant_a"]);
    assert_eq!(
        step_counts(&segments[0]),
        [8_000, 4_000, 3_000, 2_000, 1_000, 400]
    );
    assert_eq!(
        step_counts(&segments[1]),
        [8_000, 4_400, 3_400, 2_400, 1_200, 560]
    );
    for (segment, variant) in segments.iter().zip(["control", "variant_a"]) {
        assert_eq!(
            step_counts(segment),
            expected_counts(&SIGNUP, "experiment_variant", variant)
        );
    }
    assert_eq!(segments[0]["overall_conversion"].as_f64(), Some(0.05));
    assert_eq!(segments[1]["overall_conversion"].as_f64(), Some(0.07));
    let comparisons = by_variant["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 1);
    let a = &comparisons[0];
    assert_eq!(a["variant"], "variant_a");
    assert_eq!(a["control"], "control");
    assert_eq!(a["significant"], true);
    assert_eq!(a["test"]["p1"].as_f64(), Some(0.05));
    assert_eq!(a["test"]["p2"].as_f64(), Some(0.07));
    let z = a["test"]["z"].as_f64().unwrap();
    assert!((z - 5.326_236_412_913_076).abs() < 1e-9, "z = {z}");
    let p = a["test"]["p_value"].as_f64().unwrap();
    assert!((p - 1.002_686e-7).abs() < 1e-12, "p = {p}");

    // The same with --steps.
    let defined_by_variant = bizmetrics_json(&funnel_args(
        url,
        &end,
        &[
            "--json",
            "--funnel",
            "signup",
            "--steps",
            &defined_order,
            "--by",
            "experiment_variant",
        ],
    ));
    assert_eq!(defined_by_variant["steps_from"], "definition");
    for key in ["segments", "comparisons"] {
        assert_eq!(defined_by_variant[key], by_variant[key], "{key}");
    }

    // The table says which funnel and where its order came from.
    let table = bizmetrics(&funnel_args(
        url,
        &end,
        &["--funnel", "signup", "--by", "experiment_variant"],
    ));
    let text = String::from_utf8_lossy(&table.stdout);
    eprintln!("{text}");
    assert!(table.status.success(), "{text}");
    let head: Vec<&str> = text.lines().take(3).collect();
    assert_eq!(
        head,
        [
            "funnel      signup",
            "steps from  prometheus (by count, largest first)",
            "steps       landing_view > signup_started > email_verified > workspace_created > first_project > subscribed",
        ]
    );
    assert!(text.contains("yes (p < 0.05)"), "{text}");
    assert!(!text.contains("signup_error") && !text.contains("milestone_x"));

    let table = bizmetrics(&funnel_args(
        url,
        &end,
        &["--funnel", "signup", "--steps", &defined_order],
    ));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{text}");
    assert!(text.contains("\nsteps from  definition\n"), "{text}");
    // The whole table: a bar per step on the scale of the largest count.
    assert_eq!(
        text.trim_end(),
        [
            "funnel      signup",
            "steps from  definition",
            "steps       landing_view > signup_started > email_verified > workspace_created > first_project > subscribed",
            "",
            "segment  step               bar                   count  step conv  overall  drop-off",
            "all      landing_view       ████████████████████  16000          -   100.0%         -",
            "all      signup_started     ██████████▌            8400      52.5%    52.5%      7600",
            "all      email_verified     ████████               6400      76.2%    40.0%      2000",
            "all      workspace_created  █████▌                 4400      68.8%    27.5%      2000",
            "all      first_project      ██▊                    2200      50.0%    13.8%      2200",
            "all      subscribed         █▎                      960      43.6%     6.0%      1240",
        ]
        .join("\n")
    );
}
