//! Held handles (`bind_funnel`, `bind_sale`) are the hot-path form of the checkout
//! tracker: these tests hold them to exactly what trackers record, with and without
//! the series cache and at a cardinality limit, and check that bad input through
//! them is refused, counted, and records nothing else.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use business_metrics::{
    BoundFunnel, BoundSale, DeviceType, FunnelContext, LabelPolicy, RecordError, Revenue, Sale,
    MAX_AMOUNT_MINOR,
};
use support::pools::{CATEGORIES, CURRENCIES, DEVICES, PAYMENTS, REGIONS, SOURCES, VARIANTS};
use support::{Exported, Harness};

const EVENTS: usize = 300;

fn context(i: usize) -> FunnelContext<'static> {
    FunnelContext::new(SOURCES[i % 4], DEVICES[i % 3]).with_experiment_variant(VARIANTS[i % 2])
}

fn sale(i: usize) -> Sale<'static> {
    Sale::new(CATEGORIES[i % 5], PAYMENTS[i % 3], REGIONS[i % 4]).with_currency(CURRENCIES[i % 3])
}

fn amount(i: usize) -> u64 {
    1_000 + (i as u64 * 37) % 90_000
}

/// How long event `i`'s session lasts before the purchase.
fn session(i: usize) -> Duration {
    Duration::from_millis(700 * (i as u64 % 9) + 40)
}

fn harness(capacity: usize, cardinality_limit: Option<usize>) -> Harness {
    Harness::configured(LabelPolicy::default(), cardinality_limit, |b| {
        b.with_series_cache_capacity(capacity)
    })
}

/// Purchases (and every 7th checkout failing instead) through trackers.
fn through_trackers(h: &Harness) -> BTreeMap<String, Exported> {
    let m = &h.metrics;
    for i in 0..EVENTS {
        let t = m.checkout(&context(i), m.now()).unwrap();
        t.cart_view();
        t.shipping_info();
        h.clock.advance(session(i));
        if i % 7 == 3 {
            t.checkout_failed();
        } else {
            t.payment_info();
            t.order_review();
            t.purchase_completed(&sale(i).with_amount(amount(i)))
                .unwrap();
        }
        h.clock.advance(Duration::from_millis(250));
    }
    h.collect()
}

/// The same events through handles bound on first use, in the order the tracker
/// resolves its series (context at checkout, sale at the purchase).
fn through_handles(h: &Harness) -> BTreeMap<String, Exported> {
    let m = &h.metrics;
    let mut funnels: BTreeMap<usize, BoundFunnel> = BTreeMap::new();
    let mut sales: BTreeMap<usize, BoundSale> = BTreeMap::new();
    for i in 0..EVENTS {
        let f = funnels
            .entry(i % 24)
            .or_insert_with(|| m.bind_funnel(&context(i)).unwrap())
            .clone();
        f.step(business_metrics::CheckoutStep::CartView);
        f.step(business_metrics::CheckoutStep::ShippingInfo);
        h.clock.advance(session(i));
        if i % 7 == 3 {
            f.checkout_failed();
        } else {
            f.step(business_metrics::CheckoutStep::PaymentInfo);
            f.step(business_metrics::CheckoutStep::OrderReview);
            let s = sales
                .entry(i % 60)
                .or_insert_with(|| m.bind_sale(&sale(i)).unwrap());
            f.purchase_completed(s, amount(i), session(i).as_secs_f64())
                .unwrap();
        }
        h.clock.advance(Duration::from_millis(250));
    }
    h.collect()
}

#[test]
fn held_handles_record_exactly_what_trackers_record() {
    let tracked = through_trackers(&harness(2048, None));
    let revenue = &tracked["business.revenue_cents"];
    let expected: u64 = (0..EVENTS).filter(|i| i % 7 != 3).map(amount).sum();
    assert_eq!(revenue.total_u64(), expected);
    assert!(tracked.contains_key("business.revenue_per_minute_cents"));
    assert!(tracked["business.funnel_step"]
        .point(&[
            ("funnel", "checkout"),
            ("step", "checkout_error"),
            ("source", "email"),
            ("device_type", "tablet"),
            ("experiment_variant", "control"),
        ])
        .is_some());
    for capacity in [0, 1, 2048] {
        assert_eq!(
            through_handles(&harness(capacity, None)),
            tracked,
            "cache capacity {capacity}"
        );
    }
}

#[test]
fn at_the_cardinality_limit_held_handles_overflow_exactly_as_trackers() {
    let limit = 5;
    let tracked = through_trackers(&harness(2048, Some(limit)));
    let funnels = &tracked["business.funnel_step"];
    assert!(funnels.points.len() <= limit + 1);
    assert!(funnels.point(&[("otel.metric.overflow", "true")]).is_some());
    for capacity in [0, 2048] {
        assert_eq!(
            through_handles(&harness(capacity, Some(limit))),
            tracked,
            "cache capacity {capacity}"
        );
    }
}

/// Every metric but the refusal counter, which refusals are meant to move.
fn without_rejections(mut metrics: BTreeMap<String, Exported>) -> BTreeMap<String, Exported> {
    metrics.remove("business.rejected_events");
    metrics
}

#[test]
fn bad_input_through_handles_is_refused_counted_and_records_nothing_else() {
    let h = Harness::new();
    let m = &h.metrics;
    let funnel = m.bind_funnel(&context(0)).unwrap();
    let sold = m.bind_sale(&sale(0)).unwrap();
    funnel.purchase_completed(&sold, 1_234, 30.0).unwrap();
    sold.record(99).unwrap();
    let before = h.collect();
    assert_eq!(before["business.revenue_cents"].total_u64(), 1_234 + 99);

    let refused_amounts = [0, MAX_AMOUNT_MINOR + 1, u64::MAX];
    for bad in refused_amounts {
        let err = funnel.purchase_completed(&sold, bad, 30.0).unwrap_err();
        assert!(
            matches!(err, RecordError::InvalidAmount { field: "amount_minor", value, .. } if value == bad),
            "{err:?}"
        );
        let err = sold.record(bad).unwrap_err();
        assert!(matches!(err, RecordError::InvalidAmount { .. }), "{err:?}");
    }
    let refused_durations = [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    for bad in refused_durations {
        let err = funnel.purchase_completed(&sold, 1_000, bad).unwrap_err();
        assert!(
            matches!(
                err,
                RecordError::InvalidDuration {
                    field: "time_to_conversion",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let err = m
        .bind_funnel(&FunnelContext::new("", DeviceType::Mobile))
        .unwrap_err();
    assert!(matches!(err, RecordError::EmptyValue { .. }), "{err:?}");
    let err = m
        .bind_funnel(
            &FunnelContext::new("ok", DeviceType::Mobile).with_experiment_variant(&"v".repeat(500)),
        )
        .unwrap_err();
    assert!(matches!(err, RecordError::ValueTooLong { .. }), "{err:?}");
    let err = m.bind_sale(&sale(0).with_currency("XXQ")).unwrap_err();
    assert!(
        matches!(err, RecordError::UnknownCurrency { .. }),
        "{err:?}"
    );
    let err = m.bind_sale(&Sale::new("books", "", "eu")).unwrap_err();
    assert!(matches!(err, RecordError::EmptyValue { .. }), "{err:?}");

    let after = h.collect();
    assert_eq!(
        without_rejections(after.clone()),
        without_rejections(before)
    );
    let rejected = &after["business.rejected_events"];
    let reason = |r: &str| match rejected.point(&[("reason", r)]) {
        Some(support::Point::U64(n)) => Some(*n),
        other => panic!("{r}: {other:?}"),
    };
    assert_eq!(
        reason("invalid_amount"),
        Some(2 * refused_amounts.len() as u64)
    );
    assert_eq!(
        reason("invalid_duration"),
        Some(refused_durations.len() as u64)
    );
    assert_eq!(reason("empty_value"), Some(2));
    assert_eq!(reason("value_too_long"), Some(1));
    assert_eq!(reason("unknown_currency"), Some(1));
}

#[test]
fn handles_of_two_instances_each_record_on_their_own_instruments() {
    let shop = Harness::new();
    let other = Harness::new();
    let funnel = shop.metrics.bind_funnel(&context(1)).unwrap();
    let sold = other.metrics.bind_sale(&sale(1)).unwrap();
    funnel.purchase_completed(&sold, 4_200, 12.0).unwrap();

    let shop = shop.collect();
    assert_eq!(shop["business.conversions"].total_u64(), 1);
    assert!(!shop.contains_key("business.revenue_cents"));
    let other = other.collect();
    assert_eq!(other["business.revenue_cents"].total_u64(), 4_200);
    assert!(!other.contains_key("business.conversions"));
}

#[test]
fn a_sale_with_an_amount_is_the_revenue_it_was_made_from() {
    let revenue = Revenue::new(500, "books", "card", "eu").with_currency("EUR");
    assert_eq!(revenue.sale().with_amount(500), revenue);
}
