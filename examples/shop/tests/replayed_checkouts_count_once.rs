//! A client retrying a checkout (after a timeout, say) gets the first answer again
//! and records nothing twice; a session keeps what the label policy returned, never
//! the raw value.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::json;
use support::TestShop;

fn session_body(region: &str) -> serde_json::Value {
    json!({
        "source": "google_ads", "device_type": "mobile", "user_tier": "pro",
        "is_new_user": false, "entry_page": "/pricing", "region": region
    })
}

fn checkout(id: &str, order_id: &str) -> serde_json::Value {
    json!({
        "session_id": id, "order_id": order_id, "order_value_cents": 4_999,
        "product_category": "electronics", "payment_method": "card"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_checkout_answers_as_the_first_and_counts_once() {
    let shop = TestShop::start(0.0).await;
    let id = shop.open_session(session_body("us_west")).await;
    let first = shop
        .post("/api/checkout/complete", checkout(&id, "ord-7"))
        .await;
    assert_eq!(
        first,
        (200, json!({ "success": true, "order_id": "ord-7" }))
    );
    for _ in 0..3 {
        let again = shop
            .post("/api/checkout/complete", checkout(&id, "ord-7"))
            .await;
        assert_eq!(again, first);
    }
    // A different order counts.
    let other = shop
        .post("/api/checkout/complete", checkout(&id, "ord-8"))
        .await;
    assert_eq!(other.0, 200);

    let m = shop.scrape().await;
    assert_eq!(
        m.sum(
            "business_conversions_total",
            &[("conversion_type", "purchase")]
        ),
        2.0
    );
    assert_eq!(
        m.sum("business_revenue_cents_total", &[("region", "us_west")]),
        2.0 * 4_999.0
    );
    assert_eq!(
        m.sum(
            "business_funnel_step_total",
            &[("funnel", "checkout"), ("step", "order_confirmed")]
        ),
        2.0
    );
    assert_eq!(shop.state.orders().remembered(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payment_can_be_retried_with_the_same_order_id() {
    // Every payment declined: the order is not completed, so it is not remembered.
    let shop = TestShop::start(1.0).await;
    let id = shop.open_session(session_body("us_west")).await;
    let declined = shop
        .post("/api/checkout/complete", checkout(&id, "ord-9"))
        .await;
    assert_eq!(declined.0, 500, "{declined:?}");
    let again = shop
        .post("/api/checkout/complete", checkout(&id, "ord-9"))
        .await;
    assert_eq!(again.0, 500, "a retry is processed anew: {again:?}");
    assert_eq!(shop.state.orders().remembered(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_stores_the_policys_value_not_the_padded_one() {
    let shop = TestShop::start(0.0).await;
    // 16,000 spaces around the region: within the body limit, trimmed by the policy.
    let padded = format!("{}us_west{}", " ".repeat(8_000), " ".repeat(8_000));
    let id = shop.open_session(session_body(&padded)).await;
    let session = shop.state.sessions().get(&id).unwrap();
    assert_eq!(session.region, "us_west");
}
