//! Rendered through `opentelemetry-prometheus`, every instrument has exactly the
//! Prometheus name of the contract, and the whole exposition matches a golden file.
//!
//! Regenerate the golden file after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p business-metrics --test prometheus_names_match_the_contract`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use business_metrics::catalog::{InstrumentKind, CATALOG};
use business_metrics::{
    ActiveWindow, BusinessMetrics, DeviceType, Dimension, EngagementContext, FunnelContext,
    LabelPolicy, ManualClock, Revenue, UserTier,
};
use opentelemetry::metrics::MeterProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::Resource;
use prometheus::{Encoder, TextEncoder};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/prometheus.txt");

fn render() -> String {
    let registry = prometheus::Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .unwrap();
    let provider = SdkMeterProvider::builder()
        .with_resource(Resource::builder_empty().with_service_name("shop").build())
        .with_reader(exporter)
        .build();
    let clock = ManualClock::new();
    let meter = provider.meter_with_scope(business_metrics::instrumentation_scope());
    // One feature name kept: a second one is folded into `other` and counted.
    let policy = LabelPolicy::builder()
        .with_budget(Dimension::FeatureName, 1)
        .build()
        .unwrap();
    let metrics = BusinessMetrics::builder(&meter)
        .with_clock(clock.clone())
        .with_label_policy(policy)
        .build();

    let ctx =
        FunnelContext::new("google_ads", DeviceType::Mobile).with_experiment_variant("one_page");
    let checkout = metrics.checkout(&ctx, metrics.now()).unwrap();
    let session = metrics
        .engagement(
            &EngagementContext {
                user_tier: UserTier::Pro,
                entry_page: "/dashboard",
                is_new_user: false,
            },
            &FunnelContext::new("in_app", DeviceType::Desktop),
        )
        .unwrap();
    checkout.cart_view();
    checkout.shipping_info();
    checkout.payment_info();
    checkout.order_review();
    session.feature_used("dashboard_export").unwrap();
    session.feature_used("bulk_edit").unwrap();
    session.milestone("first_chart_created").unwrap();
    clock.advance(Duration::from_secs(95));
    checkout
        .purchase_completed(&Revenue::new(7_450, "electronics", "card", "us_west"))
        .unwrap();
    clock.advance(Duration::from_secs(30));
    session.end().unwrap();
    metrics.set_active_users(ActiveWindow::Daily, UserTier::Pro, 42);
    let _ = metrics.record_revenue(&Revenue::new(0, "electronics", "card", "us_west"));

    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut out)
        .unwrap();
    // The scope version follows the crate's; keep the golden file stable across releases.
    String::from_utf8(out).unwrap().replace(
        &format!("otel_scope_version=\"{}\"", env!("CARGO_PKG_VERSION")),
        "otel_scope_version=\"<version>\"",
    )
}

#[test]
fn every_catalog_entry_renders_under_its_contract_name() {
    let text = render();
    for d in CATALOG {
        let n = d.prometheus_name;
        assert!(
            text.contains(&format!("# TYPE {n} {}\n", d.kind.prometheus_type())),
            "{n} missing:\n{text}"
        );
        assert!(
            text.contains(&format!("# HELP {n} {}\n", d.description)),
            "{n}"
        );
        if d.kind == InstrumentKind::Histogram {
            for le in d
                .buckets
                .iter()
                .map(ToString::to_string)
                .chain(["+Inf".to_owned()])
            {
                assert!(text.contains(&format!("le=\"{le}\"")), "{n} le={le}");
            }
            assert!(text.contains(&format!("\n{n}_sum{{")), "{n}_sum");
            assert!(text.contains(&format!("\n{n}_count{{")), "{n}_count");
        }
    }
    // The exact spellings the guide's queries use.
    for line in [
        "business_funnel_step_total{device_type=\"mobile\",experiment_variant=\"one_page\",funnel=\"checkout\",source=\"google_ads\",step=\"order_confirmed\",",
        "business_conversions_total{conversion_type=\"purchase\",device_type=\"mobile\",source=\"google_ads\",",
        "business_time_to_conversion_seconds_bucket{conversion_type=\"purchase\",",
        "business_revenue_cents_total{currency=\"USD\",payment_method=\"card\",product_category=\"electronics\",region=\"us_west\",",
        "business_order_value_cents_bucket{currency=\"USD\",product_category=\"electronics\",",
        "business_revenue_per_minute_cents{currency=\"USD\",region=\"us_west\",",
        "business_feature_usage_total{feature_name=\"dashboard_export\",is_new_user=\"false\",user_tier=\"pro\",",
        "business_session_duration_seconds_bucket{entry_page=\"/dashboard\",user_tier=\"pro\",",
        "business_active_users{user_tier=\"pro\",window=\"daily\",",
        "business_rejected_events_total{reason=\"invalid_amount\",",
        "business_label_budget_exhausted_total{dimension=\"feature_name\",",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    // No doubled unit suffixes on any path.
    assert!(!text.contains("_seconds_seconds"));
    assert!(!text.contains("_total_total"));
}

#[test]
fn the_exposition_matches_the_golden_file() {
    let text = render();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &text).unwrap();
    }
    let golden = std::fs::read_to_string(GOLDEN).unwrap();
    assert_eq!(
        text, golden,
        "run with UPDATE_GOLDEN=1 after an intended change"
    );
}
