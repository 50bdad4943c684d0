//! Two services record the same series names into one Prometheus, told apart only by
//! `job`: `--job` (or `--matcher`) gives each service's own funnel, funnel order and
//! revenue, where without it they are summed; `correlate` refuses them rather than
//! send unscoped PromQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    clippy::cast_precision_loss
)]

mod support;

use std::fmt::Write as _;

use support::{bizmetrics, start_prometheus_serving, Window, MINUTES, STEP_SECONDS};

/// A job, its signup steps with their hourly counts, and its hourly revenue in cents.
type Service = (&'static str, [(&'static str, u64); 3], u64);

/// Per job: the signup funnel's hourly step counts (in funnel order) and its hourly
/// revenue in USD cents. The two funnels order their middle steps differently, so a
/// mixed order would be wrong for both.
const JOBS: [Service; 2] = [
    (
        "shop",
        [
            ("landing_view", 1_000),
            ("signup_started", 600),
            ("subscribed", 100),
        ],
        10_000,
    ),
    (
        "saas",
        [
            ("landing_view", 5_000),
            ("signup_started", 200),
            ("subscribed", 150),
        ],
        99_900,
    ),
];

/// Counters growing linearly, so their increase over the last hour is exact.
fn two_services(window: Window) -> String {
    let mut out = String::new();
    let points = |out: &mut String, series: &str, hourly: u64| {
        for i in 0..=MINUTES {
            let value = hourly as f64 * i as f64 / 60.0;
            writeln!(out, "{series} {value} {}", window.start + i * STEP_SECONDS).unwrap();
        }
    };
    out.push_str("# TYPE business_funnel_step counter\n");
    for (job, steps, _) in JOBS {
        for (step, hourly) in steps {
            let series = format!(
                "business_funnel_step_total{{job=\"{job}\",funnel=\"signup\",step=\"{step}\"}}"
            );
            points(&mut out, &series, hourly);
        }
    }
    out.push_str("# TYPE business_revenue_cents counter\n");
    for (job, _, cents) in JOBS {
        let series = format!("business_revenue_cents_total{{job=\"{job}\",currency=\"USD\"}}");
        points(&mut out, &series, cents);
    }
    out.push_str("# EOF\n");
    out
}

fn ok(args: &[&str]) -> String {
    let output = bizmetrics(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "bizmetrics {args:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The (step, count) rows of a JSON funnel report's one segment.
fn funnel_counts(args: &[&str]) -> Vec<(String, u64)> {
    let report: serde_json::Value = serde_json::from_str(&ok(args)).unwrap();
    assert_eq!(report["steps_from"], "prometheus");
    report["segments"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn each_job_gets_its_own_funnel_and_revenue() {
    let Some(prom) = start_prometheus_serving(two_services) else {
        return;
    };
    let end = prom.window.end.to_string();
    let url = prom.url.as_str();
    let funnel = |scope: &[&str]| {
        let mut args = vec![
            "funnel",
            "--prometheus",
            url,
            "--funnel",
            "signup",
            "--range",
            "1h",
            "--end",
            &end,
            "--json",
        ];
        args.extend_from_slice(scope);
        funnel_counts(&args)
    };
    let rows = |pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
        pairs.iter().map(|(s, c)| ((*s).to_owned(), *c)).collect()
    };
    assert_eq!(
        funnel(&["--job", "shop"]),
        rows(&[
            ("landing_view", 1_000),
            ("signup_started", 600),
            ("subscribed", 100)
        ])
    );
    assert_eq!(
        funnel(&["--job", "saas"]),
        rows(&[
            ("landing_view", 5_000),
            ("signup_started", 200),
            ("subscribed", 150)
        ])
    );
    assert_eq!(
        funnel(&["--matcher", r#"job="saas""#]),
        rows(&[
            ("landing_view", 5_000),
            ("signup_started", 200),
            ("subscribed", 150)
        ])
    );
    // Without a job the services are summed: what --job exists to prevent.
    assert_eq!(
        funnel(&[]),
        rows(&[
            ("landing_view", 6_000),
            ("signup_started", 800),
            ("subscribed", 250)
        ])
    );
    // A job that is not there has no funnel (exit 5), rather than someone else's.
    let output = bizmetrics(&[
        "funnel",
        "--prometheus",
        url,
        "--funnel",
        "signup",
        "--range",
        "1h",
        "--end",
        &end,
        "--job",
        "billing",
    ]);
    assert_eq!(output.status.code(), Some(5));

    let revenue = |scope: &[&str]| {
        let mut args = vec![
            "revenue",
            "--prometheus",
            url,
            "--range",
            "1h",
            "--end",
            &end,
        ];
        args.extend_from_slice(scope);
        ok(&args).trim_end().to_owned()
    };
    assert_eq!(revenue(&["--job", "shop"]), "revenue over 1h: 100.00 USD");
    assert_eq!(revenue(&["--job", "saas"]), "revenue over 1h: 999.00 USD");
    assert_eq!(
        revenue(&[
            "--matcher",
            r#"job=~"shop|saas""#,
            "--matcher",
            r#"job!="saas""#
        ]),
        "revenue over 1h: 100.00 USD"
    );
    assert_eq!(revenue(&[]), "revenue over 1h: 1099.00 USD");

    let output = bizmetrics(&[
        "correlate",
        "--prometheus",
        url,
        "--technical",
        "up",
        "--business",
        "up",
        "--range",
        "1h",
        "--step",
        "1m",
        "--end",
        &end,
        "--job",
        "shop",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: invalid --job/--matcher: correlate sends --technical and --business as \
         written; put the matchers in their selectors, e.g. metric{job=\"checkout\"}\n"
    );
}
