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

/// 64 threads that live for a few hundred events each, in waves of 8, record on
/// the same series through the three paths (held handles, trackers, one call per
/// update) while another thread collects over and over. Every collection sees
/// totals that never go back; the last one sees every event.
#[test]
fn sixty_four_short_lived_threads_and_a_collector_lose_nothing() {
    use business_metrics::{CheckoutStep, FunnelStep, Sale};
    use std::sync::atomic::{AtomicBool, Ordering};
    const WAVES: u64 = 8;
    const PER_WAVE: u64 = 8;
    const EVENTS: u64 = 300;
    const CTX: FunnelContext<'static> = FunnelContext::new("direct", DeviceType::Mobile);
    let h = support::Harness::new();
    let funnel = h.metrics.bind_funnel(&CTX).unwrap();
    let sale = h
        .metrics
        .bind_sale(&Sale::new("books", "card", "eu"))
        .unwrap();
    let done = AtomicBool::new(false);
    let cart_view = [
        ("funnel", "checkout"),
        ("step", "cart_view"),
        ("source", "direct"),
        ("device_type", "mobile"),
        ("experiment_variant", "control"),
    ];
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = (0, 0);
            while !done.load(Ordering::SeqCst) {
                let m = h.collect();
                let steps = match m.get(names::FUNNEL_STEP).and_then(|f| f.point(&cart_view)) {
                    Some(Point::U64(v)) => *v,
                    _ => 0,
                };
                let revenue = m.get(names::REVENUE_CENTS).map_or(0, |r| r.total_u64());
                assert!(
                    steps >= last.0 && revenue >= last.1,
                    "{steps} {revenue} after {last:?}"
                );
                last = (steps, revenue);
            }
        });
        for wave in 0..WAVES {
            std::thread::scope(|w| {
                for t in 0..PER_WAVE {
                    let (metrics, funnel, sale) = (&h.metrics, &funnel, &sale);
                    w.spawn(move || {
                        for i in 0..EVENTS {
                            match (wave * PER_WAVE + t + i) % 3 {
                                0 => {
                                    funnel.step(CheckoutStep::CartView);
                                    funnel.purchase_completed(sale, 10, 1.0).unwrap();
                                }
                                1 => {
                                    let c = metrics.checkout(&CTX, metrics.now()).unwrap();
                                    c.cart_view();
                                    c.purchase_completed(&Revenue::new(10, "books", "card", "eu"))
                                        .unwrap();
                                }
                                _ => {
                                    metrics
                                        .record_funnel_step(
                                            FunnelStep::Checkout(CheckoutStep::CartView),
                                            &CTX,
                                        )
                                        .unwrap();
                                    metrics
                                        .record_funnel_step(
                                            FunnelStep::Checkout(CheckoutStep::OrderConfirmed),
                                            &CTX,
                                        )
                                        .unwrap();
                                    metrics.record_conversion("purchase", &CTX, 1.0).unwrap();
                                    metrics
                                        .record_revenue(&Revenue::new(10, "books", "card", "eu"))
                                        .unwrap();
                                }
                            }
                        }
                    });
                }
            });
        }
        done.store(true, Ordering::SeqCst);
    });
    let events = WAVES * PER_WAVE * EVENTS;
    let m = h.collect();
    assert_eq!(
        m[names::FUNNEL_STEP].point(&cart_view),
        Some(&Point::U64(events))
    );
    assert_eq!(m[names::CONVERSIONS].total_u64(), events);
    assert_eq!(m[names::REVENUE_CENTS].total_u64(), events * 10);
    match m[names::TIME_TO_CONVERSION].point(&[("conversion_type", "purchase")]) {
        Some(Point::Histogram { count, .. }) => assert_eq!(*count, events),
        other => panic!("{other:?}"),
    }
    let window: u64 = h
        .metrics
        .revenue_last_minute()
        .iter()
        .map(|(_, v)| v.amount_minor)
        .sum();
    assert_eq!(window, events * 10);
}
