//! A real Prometheus 3 server scrapes the bridge, with the bearer token, and its HTTP
//! API returns the catalog's Prometheus names with the workload's values. (Prometheus
//! 3 stores the bucket bounds of a scraped text page as floats: the bridge's `le="30"`
//! is `le="30.0"` there.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use business_metrics::catalog;
use business_metrics_exporter::ExporterKind;
use support::*;

const TOKEN: &str = "scrape-token-7f3a";

/// Runs an instant query; returns (labels, value) of every series.
async fn query(prom: SocketAddr, promql: &str) -> Vec<(serde_json::Value, f64)> {
    let path = format!("/api/v1/query?query={}", url_encode(promql));
    let Ok(resp) = http_get(prom, &path, &[]).await else {
        return Vec::new();
    };
    if resp.status != 200 {
        return Vec::new();
    }
    let json: serde_json::Value = serde_json::from_str(&resp.body).unwrap();
    assert_eq!(json["status"], "success", "{json}");
    json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"].clone(),
                s["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

async fn single(prom: SocketAddr, promql: &str) -> f64 {
    let r = query(prom, promql).await;
    assert_eq!(r.len(), 1, "{promql}: {r:?}");
    r[0].1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_bridge_and_returns_catalog_names_and_values() {
    let guard = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Prometheus])
        .with_prometheus_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .with_bearer_token(TOKEN)
        .with_service_name("scrape-test")
        .init()
        .unwrap();
    record_workload(&guard.business_metrics());
    let bridge = guard.prometheus_addr().unwrap();

    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: business\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
         \x20   authorization:\n      type: Bearer\n      credentials: {TOKEN}\n\
         \x20   static_configs:\n      - targets: ['{bridge}']\n"
    );
    let Some(server) = Prometheus::start(&config, &["--log.level=warn"]).await else {
        return;
    };
    let prom = server.addr;

    // Synchronise on the scrape itself: the target is up and the revenue series exists.
    let revenue = catalog::REVENUE_CENTS.prometheus_name;
    poll_until("the first scrape", Duration::from_secs(30), || async {
        let up = query(prom, "up{job=\"business\"}").await;
        let r = query(prom, revenue).await;
        if up.len() == 1 && up[0].1 == 1.0 && !r.is_empty() {
            Ok(())
        } else {
            Err(format!("up: {up:?}, revenue: {r:?}"))
        }
    })
    .await;

    assert_eq!(single(prom, revenue).await, REVENUE_TOTAL as f64);
    let r = query(prom, revenue).await;
    let labels = &r[0].0;
    assert_eq!(labels["__name__"], "business_revenue_cents_total");
    for (k, v) in [
        ("product_category", "electronics"),
        ("payment_method", "card"),
        ("region", "us_west"),
        ("currency", "USD"),
        ("job", "business"),
    ] {
        assert_eq!(labels[k], v, "{labels}");
    }

    let funnel = catalog::FUNNEL_STEP.prometheus_name;
    assert_eq!(funnel, "business_funnel_step_total");
    assert_eq!(
        single(prom, &format!("{funnel}{{step=\"cart_view\",source=\"{SOURCE}\",device_type=\"mobile\",experiment_variant=\"{VARIANT}\"}}")).await,
        2.0
    );
    assert_eq!(
        single(
            prom,
            &format!(
                "{}{{conversion_type=\"purchase\"}}",
                catalog::CONVERSIONS.prometheus_name
            )
        )
        .await,
        1.0
    );

    let ttc = catalog::TIME_TO_CONVERSION.prometheus_name;
    assert_eq!(ttc, "business_time_to_conversion_seconds");
    for (le, count) in [("30.0", 0.0), ("60.0", 1.0), ("3600.0", 1.0), ("+Inf", 1.0)] {
        assert_eq!(
            single(prom, &format!("{ttc}_bucket{{le=\"{le}\"}}")).await,
            count,
            "le={le}"
        );
    }
    assert_eq!(single(prom, &format!("{ttc}_sum")).await, 45.0);

    let order = catalog::ORDER_VALUE_CENTS.prometheus_name;
    assert_eq!(order, "business_order_value_cents");
    let buckets: BTreeMap<String, f64> = query(prom, &format!("{order}_bucket"))
        .await
        .iter()
        .map(|(l, v)| (l["le"].as_str().unwrap().to_owned(), *v))
        .collect();
    let expected: BTreeMap<String, f64> = ORDER_VALUE_BUCKETS
        .into_iter()
        .map(|(l, v)| match l {
            "+Inf" => (l.to_owned(), v),
            bound => (format!("{bound}.0"), v),
        })
        .collect();
    assert_eq!(buckets, expected);
    assert_eq!(single(prom, &format!("{order}_count")).await, 2.0);
    assert_eq!(
        single(prom, &format!("{order}_sum")).await,
        REVENUE_TOTAL as f64
    );

    // The resource arrives as target_info.
    let info = query(prom, "target_info").await;
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].0["service_name"], "scrape-test");
    assert_eq!(
        info[0].0["service_instance_id"],
        guard.config().resource.service_instance_id.as_str()
    );

    drop(server);
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
}
