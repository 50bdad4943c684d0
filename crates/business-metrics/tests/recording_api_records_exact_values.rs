//! Every typed call lands on its instrument with exact attributes and values.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use business_metrics::catalog::names;
use business_metrics::{
    ActiveWindow, CheckoutStep, Currency, DeviceType, FunnelContext, FunnelStep, Money, Revenue,
    UserTier,
};
use support::{Harness, Point};

fn hist(bounds: &[f64], counts: &[u64], sum: f64) -> Point {
    Point::Histogram {
        bounds: bounds.to_vec(),
        counts: counts.to_vec(),
        count: counts.iter().sum(),
        sum,
    }
}

const TTC: &[f64] = &[30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];
const ORDER: &[f64] = &[500.0, 1000.0, 2500.0, 5000.0, 10000.0, 25000.0, 50000.0];
const SESSION: &[f64] = &[10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];

#[test]
fn funnel_steps_carry_step_source_device_and_variant() {
    let h = Harness::new();
    let ads =
        FunnelContext::new("google_ads", DeviceType::Mobile).with_experiment_variant("one_page");
    for _ in 0..3 {
        h.metrics
            .record_funnel_step(CheckoutStep::CartView.into(), &ads)
            .unwrap();
    }
    h.metrics
        .record_funnel_step(CheckoutStep::ShippingInfo.into(), &ads)
        .unwrap();
    h.metrics
        .record_funnel_step(FunnelStep::CheckoutError, &ads)
        .unwrap();
    let app = FunnelContext::new("in_app", DeviceType::Desktop);
    h.metrics
        .record_funnel_step(FunnelStep::Milestone("first_chart"), &app)
        .unwrap();

    let m = h.collect();
    let f = &m[names::FUNNEL_STEP];
    let ads_attrs = |step| {
        [
            ("funnel", "checkout"),
            ("step", step),
            ("source", "google_ads"),
            ("device_type", "mobile"),
            ("experiment_variant", "one_page"),
        ]
    };
    assert_eq!(f.point(&ads_attrs("cart_view")), Some(&Point::U64(3)));
    assert_eq!(f.point(&ads_attrs("shipping_info")), Some(&Point::U64(1)));
    assert_eq!(f.point(&ads_attrs("checkout_error")), Some(&Point::U64(1)));
    assert_eq!(
        f.point(&[
            ("funnel", "engagement"),
            ("step", "milestone_first_chart"),
            ("source", "in_app"),
            ("device_type", "desktop"),
            ("experiment_variant", "control"),
        ]),
        Some(&Point::U64(1))
    );
    assert_eq!(f.points.len(), 4);
}

#[test]
fn conversions_count_and_time_to_conversion_lands_in_the_guide_buckets() {
    let h = Harness::new();
    let ctx = FunnelContext::new("newsletter", DeviceType::Tablet);
    h.metrics.record_conversion("signup", &ctx, 30.0).unwrap(); // on a bound: first bucket
    h.metrics.record_conversion("signup", &ctx, 45.0).unwrap();
    h.metrics.record_conversion("signup", &ctx, 4000.0).unwrap(); // past the last bound
    let start = h.metrics.now();
    h.clock.advance(std::time::Duration::from_secs(200));
    h.metrics
        .record_conversion_since("purchase", &ctx, start)
        .unwrap();

    let m = h.collect();
    let c = &m[names::CONVERSIONS];
    assert_eq!(
        c.point(&[
            ("conversion_type", "signup"),
            ("source", "newsletter"),
            ("device_type", "tablet")
        ]),
        Some(&Point::U64(3))
    );
    assert_eq!(
        c.point(&[
            ("conversion_type", "purchase"),
            ("source", "newsletter"),
            ("device_type", "tablet")
        ]),
        Some(&Point::U64(1))
    );
    let t = &m[names::TIME_TO_CONVERSION];
    assert_eq!(
        t.point(&[("conversion_type", "signup")]),
        Some(&hist(TTC, &[1, 1, 0, 0, 0, 0, 0, 1], 4075.0))
    );
    assert_eq!(
        t.point(&[("conversion_type", "purchase")]),
        Some(&hist(TTC, &[0, 0, 0, 1, 0, 0, 0, 0], 200.0))
    );
}

#[test]
fn revenue_is_recorded_in_minor_units_with_currency_and_order_value() {
    let h = Harness::new();
    h.metrics
        .record_revenue(&Revenue::new(4_999, "electronics", "card", "us_west"))
        .unwrap();
    h.metrics
        .record_revenue(&Revenue::new(5_001, "electronics", "card", "us_west"))
        .unwrap();
    h.metrics
        .record_revenue(&Revenue::new(30_000, "books", "paypal", "eu_central").with_currency("eur"))
        .unwrap();

    let m = h.collect();
    let r = &m[names::REVENUE_CENTS];
    assert_eq!(
        r.point(&[
            ("product_category", "electronics"),
            ("payment_method", "card"),
            ("region", "us_west"),
            ("currency", "USD")
        ]),
        Some(&Point::U64(10_000))
    );
    assert_eq!(
        r.point(&[
            ("product_category", "books"),
            ("payment_method", "paypal"),
            ("region", "eu_central"),
            ("currency", "EUR")
        ]),
        Some(&Point::U64(30_000))
    );
    let o = &m[names::ORDER_VALUE_CENTS];
    assert_eq!(
        o.point(&[("product_category", "electronics"), ("currency", "USD")]),
        Some(&hist(ORDER, &[0, 0, 0, 1, 1, 0, 0, 0], 10_000.0))
    );
    assert_eq!(
        o.point(&[("product_category", "books"), ("currency", "EUR")]),
        Some(&hist(ORDER, &[0, 0, 0, 0, 0, 0, 1, 0], 30_000.0))
    );
    let g = &m[names::REVENUE_PER_MINUTE_CENTS];
    assert_eq!(
        g.point(&[("region", "us_west"), ("currency", "USD")]),
        Some(&Point::U64(10_000))
    );
    assert_eq!(
        g.point(&[("region", "eu_central"), ("currency", "EUR")]),
        Some(&Point::U64(30_000))
    );
    assert_eq!(
        h.metrics.revenue_last_minute(),
        [
            ("eu_central".to_owned(), Money::new(30_000, Currency::EUR)),
            ("us_west".to_owned(), Money::new(10_000, Currency::USD))
        ]
    );
}

#[test]
fn feature_usage_session_duration_and_active_users_are_exact() {
    let h = Harness::new();
    h.metrics
        .record_feature_usage("dashboard_export", UserTier::Pro, false)
        .unwrap();
    h.metrics
        .record_feature_usage("dashboard_export", UserTier::Pro, false)
        .unwrap();
    h.metrics
        .record_feature_usage("dashboard_export", UserTier::Free, true)
        .unwrap();
    h.metrics
        .record_session_end(10.0, UserTier::Pro, "/dashboard")
        .unwrap();
    h.metrics
        .record_session_end(125.0, UserTier::Pro, "/dashboard")
        .unwrap();
    h.metrics
        .set_active_users(ActiveWindow::Daily, UserTier::Free, 100);
    h.metrics
        .set_active_users(ActiveWindow::Daily, UserTier::Free, 120);
    h.metrics.set_active_users_by_tier(
        ActiveWindow::Weekly,
        [(UserTier::Pro, 7), (UserTier::Enterprise, 2)],
    );

    let m = h.collect();
    let f = &m[names::FEATURE_USAGE];
    assert_eq!(
        f.point(&[
            ("feature_name", "dashboard_export"),
            ("user_tier", "pro"),
            ("is_new_user", "false")
        ]),
        Some(&Point::U64(2))
    );
    assert_eq!(
        f.point(&[
            ("feature_name", "dashboard_export"),
            ("user_tier", "free"),
            ("is_new_user", "true")
        ]),
        Some(&Point::U64(1))
    );
    let s = &m[names::SESSION_DURATION];
    assert_eq!(
        s.point(&[("user_tier", "pro"), ("entry_page", "/dashboard")]),
        Some(&hist(SESSION, &[1, 0, 0, 0, 1, 0, 0, 0, 0], 135.0))
    );
    let a = &m[names::ACTIVE_USERS];
    assert_eq!(
        a.point(&[("window", "daily"), ("user_tier", "free")]),
        Some(&Point::U64(120))
    );
    assert_eq!(
        a.point(&[("window", "weekly"), ("user_tier", "pro")]),
        Some(&Point::U64(7))
    );
    assert_eq!(
        a.point(&[("window", "weekly"), ("user_tier", "enterprise")]),
        Some(&Point::U64(2))
    );
    assert_eq!(a.points.len(), 3);
    // Nothing was refused.
    assert!(m
        .get(names::REJECTED_EVENTS)
        .is_none_or(|r| r.points.is_empty()));
}

#[test]
fn label_values_are_sanitized_and_allowlists_fold_the_rest_into_other() {
    let policy = business_metrics::LabelPolicy::builder()
        .with_allowlist(
            business_metrics::Dimension::Region,
            ["us_west", "eu_central"],
        )
        .build()
        .unwrap();
    let h = Harness::with_policy(policy);
    h.metrics
        .record_revenue(&Revenue::new(100, "Home & Garden", "card", "us_west"))
        .unwrap();
    h.metrics
        .record_revenue(&Revenue::new(200, "books", "card", "mars_base"))
        .unwrap();
    h.metrics
        .record_revenue(&Revenue::new(300, "books", "card", "moon"))
        .unwrap();

    let m = h.collect();
    let r = &m[names::REVENUE_CENTS];
    assert_eq!(
        r.point(&[
            ("product_category", "Home___Garden"),
            ("payment_method", "card"),
            ("region", "us_west"),
            ("currency", "USD")
        ]),
        Some(&Point::U64(100))
    );
    assert_eq!(
        r.point(&[
            ("product_category", "books"),
            ("payment_method", "card"),
            ("region", "other"),
            ("currency", "USD")
        ]),
        Some(&Point::U64(500))
    );
    assert_eq!(r.points.len(), 2);
    let g = &m[names::REVENUE_PER_MINUTE_CENTS];
    assert_eq!(
        g.point(&[("region", "other"), ("currency", "USD")]),
        Some(&Point::U64(500))
    );
}
