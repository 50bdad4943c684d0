//! A known sequence of requests through the real HTTP API shows up with exact values
//! on the shop's own `/metrics`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::json;
use support::TestShop;

fn session_body() -> serde_json::Value {
    json!({
        "source": "google_ads", "device_type": "mobile", "experiment_variant": "one_page",
        "user_tier": "pro", "is_new_user": false, "entry_page": "/pricing", "region": "us_west",
        "user_id": "user-1"
    })
}

const FUNNEL: &str = "business_funnel_step_total";

fn funnel(step: &str) -> [(&str, &str); 5] {
    [
        ("funnel", "checkout"),
        ("step", step),
        ("source", "google_ads"),
        ("device_type", "mobile"),
        ("experiment_variant", "one_page"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_through_the_api_records_funnel_conversion_revenue_and_session() {
    let shop = TestShop::start(0.0).await;
    let (status, body) = shop
        .send(shop.client.get(format!("{}/healthz", shop.base)))
        .await;
    assert_eq!((status, body), (200, json!({ "status": "ok" })));

    let id = shop.open_session(session_body()).await;
    assert_eq!(id.len(), 32);
    for step in ["cart_view", "shipping_info", "payment_info", "order_review"] {
        shop.step(&id, step).await;
    }
    let (status, body) = shop
        .post(
            "/api/checkout/complete",
            json!({
                "session_id": id, "order_id": "ord-1", "order_value_cents": 4_999,
                "product_category": "electronics", "payment_method": "card"
            }),
        )
        .await;
    assert_eq!(
        (status, body),
        (200, json!({ "success": true, "order_id": "ord-1" }))
    );
    for _ in 0..2 {
        shop.feature(&id, "search").await;
    }
    shop.post_no_content(
        &format!("/api/sessions/{id}/milestones"),
        json!({ "milestone": "first_purchase" }),
    )
    .await;
    shop.end_session(&id).await;
    shop.state.refresh_active_users();

    let m = shop.scrape().await;
    for step in [
        "cart_view",
        "shipping_info",
        "payment_info",
        "order_review",
        "order_confirmed",
    ] {
        assert_eq!(m.get(FUNNEL, &funnel(step)), Some(1.0), "{step}");
    }
    assert_eq!(m.get(FUNNEL, &funnel("checkout_error")), Some(0.0));
    assert_eq!(
        m.get(
            FUNNEL,
            &[
                ("funnel", "engagement"),
                ("step", "milestone_first_purchase"),
                ("source", "google_ads"),
                ("device_type", "mobile"),
                ("experiment_variant", "one_page"),
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.get(
            "business_conversions_total",
            &[
                ("conversion_type", "purchase"),
                ("source", "google_ads"),
                ("device_type", "mobile")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.sum(
            "business_time_to_conversion_seconds_count",
            &[("conversion_type", "purchase")]
        ),
        1.0
    );
    assert_eq!(
        m.get(
            "business_revenue_cents_total",
            &[
                ("product_category", "electronics"),
                ("payment_method", "card"),
                ("region", "us_west"),
                ("currency", "USD")
            ]
        ),
        Some(4_999.0)
    );
    let order = |le| {
        m.get(
            "business_order_value_cents_bucket",
            &[
                ("product_category", "electronics"),
                ("currency", "USD"),
                ("le", le),
            ],
        )
    };
    assert_eq!(order("2500"), Some(0.0));
    assert_eq!(order("5000"), Some(1.0));
    assert_eq!(order("+Inf"), Some(1.0));
    assert_eq!(
        m.get(
            "business_order_value_cents_sum",
            &[("product_category", "electronics"), ("currency", "USD")]
        ),
        Some(4_999.0)
    );
    assert_eq!(
        m.get(
            "business_revenue_per_minute_cents",
            &[("region", "us_west"), ("currency", "USD")]
        ),
        Some(4_999.0)
    );
    assert_eq!(
        m.get(
            "business_feature_usage_total",
            &[
                ("feature_name", "search"),
                ("user_tier", "pro"),
                ("is_new_user", "false")
            ]
        ),
        Some(2.0)
    );
    assert_eq!(
        m.get(
            "business_session_duration_seconds_count",
            &[("user_tier", "pro"), ("entry_page", "/pricing")]
        ),
        Some(1.0)
    );
    for window in ["daily", "weekly", "monthly"] {
        assert_eq!(
            m.get(
                "business_active_users",
                &[("window", window), ("user_tier", "pro")]
            ),
            Some(1.0),
            "{window}"
        );
        assert_eq!(
            m.get(
                "business_active_users",
                &[("window", window), ("user_tier", "free")]
            ),
            Some(0.0),
            "{window}"
        );
    }
    assert!(!m.has("business_rejected_events_total"));

    // Technical metrics beside the business ones, by route template, never raw path.
    let http = |route, code| {
        m.sum(
            "http_server_request_duration_seconds_count",
            &[("http_route", route), ("http_response_status_code", code)],
        )
    };
    assert_eq!(http("/api/sessions", "201"), 1.0);
    assert_eq!(http("/api/sessions/{id}/steps", "204"), 4.0);
    assert_eq!(http("/api/checkout/complete", "200"), 1.0);
    assert_eq!(http("/api/sessions/{id}", "204"), 1.0);
    assert_eq!(http("/healthz", "200"), 1.0);
    assert!(m
        .samples
        .iter()
        .all(|s| !s.labels.values().any(|v| v.contains(&id))));
    assert!(m
        .get(
            "http_server_request_duration_seconds_bucket",
            &[
                ("http_route", "/healthz"),
                ("http_request_method", "GET"),
                ("http_response_status_code", "200"),
                ("url_scheme", "http"),
                ("network_protocol_version", "1.1"),
                ("le", "0.005")
            ]
        )
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_answers_500_and_records_checkout_error_only() {
    let shop = TestShop::start(1.0).await;
    let id = shop.open_session(session_body()).await;
    shop.post(
        &format!("/api/sessions/{id}/steps"),
        json!({ "step": "cart_view" }),
    )
    .await;
    let (status, body) = shop
        .post(
            "/api/checkout/complete",
            json!({
                "session_id": id, "order_id": "ord-2", "order_value_cents": 1_500, "currency": "EUR",
                "product_category": "books", "payment_method": "paypal"
            }),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            500,
            json!({ "success": false, "error": "payment declined" })
        )
    );

    let m = shop.scrape().await;
    assert_eq!(m.get(FUNNEL, &funnel("checkout_error")), Some(1.0));
    assert_eq!(m.get(FUNNEL, &funnel("order_confirmed")), Some(0.0));
    assert!(!m.has("business_revenue_cents_total"));
    assert!(!m.has("business_order_value_cents_count"));
    assert_eq!(
        m.sum(
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/api/checkout/complete"),
                ("error_type", "500")
            ]
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_no_route_matched_are_counted_as_404_without_a_route() {
    let shop = TestShop::start(0.0).await;
    let (status, _) = shop
        .send(shop.client.get(format!("{}/no/such/page/42", shop.base)))
        .await;
    assert_eq!(status, 404);
    assert_eq!(shop.post("/api/nothing", json!({})).await.0, 404);

    let m = shop.scrape().await;
    let unmatched = |method| {
        m.get(
            "http_server_request_duration_seconds_count",
            &[
                ("http_request_method", method),
                ("url_scheme", "http"),
                ("network_protocol_version", "1.1"),
                ("http_response_status_code", "404"),
            ],
        )
    };
    assert_eq!(unmatched("GET"), Some(1.0));
    assert_eq!(unmatched("POST"), Some(1.0));
    assert!(m.samples.iter().all(|s| !s
        .labels
        .values()
        .any(|v| v.contains("page/42") || v.contains("nothing"))));
}
