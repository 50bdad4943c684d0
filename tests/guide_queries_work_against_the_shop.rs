//! The guide's five PromQL queries, run verbatim against a real Prometheus scraping
//! the demo shop (driven by its traffic simulator) through the shipped scrape config
//! and rules, return data in a plausible range; every recording rule records, every
//! rule evaluates cleanly, and every dashboard query evaluates without error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use shop::simulator::{Simulator, SimulatorConfig};
use support::guide_queries::*;
use support::in_process::InProcessShop;
use support::servers::Prometheus;

/// What the dashboard's Grafana variables become here.
const DASHBOARD_VARIABLES: &[(&str, &str)] = &[("$__rate_interval", "1m"), ("$__range", "5m")];

/// (labels, value) of each sample of a result vector.
fn samples(result: &[Value]) -> Vec<(Value, f64)> {
    result
        .iter()
        .map(|s| {
            let value = s["value"][1].as_str().unwrap().parse::<f64>().unwrap();
            (s["metric"].clone(), value)
        })
        .collect()
}

fn label<'a>(labels: &'a Value, name: &str) -> &'a str {
    labels[name].as_str().unwrap_or("")
}

/// The shipped prometheus.yml, for this test: only the shop job (the collector job is
/// dropped), its targets file moved to the bridge's ephemeral port in `targets_dir`
/// as a user moving the port would, no Alertmanager, rule files by absolute path, and
/// 1 s scrape and evaluation intervals so the test sees data within seconds.
fn test_config(bridge: SocketAddr, targets_dir: &std::path::Path) -> String {
    let shipped = support::repo_path("otel-collector/prometheus/prometheus.yml");
    let mut config: Value =
        serde_norway::from_str(&std::fs::read_to_string(&shipped).unwrap()).unwrap();
    let config_dir = shipped.parent().unwrap();
    config["global"]["scrape_interval"] = "1s".into();
    config["global"]["scrape_timeout"] = "1s".into();
    config["global"]["evaluation_interval"] = "1s".into();
    config.as_object_mut().unwrap().remove("alerting");
    let rule_files: Vec<Value> = config["rule_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            config_dir
                .join(f.as_str().unwrap())
                .display()
                .to_string()
                .into()
        })
        .collect();
    assert!(!rule_files.is_empty());
    config["rule_files"] = rule_files.into();
    let jobs = config["scrape_configs"].as_array_mut().unwrap();
    jobs.retain(|job| job["job_name"] == "shop");
    assert_eq!(jobs.len(), 1, "the shipped config has no `shop` job");
    support::point_shipped_job_at(&mut jobs[0], bridge, targets_dir);
    serde_norway::to_string(&config).unwrap()
}

fn recording_rules() -> Vec<(String, String)> {
    let path = support::repo_path("otel-collector/prometheus/rules/recording.yml");
    let doc: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|r| {
            (
                r["record"].as_str().unwrap().to_owned(),
                r["expr"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every `expr` in the dashboard (panels, rows, annotations), with the Grafana
/// variables substituted.
fn dashboard_queries() -> Vec<(String, String)> {
    fn walk(v: &Value, title: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                let title = map.get("title").and_then(Value::as_str).unwrap_or(title);
                let title = map.get("name").and_then(Value::as_str).unwrap_or(title);
                if let Some(expr) = map.get("expr").and_then(Value::as_str) {
                    out.push((title.to_owned(), expr.to_owned()));
                }
                for child in map.values() {
                    walk(child, title, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, title, out)),
            _ => {}
        }
    }
    let path = support::repo_path("otel-collector/grafana/dashboards/business-metrics.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    walk(&dashboard, "", &mut out);
    for (_, expr) in &mut out {
        for (var, value) in DASHBOARD_VARIABLES {
            *expr = expr.replace(var, value);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guide_queries_rules_and_dashboard_work_against_the_shop() {
    let started = Instant::now();

    // The shop, in-process, with the real Prometheus bridge on an ephemeral port.
    let shop = InProcessShop::start("shop-e2e", |state| state).await;
    let refresher = {
        let state = shop.state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                state.refresh_active_users();
            }
        })
    };
    let mut config = SimulatorConfig::new(format!("http://{}", shop.addr));
    config.rate = 100.0;
    config.think_time = Duration::from_millis(2);
    config.seed = Some(42);
    let simulator = Simulator::new(config, shop.incident).unwrap();
    let simulation = tokio::spawn(simulator.run(std::future::pending()));

    // A real Prometheus with the shipped config, targets file and rules.
    let targets = support::TempDir::new("guide-targets");
    let config = test_config(shop.bridge, targets.path());
    let Some(prometheus) = Prometheus::start(&config, &[]).await else {
        return;
    };

    // At least two scrapes of the funnel.
    support::poll_until(
        "two scrapes of the funnel",
        Duration::from_secs(20),
        || async {
            let result = prometheus
                .query(r#"count_over_time(business_funnel_step_total{step="cart_view"}[5m])"#)
                .await?;
            let most = samples(&result).iter().map(|s| s.1).fold(0.0, f64::max);
            if most >= 2.0 {
                Ok(())
            } else {
                Err(format!("{most} samples"))
            }
        },
    )
    .await;

    // The guide's queries, verbatim, each in a plausible range. New series need two
    // scrapes before rate() sees them move, so this polls until all are there.
    let measured = support::poll_until(
        "plausible answers to the guide's queries",
        Duration::from_secs(30),
        || async {
            let conversion = samples(&prometheus.query(CONVERSION_RATE).await?);
            let [(_, conversion)] = conversion[..] else {
                return Err(format!("conversion: {conversion:?}"));
            };
            if !(5.0..=90.0).contains(&conversion) {
                return Err(format!("conversion {conversion}%"));
            }

            let revenue = samples(&prometheus.query(REVENUE_PER_MINUTE_BY_REGION).await?);
            if revenue.is_empty()
                || revenue.iter().any(|(_, v)| v.is_nan() || *v < 0.0)
                || !revenue.iter().any(|(_, v)| *v > 0.0)
            {
                return Err(format!("revenue per minute: {revenue:?}"));
            }

            let medians: Vec<(Value, f64)> =
                samples(&prometheus.query(MEDIAN_ORDER_VALUE_BY_CATEGORY).await?)
                    .into_iter()
                    .filter(|(_, v)| !v.is_nan())
                    .collect();
            if medians.is_empty() || medians.iter().any(|(_, v)| !(500.0..=50_000.0).contains(v)) {
                return Err(format!("median order values: {medians:?}"));
            }

            // As printed in the guide the adoption query divides a vector labelled by
            // feature_name by one without labels: one-to-one matching pairs nothing, so it
            // returns no data (the recording rule fixes the matching).
            let verbatim = prometheus.query(NEW_USER_FEATURE_ADOPTION).await?;
            if !verbatim.is_empty() {
                return Err(format!(
                    "the guide's adoption query now returns data: {verbatim:?}"
                ));
            }
            let adoption = samples(&prometheus.query(NEW_USER_FEATURE_ADOPTION_FIXED).await?);
            let total: f64 = adoption.iter().map(|(_, v)| v).sum();
            if adoption.len() < 2
                || (total - 100.0).abs() > 0.01
                || adoption.iter().any(|(_, v)| !(*v > 0.0 && *v < 100.0))
            {
                return Err(format!("feature adoption: {adoption:?}"));
            }

            let p95: Vec<(Value, f64)> =
                samples(&prometheus.query(SESSION_DURATION_P95_BY_TIER).await?)
                    .into_iter()
                    .filter(|(_, v)| !v.is_nan())
                    .collect();
            if p95.is_empty() || p95.iter().any(|(_, v)| !(*v > 0.0 && *v <= 3600.0)) {
                return Err(format!("p95 session duration: {p95:?}"));
            }
            Ok((conversion, revenue, medians, adoption, p95))
        },
    )
    .await;
    let (conversion, revenue, medians, adoption, p95) = measured;
    println!("conversion rate: {conversion:.1}%");
    for (l, v) in &revenue {
        println!("revenue per minute, {}: {v:.0} cents", label(l, "region"));
    }
    for (l, v) in &medians {
        println!(
            "median order value, {}: {v:.0} cents",
            label(l, "product_category")
        );
    }
    for (l, v) in &adoption {
        println!("new-user adoption, {}: {v:.1}%", label(l, "feature_name"));
    }
    for (l, v) in &p95 {
        println!("p95 session duration, {}: {v:.2} s", label(l, "user_tier"));
    }

    // Every recording rule's expression evaluates to data, and its series is recorded.
    let rules = recording_rules();
    for (record, expr) in &rules {
        let result = prometheus.query(expr).await.unwrap();
        assert!(
            !result.is_empty(),
            "{record}: its expression returned no data"
        );
    }
    for (record, _) in &rules {
        support::poll_until(
            &format!("{record} to be recorded"),
            Duration::from_secs(15),
            || async {
                let result = prometheus.query(record).await?;
                if result.is_empty() {
                    Err("no series yet".to_owned())
                } else {
                    Ok(())
                }
            },
        )
        .await;
    }

    // Every rule, recording and alerting, has been evaluated without error.
    support::poll_until(
        "every rule to evaluate cleanly",
        Duration::from_secs(15),
        || async {
            let data = prometheus.api("/api/v1/rules", &[]).await?;
            let groups = data["groups"].as_array().cloned().unwrap_or_default();
            let rules: Vec<Value> = groups
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect();
            if rules.len() < 10 {
                return Err(format!("{} rules loaded", rules.len()));
            }
            let bad: Vec<String> = rules
                .iter()
                .filter(|r| r["health"] != "ok")
                .map(|r| format!("{} {} {}", r["name"], r["health"], r["lastError"]))
                .collect();
            if bad.is_empty() {
                Ok(())
            } else {
                Err(bad.join("; "))
            }
        },
    )
    .await;

    // Every dashboard query evaluates without error.
    let panels = dashboard_queries();
    assert!(panels.len() >= 10, "{panels:?}");
    for (title, expr) in &panels {
        assert!(
            !expr.contains('$'),
            "{title}: unsubstituted variable in {expr}"
        );
        if let Err(e) = prometheus.query(expr).await {
            panic!("dashboard panel {title:?}: {e}");
        }
    }

    simulation.abort();
    refresher.abort();
    shop.server.abort();
    drop(prometheus);
    tokio::task::spawn_blocking(move || shop.telemetry.shutdown())
        .await
        .unwrap()
        .unwrap();
    println!(
        "end-to-end run took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn dashboard_uses_the_provisioned_datasource_and_has_every_panel() {
    let provisioning = support::repo_path("otel-collector/grafana/provisioning");
    let datasources: Value = serde_norway::from_str(
        &std::fs::read_to_string(provisioning.join("datasources/prometheus.yml")).unwrap(),
    )
    .unwrap();
    let uid = datasources["datasources"][0]["uid"].as_str().unwrap();
    let providers: Value = serde_norway::from_str(
        &std::fs::read_to_string(provisioning.join("dashboards/dashboards.yml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        providers["providers"][0]["options"]["path"],
        "/var/lib/grafana/dashboards"
    );

    let path = support::repo_path("otel-collector/grafana/dashboards/business-metrics.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        assert_eq!(panel["datasource"]["uid"], uid, "{}", panel["title"]);
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(target["datasource"]["uid"], uid, "{}", panel["title"]);
        }
    }
    let titles: Vec<String> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase())
        .collect();
    for wanted in [
        "funnel by step",
        "conversion rate by experiment variant and device",
        "revenue per minute by region",
        "order value percentiles",
        "feature adoption",
        "session duration percentiles",
        "active users",
        "http p99 latency beside conversion rate",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(wanted)),
            "no panel for {wanted}: {titles:?}"
        );
    }
}
