//! The checkout tracker and the engagement session record what the guide's trackers do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use business_metrics::catalog::names;
use business_metrics::{
    DeviceType, EngagementContext, FunnelContext, RecordError, Revenue, UserTier,
};
use support::{Harness, Point};

fn ctx_attrs(step: &str) -> [(&str, &str); 5] {
    [
        ("funnel", "checkout"),
        ("step", step),
        ("source", "google_ads"),
        ("device_type", "mobile"),
        ("experiment_variant", "control"),
    ]
}

fn google_ads_checkout(h: &Harness) -> business_metrics::CheckoutTracker<'_> {
    h.metrics
        .checkout(
            &FunnelContext::new("google_ads", DeviceType::Mobile),
            h.metrics.now(),
        )
        .unwrap()
}

#[test]
fn a_new_checkout_creates_every_step_series_at_zero() {
    let h = Harness::new();
    let _checkout = google_ads_checkout(&h);
    let m = h.collect();
    let f = &m[names::FUNNEL_STEP];
    for step in business_metrics::CHECKOUT_STEP_VALUES {
        assert_eq!(f.point(&ctx_attrs(step)), Some(&Point::U64(0)), "{step}");
    }
    assert_eq!(f.points.len(), 6);
    assert_eq!(
        m[names::CONVERSIONS].point(&[
            ("conversion_type", "purchase"),
            ("source", "google_ads"),
            ("device_type", "mobile")
        ]),
        Some(&Point::U64(0))
    );
}

#[test]
fn a_completed_purchase_records_final_step_conversion_and_revenue() {
    let h = Harness::new();
    let checkout = google_ads_checkout(&h);
    checkout.cart_view();
    checkout.shipping_info();
    checkout.payment_info();
    checkout.order_review();
    h.clock.advance(Duration::from_secs(90));
    checkout
        .purchase_completed(&Revenue::new(2_500, "toys", "card", "us_east"))
        .unwrap();

    let m = h.collect();
    let f = &m[names::FUNNEL_STEP];
    for step in [
        "cart_view",
        "shipping_info",
        "payment_info",
        "order_review",
        "order_confirmed",
    ] {
        assert_eq!(f.point(&ctx_attrs(step)), Some(&Point::U64(1)), "{step}");
    }
    assert_eq!(f.point(&ctx_attrs("checkout_error")), Some(&Point::U64(0)));
    assert_eq!(
        m[names::CONVERSIONS].point(&[
            ("conversion_type", "purchase"),
            ("source", "google_ads"),
            ("device_type", "mobile")
        ]),
        Some(&Point::U64(1))
    );
    assert_eq!(
        m[names::TIME_TO_CONVERSION].point(&[("conversion_type", "purchase")]),
        Some(&Point::Histogram {
            bounds: vec![30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0],
            counts: vec![0, 0, 1, 0, 0, 0, 0, 0],
            count: 1,
            sum: 90.0,
        })
    );
    assert_eq!(
        m[names::REVENUE_CENTS].point(&[
            ("product_category", "toys"),
            ("payment_method", "card"),
            ("region", "us_east"),
            ("currency", "USD")
        ]),
        Some(&Point::U64(2_500))
    );
    assert_eq!(
        m[names::REVENUE_PER_MINUTE_CENTS].point(&[("region", "us_east"), ("currency", "USD")]),
        Some(&Point::U64(2_500))
    );
}

#[test]
fn a_failed_checkout_records_checkout_error_and_a_refused_purchase_records_nothing() {
    let h = Harness::new();
    let checkout = google_ads_checkout(&h);
    checkout.cart_view();
    checkout.checkout_failed();
    let err = checkout
        .purchase_completed(&Revenue::new(2_500, "toys", "card", "us_east").with_currency("ZZZ"))
        .unwrap_err();
    assert_eq!(err, RecordError::UnknownCurrency { code: "ZZZ".into() });

    let m = h.collect();
    let f = &m[names::FUNNEL_STEP];
    assert_eq!(f.point(&ctx_attrs("checkout_error")), Some(&Point::U64(1)));
    assert_eq!(f.point(&ctx_attrs("order_confirmed")), Some(&Point::U64(0)));
    assert!(!m.contains_key(names::REVENUE_CENTS) || m[names::REVENUE_CENTS].points.is_empty());
    assert!(
        !m.contains_key(names::TIME_TO_CONVERSION)
            || m[names::TIME_TO_CONVERSION].points.is_empty()
    );
    assert_eq!(
        m[names::REJECTED_EVENTS].point(&[("reason", "unknown_currency")]),
        Some(&Point::U64(1))
    );
}

fn session_point(h: &Harness, tier: &str, page: &str) -> Option<(u64, f64)> {
    let m = h.collect();
    match m
        .get(names::SESSION_DURATION)?
        .point(&[("user_tier", tier), ("entry_page", page)])?
    {
        Point::Histogram { count, sum, .. } => Some((*count, *sum)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_engagement_session_records_features_milestones_and_its_duration_once() {
    let h = Harness::new();
    let session = h
        .metrics
        .engagement(
            &EngagementContext {
                user_tier: UserTier::Free,
                entry_page: "/pricing",
                is_new_user: true,
            },
            &FunnelContext::new("in_app", DeviceType::Desktop),
        )
        .unwrap();
    session.feature_used("export").unwrap();
    session.feature_used("export").unwrap();
    session.milestone("first_chart_created").unwrap();
    h.clock.advance(Duration::from_secs(42));
    assert_eq!(session.end(), Ok(Duration::from_secs(42)));
    assert!(session.is_ended());
    h.clock.advance(Duration::from_secs(10));
    assert_eq!(session.end(), Err(RecordError::SessionAlreadyEnded));
    drop(session);

    let m = h.collect();
    assert_eq!(
        m[names::FEATURE_USAGE].point(&[
            ("feature_name", "export"),
            ("user_tier", "free"),
            ("is_new_user", "true")
        ]),
        Some(&Point::U64(2))
    );
    assert_eq!(
        m[names::FUNNEL_STEP].point(&[
            ("funnel", "engagement"),
            ("step", "milestone_first_chart_created"),
            ("source", "in_app"),
            ("device_type", "desktop"),
            ("experiment_variant", "control"),
        ]),
        Some(&Point::U64(1))
    );
    assert_eq!(
        m[names::REJECTED_EVENTS].point(&[("reason", "session_already_ended")]),
        Some(&Point::U64(1))
    );
    // Ended once explicitly, not again on drop.
    assert_eq!(session_point(&h, "free", "/pricing"), Some((1, 42.0)));
}

#[test]
fn a_session_dropped_without_end_records_its_duration_on_drop() {
    let h = Harness::new();
    let session = h
        .metrics
        .engagement(
            &EngagementContext {
                user_tier: UserTier::Enterprise,
                entry_page: "/home",
                is_new_user: false,
            },
            &FunnelContext::new("in_app", DeviceType::Desktop),
        )
        .unwrap();
    h.clock.advance(Duration::from_millis(5_500));
    assert_eq!(session_point(&h, "enterprise", "/home"), None);
    drop(session);
    assert_eq!(session_point(&h, "enterprise", "/home"), Some((1, 5.5)));
}
