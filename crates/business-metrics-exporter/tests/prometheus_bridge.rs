//! The Prometheus bridge: loopback by default, bearer token, catalog names in the
//! text format, cardinality overflow, and clear errors instead of panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::net::SocketAddr;

use business_metrics::Revenue;
use business_metrics_exporter::{ExporterBuilder, ExporterKind, InitError, MetricsGuard};
use support::*;

fn bridge_builder() -> ExporterBuilder {
    business_metrics_exporter::builder()
        .with_env_vars([("OTEL_EXPORTER_PROMETHEUS_PORT", "0")])
        .with_exporters([ExporterKind::Prometheus])
        .with_service_name("bridge-test")
}

/// The value of the one sample of `name` whose labels include all of `want`.
fn sample(text: &str, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let hits: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            want.iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(
        hits.len() <= 1,
        "{name} {want:?} matches {} samples:\n{text}",
        hits.len()
    );
    hits.first().copied()
}

async fn scrape(guard: &MetricsGuard, headers: &[(&str, &str)]) -> HttpResponse {
    http_get(guard.prometheus_addr().unwrap(), "/metrics", headers)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_binds_loopback_by_default() {
    let config = business_metrics_exporter::builder()
        .without_env()
        .resolve()
        .unwrap();
    assert_eq!(
        config.prometheus.addr,
        SocketAddr::from(([127, 0, 0, 1], 9464))
    );
    let guard = bridge_builder().init().unwrap();
    let addr = guard.prometheus_addr().unwrap();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_serves_catalog_prometheus_names_with_exact_values() {
    let guard = bridge_builder().init().unwrap();
    record_workload(&guard.business_metrics());
    let resp = scrape(&guard, &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some(business_metrics_exporter::TEXT_CONTENT_TYPE)
    );
    let t = &resp.body;
    let names = |n| {
        business_metrics::catalog::descriptor(n)
            .unwrap()
            .prometheus_name
    };
    let funnel = names("business.funnel_step");
    assert_eq!(funnel, "business_funnel_step_total");
    assert_eq!(
        sample(
            t,
            funnel,
            &[
                ("funnel", "checkout"),
                ("step", "cart_view"),
                ("source", SOURCE),
                ("device_type", "mobile"),
                ("experiment_variant", VARIANT),
                ("otel_scope_name", "business-metrics")
            ]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            t,
            names("business.conversions"),
            &[("conversion_type", "purchase")]
        ),
        Some(1.0)
    );
    let revenue = names("business.revenue_cents");
    assert_eq!(
        sample(
            t,
            revenue,
            &[
                ("product_category", "electronics"),
                ("payment_method", "card"),
                ("region", "us_west"),
                ("currency", "USD")
            ]
        ),
        Some(REVENUE_TOTAL as f64)
    );
    let order = names("business.order_value_cents");
    let bucket = format!("{order}_bucket");
    for (le, count) in ORDER_VALUE_BUCKETS {
        assert_eq!(
            sample(
                t,
                &bucket,
                &[("product_category", "electronics"), ("le", le)]
            ),
            Some(count),
            "le={le}"
        );
    }
    assert_eq!(
        sample(t, &format!("{order}_sum"), &[]),
        Some(REVENUE_TOTAL as f64)
    );
    assert_eq!(sample(t, &format!("{order}_count"), &[]), Some(2.0));
    let ttc = names("business.time_to_conversion");
    assert_eq!(ttc, "business_time_to_conversion_seconds");
    assert_eq!(
        sample(t, &format!("{ttc}_bucket"), &[("le", "30")]),
        Some(0.0)
    );
    assert_eq!(
        sample(t, &format!("{ttc}_bucket"), &[("le", "60")]),
        Some(1.0)
    );
    assert_eq!(sample(t, &format!("{ttc}_sum"), &[]), Some(45.0));
    assert_eq!(
        sample(
            t,
            names("business.revenue_per_minute_cents"),
            &[("region", "us_west"), ("currency", "USD")]
        ),
        Some(REVENUE_TOTAL as f64)
    );
    assert!(t.contains("target_info{"), "{t}");
    assert!(t.contains("service_name=\"bridge-test\""), "{t}");
    guard.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_requires_the_bearer_token_when_one_is_set() {
    let guard = bridge_builder()
        .with_bearer_token("s3cret-token")
        .init()
        .unwrap();
    record_workload(&guard.business_metrics());

    let none = scrape(&guard, &[]).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    assert!(!none.body.contains("business_"), "{}", none.body);
    let wrong = scrape(&guard, &[("Authorization", "Bearer s3cret-tokem")]).await;
    assert_eq!(wrong.status, 401);
    let basic = scrape(&guard, &[("Authorization", "Basic s3cret-token")]).await;
    assert_eq!(basic.status, 401);
    let right = scrape(&guard, &[("Authorization", "Bearer s3cret-token")]).await;
    assert_eq!(right.status, 200);
    assert!(
        right.body.contains("business_revenue_cents_total{"),
        "{}",
        right.body
    );

    let debug = format!("{guard:?}");
    assert!(!debug.contains("s3cret-token"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn series_past_the_cardinality_limit_land_in_the_overflow_series() {
    let guard = bridge_builder().with_cardinality_limit(3).init().unwrap();
    // The guard's instance keeps as many counter series as the limit, and sums the
    // rest in its overflow series.
    let metrics = guard.business_metrics();
    for (i, region) in ["r1", "r2", "r3", "r4", "r5"].into_iter().enumerate() {
        let amount = 100 * (i as u64 + 1);
        metrics
            .record_revenue(&Revenue::new(amount, "books", "card", region))
            .unwrap();
    }
    let t = scrape(&guard, &[]).await.body;
    for (region, amount) in [("r1", 100.0), ("r2", 200.0), ("r3", 300.0)] {
        assert_eq!(
            sample(&t, "business_revenue_cents_total", &[("region", region)]),
            Some(amount),
            "{region}"
        );
    }
    assert_eq!(
        sample(&t, "business_revenue_cents_total", &[("region", "r4")]),
        None
    );
    assert_eq!(
        sample(
            &t,
            "business_revenue_cents_total",
            &[("otel_metric_overflow", "true")]
        ),
        Some(900.0)
    );
}

#[test]
fn init_outside_a_tokio_runtime_is_a_typed_error_not_a_panic() {
    let err = bridge_builder().init().unwrap_err();
    assert!(matches!(err, InitError::NoTokioRuntime), "{err:?}");
    assert!(
        err.to_string()
            .contains("call init from inside a tokio runtime"),
        "{err}"
    );
    // OTLP over HTTP and the console exporter need no runtime.
    let guard = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Otlp])
        .with_otlp_endpoint(format!("http://127.0.0.1:{}/v1/metrics", free_port()))
        .with_shutdown_timeout(std::time::Duration::from_secs(3))
        .init()
        .unwrap();
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_bridge_port_is_a_typed_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Prometheus])
        .with_prometheus_addr(addr)
        .init()
        .unwrap_err();
    assert!(
        matches!(err, InitError::BridgeBind { addr: a, .. } if a == addr),
        "{err:?}"
    );
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_bridge() {
    let guard = bridge_builder().init().unwrap();
    let addr = guard.prometheus_addr().unwrap();
    assert_eq!(http_get(addr, "/metrics", &[]).await.unwrap().status, 200);
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
    poll(
        "bridge to stop listening",
        std::time::Duration::from_secs(5),
        || async move {
            tokio::net::TcpStream::connect(addr)
                .await
                .is_err()
                .then_some(())
        },
    )
    .await;
}
