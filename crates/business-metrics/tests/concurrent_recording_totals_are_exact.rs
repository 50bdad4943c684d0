//! Many threads recording through clones of one handle lose nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use business_metrics::catalog::names;
use business_metrics::{DeviceType, FunnelContext, Revenue, UserTier};
use support::Point;

#[test]
fn totals_are_exact_after_eight_threads_record_concurrently() {
    const THREADS: u64 = 8;
    const EVENTS: u64 = 5_000;
    let h = support::Harness::new();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let metrics = h.metrics.clone();
            s.spawn(move || {
                let device = if t % 2 == 0 {
                    DeviceType::Mobile
                } else {
                    DeviceType::Desktop
                };
                let checkout = metrics
                    .checkout(&FunnelContext::new("direct", device), metrics.now())
                    .unwrap();
                for i in 0..EVENTS {
                    checkout.cart_view();
                    let amount = i % 100 + 1;
                    checkout
                        .purchase_completed(&Revenue::new(
                            amount,
                            "books",
                            "card",
                            if i % 2 == 0 { "eu" } else { "us" },
                        ))
                        .unwrap();
                    metrics
                        .record_feature_usage("search", UserTier::Pro, false)
                        .unwrap();
                }
            });
        }
    });
    let m = h.collect();
    let per_thread_revenue: u64 = (0..EVENTS).map(|i| i % 100 + 1).sum();
    let f = &m[names::FUNNEL_STEP];
    for device in ["mobile", "desktop"] {
        for step in ["cart_view", "order_confirmed"] {
            assert_eq!(
                f.point(&[
                    ("funnel", "checkout"),
                    ("step", step),
                    ("source", "direct"),
                    ("device_type", device),
                    ("experiment_variant", "control")
                ]),
                Some(&Point::U64(THREADS / 2 * EVENTS)),
                "{step} {device}"
            );
        }
    }
    assert_eq!(m[names::CONVERSIONS].total_u64(), THREADS * EVENTS);
    assert_eq!(
        m[names::REVENUE_CENTS].total_u64(),
        THREADS * per_thread_revenue
    );
    assert_eq!(m[names::FEATURE_USAGE].total_u64(), THREADS * EVENTS);
    match m[names::ORDER_VALUE_CENTS].point(&[("product_category", "books"), ("currency", "USD")]) {
        Some(Point::Histogram {
            count, sum, counts, ..
        }) => {
            assert_eq!(*count, THREADS * EVENTS);
            assert_eq!(*sum, (THREADS * per_thread_revenue) as f64);
            // Amounts 1..=100 all fall at or under the first bound (500).
            assert_eq!(counts[0], THREADS * EVENTS);
        }
        other => panic!("{other:?}"),
    }
    // The clock did not move: the window holds everything.
    let window: u64 = h
        .metrics
        .revenue_last_minute()
        .iter()
        .map(|(_, v)| v.amount_minor)
        .sum();
    assert_eq!(window, THREADS * per_thread_revenue);
}
