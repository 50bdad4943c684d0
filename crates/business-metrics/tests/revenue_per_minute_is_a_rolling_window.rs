//! `business.revenue_per_minute_cents` is computed over a trailing 60-second window.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use business_metrics::catalog::names;
use business_metrics::Revenue;
use support::{Harness, Point};

fn gauge(h: &Harness, region: &str) -> Option<u64> {
    match h
        .collect()
        .get(names::REVENUE_PER_MINUTE_CENTS)?
        .point(&[("region", region), ("currency", "USD")])?
    {
        Point::U64(v) => Some(*v),
        other => panic!("{other:?}"),
    }
}

#[test]
fn revenue_leaves_the_gauge_exactly_at_the_window_edge() {
    let h = Harness::new();
    h.clock.advance(Duration::from_millis(500));
    h.metrics
        .record_revenue(&Revenue::new(1_000, "books", "card", "eu"))
        .unwrap();
    h.clock.advance(Duration::from_secs(30)); // t = 30.5 s
    h.metrics
        .record_revenue(&Revenue::new(250, "books", "card", "eu"))
        .unwrap();
    h.metrics
        .record_revenue(&Revenue::new(70, "books", "card", "us"))
        .unwrap();
    assert_eq!(gauge(&h, "eu"), Some(1_250));
    assert_eq!(gauge(&h, "us"), Some(70));

    h.clock.advance(Duration::from_millis(29_499)); // t = 59.999 s: both still inside
    assert_eq!(gauge(&h, "eu"), Some(1_250));
    h.clock.advance(Duration::from_millis(1)); // t = 60.0 s: the first sale (second 0) left
    assert_eq!(gauge(&h, "eu"), Some(250));
    h.clock.advance(Duration::from_secs(30)); // t = 90.0 s: the second (second 30) left
    assert_eq!(gauge(&h, "eu"), Some(0));
    assert_eq!(gauge(&h, "us"), Some(0));
}

#[test]
fn a_steady_stream_reports_one_minute_of_revenue() {
    let h = Harness::new();
    // 10 cents every 100 ms for five minutes.
    for _ in 0..3_000 {
        h.metrics
            .record_revenue(&Revenue::new(10, "books", "card", "eu"))
            .unwrap();
        h.clock.advance(Duration::from_millis(100));
    }
    // Now t = 300 s; seconds 241..=299 are in the window: 59 seconds of 10 sales.
    assert_eq!(gauge(&h, "eu"), Some(59 * 10 * 10));
    h.metrics
        .record_revenue(&Revenue::new(10, "books", "card", "eu"))
        .unwrap();
    assert_eq!(gauge(&h, "eu"), Some(59 * 10 * 10 + 10));
}

#[test]
fn the_number_of_tracked_regions_is_bounded() {
    let exporter = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(exporter).build())
        .build();
    let meter = opentelemetry::metrics::MeterProvider::meter(&provider, "t");
    let metrics = business_metrics::BusinessMetrics::builder(&meter)
        .with_max_revenue_regions(3)
        .build();
    for i in 0..100 {
        metrics
            .record_revenue(&Revenue::new(1, "books", "card", &format!("region_{i}")))
            .unwrap();
    }
    let regions: Vec<(String, u64)> = metrics
        .revenue_last_minute()
        .into_iter()
        .map(|(region, money)| (region, money.amount_minor))
        .collect();
    assert_eq!(
        regions,
        [
            ("other".to_owned(), 97),
            ("region_0".to_owned(), 1),
            ("region_1".to_owned(), 1),
            ("region_2".to_owned(), 1)
        ]
    );
}
