//! The SaaS example end to end: a real Prometheus 3 scrapes the product, served
//! in-process and driven by its seeded simulator, with the rules generated from the
//! product's catalog loaded. The generated recording rules record, every rule
//! evaluates cleanly, MRR reads in major units by its currency's exponent, and
//! `bizmetrics funnel --funnel signup` finds the signup funnel's steps in their
//! defined order from Prometheus alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use business_metrics::{DeviceType, FunnelContext};
use business_metrics_exporter::ExporterKind;
use opentelemetry::metrics::MeterProvider as _;
use saas::simulator::{Simulator, SimulatorConfig};
use saas::{app, AppState, IncidentControl, SignupStep};
use serde_json::Value;
use support::servers::Prometheus;
use support::Scrape;

/// The sources and experiment variants the simulator's visitors come with.
const SIM_SOURCES: [&str; 4] = ["google_ads", "direct", "newsletter", "social"];
const SIM_VARIANTS: [&str; 2] = ["control", "guided_onboarding"];

/// A scrape of the product every second, its generated rules evaluated every second.
fn prometheus_config(bridge: SocketAddr) -> String {
    let rules = support::repo_path("examples/saas/generated/prometheus/rules");
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {}/*.yml\n\
         scrape_configs:\n  - job_name: saas\n    static_configs:\n      - targets: ['{bridge}']\n",
        rules.display()
    )
}

/// `bizmetrics`, built beside this test by `cargo test --workspace`.
fn bizmetrics() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join(format!("bizmetrics{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (it builds the binary)",
        path.display()
    );
    path
}

async fn poll<T>(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not seen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prometheus_with_the_generated_rules_and_bizmetrics_read_the_signup_funnel() {
    // The product, in-process, with the real bridge and its catalog.
    let telemetry = business_metrics_exporter::builder()
        .without_env()
        .with_service_name("saas-e2e")
        .with_exporters([ExporterKind::Prometheus])
        .with_prometheus_addr("127.0.0.1:0".parse().unwrap())
        .with_catalog(saas::catalog().unwrap())
        .init()
        .unwrap();
    let bridge = telemetry.prometheus_addr().unwrap();
    let incident = IncidentControl::default();
    let state = AppState::builder(
        telemetry.business_metrics(),
        &telemetry.meter_provider().meter("saas"),
    )
    .with_incident_control(incident.clone())
    .build()
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app(state)).await.unwrap();
    });

    let Some(prometheus) = Prometheus::start(&prometheus_config(bridge), &[]).await else {
        return;
    };

    // Every context the simulator visits from exists at 0 and is scraped before the
    // first visit, so Prometheus holds each series from 0: the increase over a window
    // is then the same multiple of every step's count, and the funnel's counts keep
    // their order whatever the machine's load.
    let metrics = telemetry.business_metrics();
    let mut contexts = 0;
    for source in SIM_SOURCES {
        for device in [DeviceType::Mobile, DeviceType::Tablet, DeviceType::Desktop] {
            for variant in SIM_VARIANTS {
                let ctx = FunnelContext::new(source, device).with_experiment_variant(variant);
                drop(metrics.track::<SignupStep>(&ctx, metrics.now()).unwrap());
                contexts += 1;
            }
        }
    }
    let series = contexts * (SignupStep::ALL.len() + 1);
    poll(
        "every signup series at 0 in Prometheus",
        Duration::from_secs(60),
        async || {
            let r = prometheus
                .query("count(business_funnel_step_total{funnel=\"signup\"} == 0)")
                .await
                .ok()?;
            let n = r.first()?["value"][1].as_str()?.parse::<usize>().ok()?;
            (n == series).then_some(())
        },
    )
    .await;

    // A seeded, bounded run; patient visitors, so load cannot change the choices.
    // Arrivals are paced over at least six seconds, so the 1 s scrapes see the
    // counters rise.
    let mut config = SimulatorConfig::new(format!("http://{addr}"));
    config.rate = 50.0;
    config.think_time = Duration::ZERO;
    config.patience = None;
    config.visitors = Some(300);
    config.seed = Some(7);
    let report = Simulator::new(config, incident)
        .unwrap()
        .run(std::future::pending())
        .await;
    assert_eq!(report.http_errors, 0, "{report:?}");

    // What the product serves now is final; Prometheus catches up to it exactly.
    let client = support::servers::loopback_client();
    let served = Scrape::parse(
        &support::servers::get_ok(&client, &format!("http://{bridge}/metrics"))
            .await
            .unwrap(),
    );
    // The simulator visited from no other context than the ones made above.
    assert_eq!(
        served
            .samples
            .iter()
            .filter(|s| s.name == "business_funnel_step_total"
                && s.labels.get("funnel").map(String::as_str) == Some("signup"))
            .count(),
        series,
        "the simulator's sources, devices or variants changed: update SIM_SOURCES and SIM_VARIANTS"
    );
    let steps: Vec<&str> = SignupStep::ALL.iter().map(|s| s.as_str()).collect();
    let served_counts: Vec<f64> = steps
        .iter()
        .map(|step| {
            served.sum(
                "business_funnel_step_total",
                &[("funnel", "signup"), ("step", step)],
            )
        })
        .collect();
    assert!(
        served_counts.windows(2).all(|w| w[1] < w[0]) && served_counts[5] > 0.0,
        "{served_counts:?}"
    );
    poll(
        "the final counts in Prometheus",
        Duration::from_secs(60),
        async || {
            let stored = prometheus
                .samples("sum by (step) (business_funnel_step_total{funnel=\"signup\"})")
                .await
                .ok()?;
            steps
                .iter()
                .zip(&served_counts)
                .all(|(step, n)| stored.sum("", &[("step", step)]) == *n)
                .then_some(())
        },
    )
    .await;

    // The generated recording rules record: conversion as a 0-1 ratio, MRR in major
    // units with its exponent.
    let (at, ratio) = poll(
        "the conversion ratio rule",
        Duration::from_secs(30),
        async || {
            // The raw samples the rule wrote, with the instants it evaluated at.
            let r = prometheus
                .query("funnel:business_funnel_conversion:ratio_rate1h{funnel=\"signup\"}[1m]")
                .await
                .ok()?;
            let last = r.first()?["values"].as_array()?.last()?.clone();
            Some((last[0].as_f64()?, last[1].as_str()?.parse::<f64>().ok()?))
        },
    )
    .await;
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
    // The rule records its expression: evaluated at the same instant, the
    // subscriptions per landing view over the hour give the same number.
    let direct = prometheus
        .api(
            "/api/v1/query",
            &[
                (
                    "query",
                    "sum(rate(business_funnel_step_total{funnel=\"signup\", step=\"subscribed\"}[1h])) \
                     / sum(rate(business_funnel_step_total{funnel=\"signup\", step=\"landing_view\"}[1h]))",
                ),
                ("time", &at.to_string()),
            ],
        )
        .await
        .unwrap();
    let direct: f64 = direct["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ratio, direct);
    let mrr_minor = served.sum("saas_mrr_cents", &[("currency", "USD")]);
    assert!(mrr_minor > 0.0, "no USD subscription");
    let mrr_major = poll("MRR in major units", Duration::from_secs(30), async || {
        let r = prometheus
            .query("currency:saas_mrr_cents:major{currency=\"USD\", currency_exponent=\"2\"}")
            .await
            .ok()?;
        let major = r.first()?["value"][1].as_str()?.parse::<f64>().ok()?;
        // Until Prometheus has scraped the final level.
        ((major - mrr_minor / 100.0).abs() < 1e-6).then_some(major)
    })
    .await;
    assert!(mrr_major > 0.0);

    // Every query of the generated dashboards evaluates, and the funnel's and the
    // MRR panels have data.
    let mut with_data = Vec::new();
    for file in ["funnel_signup.json", "money.json"] {
        let path = support::repo_path(&format!("examples/saas/generated/grafana/{file}"));
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$__range", "10m")
                    .replace("$__rate_interval", "1m")
                    // The product's scrape job; every environment (it sets none)
                    // and every source and currency, as Grafana's "All".
                    .replace("$job", "saas")
                    .replace("$environment", ".*")
                    .replace("$source", ".*")
                    .replace("$currency", ".*");
                assert!(
                    !expr.contains('$'),
                    "{file}: unsubstituted variable in {expr}"
                );
                let result = prometheus
                    .query(&expr)
                    .await
                    .unwrap_or_else(|e| panic!("{file}: {}: {e}", panel["title"]));
                if !result.is_empty() {
                    with_data.push(panel["title"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    for title in [
        "Entries per step over the range, in funnel order",
        "saas_mrr_cents: in major units",
    ] {
        assert!(
            with_data.iter().any(|t| t == title),
            "{title}: {with_data:?}"
        );
    }

    // Every generated rule evaluates without error, and the absence alert is quiet.
    let groups = prometheus.api("/api/v1/rules", &[]).await.unwrap();
    let rules: Vec<&Value> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert!(rules.len() >= 6, "{groups}");
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
    let absent = rules
        .iter()
        .find(|r| r["name"] == "SignupFunnelAbsent")
        .unwrap();
    assert_eq!(absent["state"], "inactive", "{absent}");

    // bizmetrics finds the funnel's steps, in their defined order, from Prometheus.
    let out = Command::new(bizmetrics())
        .args([
            "--prometheus",
            &format!("http://{}", prometheus.addr),
            "--json",
            "funnel",
            "--funnel",
            "signup",
            "--range",
            "10m",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["funnel"], "signup", "{report}");
    assert_eq!(report["steps_from"], "prometheus", "{report}");
    let found: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(found, steps, "{report}");
    let counts: Vec<u64> = report["segments"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"].as_u64().unwrap())
        .collect();
    assert!(
        counts.windows(2).all(|w| w[1] <= w[0]) && counts[5] > 0,
        "{report}"
    );

    telemetry.shutdown().unwrap();
    server.abort();
}
