//! The guide's five PromQL queries, run verbatim against a real Prometheus scraping
//! the demo shop (driven by its traffic simulator) through the shipped scrape config
//! and rules, return data in a plausible range; every recording rule records and
//! every rule evaluates cleanly. (Every dashboard panel returning data, per job and
//! environment: dashboards_keep_two_shops_apart.rs.)
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
    // Abandonment does not depend on how slow a loaded machine answers.
    config.latency_sensitivity = 0.0;
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

/// Every dashboard Grafana provisions, built-in and generated.
const DASHBOARDS: &[&str] = &[
    "otel-collector/grafana/dashboards/business-metrics.json",
    "otel-collector/generated/grafana/funnel_checkout.json",
    "otel-collector/generated/grafana/money.json",
];

/// Every `uid` of a datasource reference in `v`.
fn datasource_uids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(uid) = map.get("datasource").and_then(|d| d.get("uid")) {
                out.push(uid.as_str().unwrap_or_default().to_owned());
            }
            map.values().for_each(|c| datasource_uids(c, out));
        }
        Value::Array(items) => items.iter().for_each(|i| datasource_uids(i, out)),
        _ => {}
    }
}

#[test]
fn dashboards_name_no_datasource_uid_and_have_the_fleet_variables() {
    let provisioning = support::repo_path("otel-collector/grafana/provisioning");
    let providers: Value = serde_norway::from_str(
        &std::fs::read_to_string(provisioning.join("dashboards/dashboards.yml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        providers["providers"][0]["options"]["path"],
        "/var/lib/grafana/dashboards"
    );
    for path in DASHBOARDS {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(support::repo_path(path)).unwrap())
                .unwrap();
        let mut uids = Vec::new();
        datasource_uids(&dashboard, &mut uids);
        assert!(!uids.is_empty(), "{path}");
        for uid in uids {
            assert!(
                uid == "${datasource}" || uid == "-- Grafana --",
                "{path}: a hard-coded datasource uid {uid:?}"
            );
        }
        let variables: Vec<&str> = dashboard["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            variables[..3],
            ["datasource", "job", "environment"],
            "{path}"
        );
        let datasource = &dashboard["templating"]["list"][0];
        assert_eq!(datasource["type"], "datasource", "{path}");
        assert_eq!(datasource["query"], "prometheus", "{path}");
        // Money is shown per currency, each in its currency's Grafana unit.
        for panel in dashboard["panels"].as_array().unwrap() {
            let overrides = panel["fieldConfig"]["overrides"].to_string();
            let money = panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["expr"].as_str().unwrap_or_default().contains("currency"));
            if money {
                assert_eq!(panel["repeat"], "currency", "{path} {}", panel["title"]);
                for (code, decimals) in [("USD", 2), ("EUR", 2), ("JPY", 0)] {
                    assert!(
                        overrides.contains(&format!(
                            "{{\"id\":\"unit\",\"value\":\"currency{code}\"}},{{\"id\":\"decimals\",\"value\":{decimals}}}"
                        )),
                        "{path} {}: no unit for {code}: {overrides}",
                        panel["title"]
                    );
                }
            }
        }
    }
    let path = support::repo_path("otel-collector/grafana/dashboards/business-metrics.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        variables,
        [
            "datasource",
            "job",
            "environment",
            "region",
            "source",
            "currency"
        ]
    );
    let panels = dashboard["panels"].as_array().unwrap();
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
    // Ratios are stored 0 to 1 and shown as such.
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        assert_ne!(
            panel["fieldConfig"]["defaults"]["unit"], "percent",
            "{}: ratios are percentunit",
            panel["title"]
        );
    }
}
