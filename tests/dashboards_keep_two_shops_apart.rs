//! A fleet, not one process: a real Prometheus 3 scrapes two shops that differ in
//! `job` and deployment environment, through the shipped scrape config (its `shop`
//! job copied once per shop, each with its own targets file) and rules. Every
//! variable of every shipped dashboard resolves through its own `label_values`
//! query, and with the variables set to one shop every panel's query returns data
//! that carries only that shop's job and environment; with one shop's job and the
//! other's environment every query returns nothing, so no query leaves either
//! filter out.
//!
//! The two shops set their environment each way a service may: shop-a through the
//! older resource attribute `deployment.environment` (the shipped scrape config
//! copies it to `deployment_environment_name` on target_info), shop-b through
//! `deployment.environment.name` in OTEL_RESOURCE_ATTRIBUTES.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use shop::simulator::{Simulator, SimulatorConfig};
use support::in_process::InProcessShop;
use support::servers::Prometheus;

/// The dashboards Grafana provisions (otel-collector/grafana/provisioning).
const DASHBOARDS: &[&str] = &[
    "otel-collector/grafana/dashboards/business-metrics.json",
    "otel-collector/generated/grafana/funnel_checkout.json",
    "otel-collector/generated/grafana/money.json",
];

/// Grafana's own variables, as a 1 s scrape interval and a range holding every
/// sample of the test make them.
const BUILT_IN_VARIABLES: &[(&str, &str)] = &[("$__rate_interval", "1m"), ("$__range", "5m")];

/// Values of the label variables the simulator always produces traffic for.
const LABEL_CHOICES: &[(&str, &str)] = &[
    ("region", "us_west"),
    ("source", "google_ads"),
    ("currency", "USD"),
];

struct ShopUnderTest {
    job: &'static str,
    environment: &'static str,
}

const SHOPS: [ShopUnderTest; 2] = [
    ShopUnderTest {
        job: "shop-a",
        environment: "staging",
    },
    ShopUnderTest {
        job: "shop-b",
        environment: "production",
    },
];

/// The shipped prometheus.yml with its `shop` job once per shop (job name and
/// targets file of its own), no Alertmanager, rule files by absolute path, and 1 s
/// scrape and evaluation intervals.
fn test_config(shops: &[(&str, SocketAddr)], dir: &std::path::Path) -> String {
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
    config["rule_files"] = rule_files.into();
    let template = config["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["job_name"] == "shop")
        .cloned()
        .expect("the shipped config has a `shop` job");
    let jobs: Vec<Value> = shops
        .iter()
        .map(|(name, addr)| {
            let mut job = template.clone();
            job["job_name"] = (*name).into();
            let targets = dir.join(name);
            std::fs::create_dir_all(&targets).unwrap();
            support::point_shipped_job_at(&mut job, *addr, &targets);
            job
        })
        .collect();
    config["scrape_configs"] = jobs.into();
    serde_norway::to_string(&config).unwrap()
}

/// (panel title, expr) of every query of every panel, rows' panels included.
fn panel_queries(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or_default().to_owned();
            for target in panel["targets"].as_array().into_iter().flatten() {
                out.push((title.clone(), target["expr"].as_str().unwrap().to_owned()));
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

fn substitute(expr: &str, values: &[(String, String)]) -> String {
    let mut expr = expr.to_owned();
    for (var, value) in BUILT_IN_VARIABLES {
        expr = expr.replace(var, value);
    }
    // Longest names first, so `$job` does not eat into a longer name.
    let mut values = values.to_vec();
    values.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in &values {
        expr = expr
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    expr
}

/// `label_values(<selector>, <label>)` → (selector, label).
fn label_values_query(query: &str) -> (String, String) {
    let inner = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a label_values query: {query}"));
    let (selector, label) = inner.rsplit_once(',').unwrap();
    (selector.trim().to_owned(), label.trim().to_owned())
}

/// Resolves the dashboard's query variables in order, as Grafana does (each sees
/// the ones before it), asserting that `shop`'s value is among the values offered,
/// and returns the chosen value of each.
async fn resolve_variables(
    prometheus: &Prometheus,
    dashboard: &Value,
    shop: &ShopUnderTest,
) -> Result<Vec<(String, String)>, String> {
    let mut values = Vec::new();
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        let name = variable["name"].as_str().unwrap();
        match variable["type"].as_str().unwrap() {
            "datasource" => {
                assert_eq!(variable["query"], "prometheus", "{name}");
                continue;
            }
            "query" => {}
            other => panic!("variable {name} of type {other}"),
        }
        assert_eq!(variable["datasource"]["uid"], "${datasource}", "{name}");
        assert_eq!(variable["includeAll"], true, "{name}");
        assert_eq!(variable["allValue"], ".*", "{name}");
        let (selector, label) = label_values_query(variable["query"].as_str().unwrap());
        let selector = substitute(&selector, &values);
        let offered = prometheus
            .api(
                &format!("/api/v1/label/{label}/values"),
                &[("match[]", &selector)],
            )
            .await?;
        let offered: Vec<&str> = offered
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let chosen = match name {
            "job" => shop.job,
            "environment" => shop.environment,
            _ => {
                LABEL_CHOICES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .unwrap_or_else(|| panic!("no value chosen for variable {name}"))
                    .1
            }
        };
        if !offered.contains(&chosen) {
            return Err(format!(
                "variable {name} ({selector}, {label}) offers {offered:?}, not {chosen}"
            ));
        }
        values.push((name.to_owned(), chosen.to_owned()));
    }
    Ok(values)
}

/// Whether `result` holds data of `shop` only: at least one finite value, and no
/// series labelled with another job or environment.
fn only_data_of(result: &[Value], shop: &ShopUnderTest) -> Result<(), String> {
    for series in result {
        let labels = &series["metric"];
        for (label, want) in [
            ("job", shop.job),
            ("deployment_environment_name", shop.environment),
        ] {
            if let Some(got) = labels[label].as_str() {
                assert_eq!(got, want, "a series of another shop: {series}");
            }
        }
    }
    let finite = result.iter().any(|s| {
        s["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
    });
    if finite {
        Ok(())
    } else {
        Err(format!("no finite value in {result:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_dashboard_panel_returns_one_shops_data_and_never_the_others() {
    // shop-a: the older attribute through the builder; shop-b: the current one
    // through OTEL_RESOURCE_ATTRIBUTES.
    let a = InProcessShop::start_with(
        SHOPS[0].job,
        |exporter| exporter.with_deployment_environment(SHOPS[0].environment),
        |state| state,
    )
    .await;
    let b = InProcessShop::start_with(
        SHOPS[1].job,
        |exporter| {
            exporter.with_env_vars([(
                "OTEL_RESOURCE_ATTRIBUTES",
                format!("deployment.environment.name={}", SHOPS[1].environment),
            )])
        },
        |state| state,
    )
    .await;
    let mut background = Vec::new();
    for (seed, shop) in [(11, &a), (12, &b)] {
        let state = shop.state.clone();
        background.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                state.refresh_active_users();
            }
        }));
        let mut config = SimulatorConfig::new(format!("http://{}", shop.addr));
        config.rate = 100.0;
        config.think_time = Duration::from_millis(2);
        // Abandonment does not depend on how slow a loaded machine answers.
        config.latency_sensitivity = 0.0;
        config.seed = Some(seed);
        let simulator = Simulator::new(config, shop.incident.clone()).unwrap();
        background.push(tokio::spawn(async move {
            simulator.run(std::future::pending()).await;
        }));
    }

    let dir = support::TempDir::new("two-shops");
    let config = test_config(
        &[(SHOPS[0].job, a.bridge), (SHOPS[1].job, b.bridge)],
        dir.path(),
    );
    let Some(prometheus) = Prometheus::start(&config, &[]).await else {
        return;
    };

    // Each shop's target_info carries its environment under the current name.
    for shop in &SHOPS {
        support::poll_until(
            &format!("{}'s target_info", shop.job),
            Duration::from_secs(30),
            || async {
                let result = prometheus
                    .query(&format!(
                        "target_info{{job=\"{}\", deployment_environment_name=\"{}\"}}",
                        shop.job, shop.environment
                    ))
                    .await?;
                if result.len() == 1 {
                    Ok(())
                } else {
                    Err(format!("{result:?}"))
                }
            },
        )
        .await;
    }

    let mut checked = 0;
    for path in DASHBOARDS {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(support::repo_path(path)).unwrap())
                .unwrap();
        let queries = panel_queries(&dashboard);
        assert!(!queries.is_empty(), "{path}: no panel queries");
        for (i, shop) in SHOPS.iter().enumerate() {
            let other = &SHOPS[1 - i];
            let values = support::poll_until(
                &format!("{path}: every variable offering {}'s values", shop.job),
                Duration::from_secs(60),
                || resolve_variables(&prometheus, &dashboard, shop),
            )
            .await;
            for (title, expr) in &queries {
                let query = substitute(expr, &values);
                assert!(
                    !query.contains('$'),
                    "{path} {title:?}: unsubstituted variable in {query}"
                );
                // New series need two scrapes and the rules a few evaluations before
                // rates and recorded series exist: poll until the data is there.
                support::poll_until(
                    &format!("{path} {title:?} for {}: {query}", shop.job),
                    Duration::from_secs(90),
                    || async { only_data_of(&prometheus.query(&query).await?, shop) },
                )
                .await;
                // One shop's job with the other's environment: nothing.
                let crossed: Vec<(String, String)> = values
                    .iter()
                    .map(|(name, value)| {
                        if name == "environment" {
                            (name.clone(), other.environment.to_owned())
                        } else {
                            (name.clone(), value.clone())
                        }
                    })
                    .collect();
                let crossed = substitute(expr, &crossed);
                let result = prometheus.query(&crossed).await.unwrap();
                assert!(
                    result.is_empty(),
                    "{path} {title:?}: job {} in environment {} returned {result:?} for {crossed}",
                    shop.job,
                    other.environment
                );
                checked += 1;
            }
        }
    }
    println!("{checked} panel queries checked");

    for task in background {
        task.abort();
    }
    drop(prometheus);
    a.stop().await;
    b.stop().await;
}
