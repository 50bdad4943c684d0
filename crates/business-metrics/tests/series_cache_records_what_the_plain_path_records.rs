//! Known label combinations are recorded through cached, pre-resolved series (bound
//! instruments with the `bound-instruments` feature). These tests hold that path to
//! exactly what the uncached path records: same series, same values, same overflow,
//! same refusals, whether the cache holds everything, a little, or nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use business_metrics::{CheckoutStep, FunnelContext, FunnelStep, LabelPolicy, Revenue};
use support::pools::{CATEGORIES, CURRENCIES, DEVICES, PAYMENTS, REGIONS, SOURCES, VARIANTS};
use support::{Exported, Harness};

/// A mixed workload: trackers, per-call steps and conversions, sales in several
/// currencies, milestones, failures and refused input, on a moving manual clock.
fn workload(h: &Harness, events: usize) {
    let m = &h.metrics;
    for i in 0..events {
        let ctx = FunnelContext::new(SOURCES[i % 4], DEVICES[i % 3])
            .with_experiment_variant(VARIANTS[i % 2]);
        let sale = Revenue::new(
            1_000 + (i as u64 * 37) % 90_000,
            CATEGORIES[i % 5],
            PAYMENTS[i % 3],
            REGIONS[i % 4],
        )
        .with_currency(CURRENCIES[i % 3]);
        match i % 5 {
            0 | 1 => {
                let start = m.now();
                let t = m.checkout(&ctx, start).unwrap();
                t.cart_view();
                t.shipping_info();
                h.clock.advance(Duration::from_millis(700 * (i as u64 % 9)));
                if i % 5 == 0 {
                    t.payment_info();
                    t.order_review();
                    t.purchase_completed(&sale).unwrap();
                } else {
                    t.checkout_failed();
                }
            }
            2 => support::purchase_per_call(m, &ctx, &sale, (i % 600) as f64),
            3 => {
                m.record_funnel_step(FunnelStep::Milestone("first_search"), &ctx)
                    .unwrap();
                m.record_conversion("signup", &ctx, 12.5).unwrap();
                m.record_funnel_step(FunnelStep::CheckoutError, &ctx)
                    .unwrap();
            }
            _ => {
                // Refused: nothing recorded but the rejection.
                assert!(m
                    .record_revenue(&Revenue {
                        amount_minor: 0,
                        ..sale
                    })
                    .is_err());
                assert!(m.record_revenue(&sale.with_currency("XXQ")).is_err());
                let bad = FunnelContext::new("", DEVICES[i % 3]);
                assert!(m.checkout(&bad, m.now()).is_err());
                assert!(m
                    .record_funnel_step(FunnelStep::Checkout(CheckoutStep::CartView), &bad)
                    .is_err());
                assert!(m.record_conversion("purchase", &ctx, f64::NAN).is_err());
            }
        }
        h.clock.advance(Duration::from_millis(250));
    }
}

fn run(capacity: usize, cardinality_limit: Option<usize>) -> BTreeMap<String, Exported> {
    let h = Harness::configured(LabelPolicy::default(), cardinality_limit, |b| {
        b.with_series_cache_capacity(capacity)
    });
    workload(&h, 400);
    h.collect()
}

#[test]
fn cached_and_uncached_paths_record_identical_metrics() {
    let plain = run(0, None);
    // The workload moves every contract metric but active users.
    for name in [
        "business.funnel_step",
        "business.conversions",
        "business.time_to_conversion",
        "business.revenue_cents",
        "business.order_value_cents",
        "business.revenue_per_minute_cents",
        "business.rejected_events",
    ] {
        assert!(
            plain.contains_key(name),
            "{name} missing: {:?}",
            plain.keys()
        );
    }
    // 4 sources x 3 devices x 2 variants, all seen by the 400 events.
    let funnels = &plain["business.funnel_step"];
    assert!(funnels
        .point(&[
            ("funnel", "checkout"),
            ("step", "cart_view"),
            ("source", "email"),
            ("device_type", "tablet"),
            ("experiment_variant", "control"),
        ])
        .is_some());
    for capacity in [1, 3, 17, 2048] {
        assert_eq!(run(capacity, None), plain, "cache capacity {capacity}");
    }
}

#[test]
fn at_the_cardinality_limit_cached_series_overflow_exactly_as_plain_ones() {
    let limit = 5;
    let plain = run(0, Some(limit));
    let funnels = &plain["business.funnel_step"];
    // The limit holds (plus the overflow series), and nothing is lost.
    assert!(
        funnels.points.len() <= limit + 1,
        "{:?}",
        funnels.points.keys()
    );
    assert!(funnels.point(&[("otel.metric.overflow", "true")]).is_some());
    let unlimited = run(0, None);
    assert_eq!(
        funnels.total_u64(),
        unlimited["business.funnel_step"].total_u64()
    );
    for capacity in [1, 2048] {
        assert_eq!(
            run(capacity, Some(limit)),
            plain,
            "cache capacity {capacity}"
        );
    }
}
