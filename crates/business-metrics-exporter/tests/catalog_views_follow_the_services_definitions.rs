//! A service's catalog reaches the pipeline: its own instruments and bucket
//! overrides on `/metrics`, one business-metrics instance per guard, and a clear
//! refusal of what the text exposition cannot carry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use business_metrics::catalog::names;
use business_metrics::define::{kind, Attribute, Definition};
use business_metrics::{Catalog, Currency, Money, Revenue};
use business_metrics_exporter::{ConfigError, ExporterKind, InitError, MetricsGuard};
use support::*;

business_metrics::closed_set! {
    /// Plans.
    pub enum Plan: "plan" {
        /// Per seat.
        Team => "team",
        /// Contract.
        Business => "business",
    }
}

const MRR: Definition<kind::MoneyGauge, 1> = Definition::money_gauge(
    "saas.mrr_cents",
    "Monthly recurring revenue in minor units",
    &[Attribute::closed::<Plan>("plan")],
)
.with_owner("finance")
.checked();

fn catalog() -> Catalog {
    Catalog::builder()
        .with_instrument(MRR)
        .with_buckets(names::ORDER_VALUE_CENTS, &[100_000.0, 150_000.0, 500_000.0])
        .build()
        .unwrap()
}

fn start(catalog: Catalog) -> Result<MetricsGuard, InitError> {
    business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Prometheus])
        .with_prometheus_addr("127.0.0.1:0".parse().unwrap())
        .with_service_name("catalog-test")
        .with_catalog(catalog)
        .init()
}

async fn metrics_text(guard: &MetricsGuard) -> String {
    let r = http_get(guard.prometheus_addr().unwrap(), "/metrics", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_instruments_and_bucket_overrides_are_on_metrics() {
    let guard = start(catalog()).unwrap();
    let metrics = guard.business_metrics();
    let mrr = metrics.instrument(&MRR).unwrap();
    mrr.set(Money::new(4_990_000, Currency::USD), [Plan::Team])
        .unwrap();
    mrr.set(Money::new(1_499, Currency::KWD), [Plan::Business])
        .unwrap();
    // A 1,499 USD invoice lands below 1,500 USD, not in +Inf of a 500 USD top bucket.
    metrics
        .record_revenue(&Revenue::new(149_900, "annual", "card", "eu").with_currency(Currency::USD))
        .unwrap();
    let text = metrics_text(&guard).await;
    assert!(text.contains("# TYPE saas_mrr_cents gauge\n"), "{text}");
    assert!(
        text.contains(
            "saas_mrr_cents{currency=\"USD\",plan=\"team\",otel_scope_name=\"business-metrics\""
        ),
        "{text}"
    );
    assert!(text.contains("saas_mrr_cents{currency=\"KWD\",plan=\"business\",otel_scope_name=\"business-metrics\""), "{text}");
    for (le, count) in [("100000", 0), ("150000", 1), ("500000", 1), ("+Inf", 1)] {
        let line = format!(
            "business_order_value_cents_bucket{{currency=\"USD\",product_category=\"annual\",otel_scope_name=\"business-metrics\",otel_scope_version=\"{}\",le=\"{le}\"}} {count}\n",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
    assert!(
        !text.contains("le=\"50000\""),
        "the built-in buckets are replaced"
    );
    // A value outside the closed set is refused and counted.
    let err = mrr.set(Money::new(1, Currency::USD), ["gold"]).unwrap_err();
    assert_eq!(err.reason(), "unknown_value");
    guard.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_to_business_metrics_returns_the_one_instance() {
    let guard = start(Catalog::built_in()).unwrap();
    // Recorded through two handles: the counter and the revenue window agree, as
    // one instance with one window and one callback.
    for _ in 0..3 {
        guard
            .business_metrics()
            .record_revenue(&Revenue::new(500, "books", "card", "eu"))
            .unwrap();
    }
    assert_eq!(
        guard.business_metrics().revenue_last_minute(),
        [("eu".to_owned(), Money::new(1_500, Currency::USD))]
    );
    let text = metrics_text(&guard).await;
    let value = |name: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(value("business_revenue_cents_total"), [1_500.0]);
    assert_eq!(value("business_revenue_per_minute_cents"), [1_500.0]);
    guard.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exponential_histogram_with_the_text_exposition_is_refused_by_name() {
    let catalog = Catalog::builder()
        .with_exponential_buckets(names::TIME_TO_CONVERSION, 160, 20)
        .build()
        .unwrap();
    match start(catalog) {
        Err(InitError::Config(ConfigError::InvalidConfig { name, reason })) => {
            assert_eq!(name, "catalog");
            assert!(
                reason.starts_with("business.time_to_conversion is an exponential histogram"),
                "{reason}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
