//! Once a label combination has been seen, recording it again allocates nothing on
//! the heap: a counting global allocator watches this test's thread while it records
//! purchase events through the tracker, the one-call-per-update API and held
//! handles (`bind_funnel`, `bind_sale`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use business_metrics::{CheckoutStep, FunnelContext, Revenue, Sale};
use support::counting_allocator::{allocations, Counting, WATCHED};
use support::pools::{CATEGORIES, DEVICES, PAYMENTS, REGIONS, VARIANTS};
use support::Harness;

#[global_allocator]
static GLOBAL: Counting = Counting;

// Sources without white space to trim: a value the policy must rewrite is a new
// string, and this test counts allocations.
const SOURCES: [&str; 4] = ["google_ads", "direct", "email", "social"];

/// One purchase event of the reference workload, both ways.
fn purchase(h: &Harness, i: usize) {
    let m = &h.metrics;
    let ctx =
        FunnelContext::new(SOURCES[i % 4], DEVICES[i % 3]).with_experiment_variant(VARIANTS[i % 2]);
    let sale = Revenue::new(
        1_000 + (i as u64 * 37) % 90_000,
        CATEGORIES[i % 5],
        PAYMENTS[i % 3],
        REGIONS[i % 4],
    );
    let t = m.checkout(&ctx, m.now()).unwrap();
    t.cart_view();
    t.shipping_info();
    t.payment_info();
    t.order_review();
    t.purchase_completed(&sale).unwrap();

    support::purchase_per_call(m, &ctx, &sale, (i % 600) as f64);
}

#[test]
fn purchases_on_known_combinations_allocate_nothing() {
    let h = Harness::new();
    // Warm-up: every combination of the pools (lcm 60) is seen once.
    for i in 0..120 {
        purchase(&h, i);
    }
    WATCHED.with(|w| w.set(true));
    for i in 0..6_000 {
        purchase(&h, i);
    }
    WATCHED.with(|w| w.set(false));
    assert_eq!(allocations(), 0);

    // The counter works: a new combination does allocate.
    WATCHED.with(|w| w.set(true));
    h.metrics
        .record_revenue(&Revenue::new(5, "garden", "card", "us-east"))
        .unwrap();
    WATCHED.with(|w| w.set(false));
    assert!(allocations() > 0);

    // And what was recorded is all there: 2 purchases per event over 6,120 events.
    let purchases = h.collect()["business.conversions"].total_u64();
    assert_eq!(purchases, 2 * 6_120);
}

#[test]
fn purchases_on_held_handles_allocate_nothing() {
    let h = Harness::new();
    let m = &h.metrics;
    let funnels: Vec<_> = (0..24)
        .map(|i| {
            let ctx = FunnelContext::new(SOURCES[i % 4], DEVICES[i % 3])
                .with_experiment_variant(VARIANTS[i % 2]);
            m.bind_funnel(&ctx).unwrap()
        })
        .collect();
    let sales: Vec<_> = (0..60)
        .map(|i| {
            m.bind_sale(&Sale::new(
                CATEGORIES[i % 5],
                PAYMENTS[i % 3],
                REGIONS[i % 4],
            ))
            .unwrap()
        })
        .collect();
    let event = |i: usize| {
        let f = &funnels[i % 24];
        f.step(CheckoutStep::CartView);
        f.step(CheckoutStep::ShippingInfo);
        f.step(CheckoutStep::PaymentInfo);
        f.step(CheckoutStep::OrderReview);
        f.purchase_completed(&sales[i % 60], 1_000 + i as u64, (i % 600) as f64)
            .unwrap();
        sales[(i + 1) % 60].record(500).unwrap();
    };
    // Warm-up: the first event of a handle creates its series.
    for i in 0..120 {
        event(i);
    }
    WATCHED.with(|w| w.set(true));
    for i in 0..6_000 {
        event(i);
    }
    WATCHED.with(|w| w.set(false));
    assert_eq!(allocations(), 0);
    assert_eq!(h.collect()["business.conversions"].total_u64(), 6_120);
}

#[test]
fn a_services_funnel_and_instruments_on_known_combinations_allocate_nothing() {
    use business_metrics::{Currency, LabelArg, Money};
    use support::definitions::{catalog, Plan, SignupStep, CHURN, INVOICES, MRR, SEATS};

    let h = Harness::configured(business_metrics::LabelPolicy::default(), None, |b| {
        b.with_catalog(catalog())
    });
    let m = &h.metrics;
    let mrr = m.instrument(&MRR).unwrap();
    let seats = m.instrument(&SEATS).unwrap();
    let invoices = m.instrument(&INVOICES).unwrap();
    let churn = m.instrument(&CHURN).unwrap();
    let plans = [Plan::Starter, Plan::Team, Plan::Enterprise];
    let event = |i: usize| {
        let ctx = FunnelContext::new(SOURCES[i % 4], DEVICES[i % 3])
            .with_experiment_variant(VARIANTS[i % 2]);
        let run = m.track::<SignupStep>(&ctx, m.now()).unwrap();
        run.step(SignupStep::LandingView);
        run.step(SignupStep::SignupStarted);
        run.step(SignupStep::EmailVerified);
        run.completed().unwrap();
        let plan = plans[i % 3];
        mrr.set(
            Money::new(1_000 + i as u64, Currency::USD),
            [LabelArg::from(plan), REGIONS[i % 4].into()],
        )
        .unwrap();
        seats.set(i as u64, [plan]).unwrap();
        invoices
            .record_amount(Money::new(49_900, Currency::EUR), [plan])
            .unwrap();
        churn.add(1, [plan.as_str(), "price"]).unwrap();
    };
    for i in 0..120 {
        event(i);
    }
    WATCHED.with(|w| w.set(true));
    for i in 0..6_000 {
        event(i);
    }
    WATCHED.with(|w| w.set(false));
    assert_eq!(allocations(), 0);
    let collected = h.collect();
    assert_eq!(collected["saas.churned_subscriptions"].total_u64(), 6_120);
    assert_eq!(
        collected["business.conversions"].total_u64(),
        6_120,
        "one subscription per run"
    );
}
