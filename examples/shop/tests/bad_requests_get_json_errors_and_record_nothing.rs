//! Every kind of bad request answers 4xx with a JSON error naming the field, and no
//! business metric changes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use serde_json::{json, Value};
use support::TestShop;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Declares a 10 MiB JSON body on a raw connection and returns the status line; the
/// shop must answer without reading the body.
async fn declared_10_mib_body_status(base: &str) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"source\":\"",
        10 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed without a status line");
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    text.lines().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_body_without_a_declared_length_is_refused_while_reading() {
    use axum::body::Body;
    use tower::ServiceExt;
    let shop = TestShop::start(0.0).await;
    let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024]));
    let req = axum::http::Request::post("/api/sessions")
        .header("content-type", "application/json")
        .body(Body::from_stream(futures_stream(chunks)))
        .unwrap();
    let resp = shop::app(shop.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 413);
    let body = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "request body is larger than 16384 bytes");
}

/// A stream over an iterator, without pulling in a stream crate.
fn futures_stream<I: Iterator + Unpin>(iter: I) -> impl futures_core::Stream<Item = I::Item> {
    struct S<I>(I);
    impl<I: Iterator + Unpin> futures_core::Stream for S<I> {
        type Item = I::Item;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<I::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    S(iter)
}

/// `base` with `overrides` applied; a `null` override removes the field.
fn with(mut base: Value, overrides: &Value) -> Value {
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn session(overrides: &Value) -> Value {
    let base = json!({
        "source": "direct", "device_type": "desktop", "user_tier": "free",
        "is_new_user": true, "entry_page": "/", "region": "eu_central"
    });
    with(base, overrides)
}

fn order(id: &str, overrides: &Value) -> Value {
    let base = json!({
        "session_id": id, "order_id": "ord-9", "order_value_cents": 2_000,
        "product_category": "books", "payment_method": "card"
    });
    with(base, overrides)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_answer_4xx_naming_the_field_and_change_no_business_metric() {
    let shop = TestShop::start(0.0).await;
    let id = shop.open_session(session(&json!({}))).await;
    let ended = shop.open_session(session(&json!({}))).await;
    assert_eq!(shop.delete(&format!("/api/sessions/{ended}")).await.0, 204);
    let before = shop.scrape().await.business();

    let steps = format!("/api/sessions/{id}/steps");
    let features = format!("/api/sessions/{id}/features");
    let milestones = format!("/api/sessions/{id}/milestones");
    let ended_steps = format!("/api/sessions/{ended}/steps");
    let cases: Vec<(&str, &str, Value, u16, Option<&str>)> = vec![
        ("missing source", "/api/sessions", session(&json!({ "source": null })), 400, Some("source")),
        ("missing is_new_user", "/api/sessions", session(&json!({ "is_new_user": null })), 400, Some("is_new_user")),
        ("mistyped is_new_user", "/api/sessions", session(&json!({ "is_new_user": "yes" })), 400, Some("is_new_user")),
        ("mistyped region", "/api/sessions", session(&json!({ "region": 5 })), 400, Some("region")),
        ("unknown device", "/api/sessions", session(&json!({ "device_type": "phone" })), 422, Some("device_type")),
        ("unknown tier", "/api/sessions", session(&json!({ "user_tier": "gold" })), 422, Some("user_tier")),
        ("empty source", "/api/sessions", session(&json!({ "source": "  " })), 422, Some("source")),
        ("oversize region", "/api/sessions", session(&json!({ "region": "r".repeat(300) })), 422, Some("region")),
        ("empty variant", "/api/sessions", session(&json!({ "experiment_variant": "" })), 422, Some("experiment_variant")),
        ("empty user id", "/api/sessions", session(&json!({ "user_id": "" })), 422, Some("user_id")),
        ("not an object", "/api/sessions", json!([1, 2]), 400, None),
        ("unknown step", &steps, json!({ "step": "teleport" }), 422, Some("step")),
        ("confirm via steps", &steps, json!({ "step": "order_confirmed" }), 422, Some("step")),
        ("step of unknown session", "/api/sessions/nope/steps", json!({ "step": "cart_view" }), 404, Some("session_id")),
        ("step of ended session", &ended_steps, json!({ "step": "cart_view" }), 404, Some("session_id")),
        ("negative amount", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": -5 })), 400, Some("order_value_cents")),
        ("fractional amount", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": 49.99 })), 400, Some("order_value_cents")),
        ("amount as string", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": "100" })), 400, Some("order_value_cents")),
        ("u64 overflow", "/api/checkout/complete",
            serde_json::from_str(&format!(r#"{{"session_id":"{id}","order_id":"o","order_value_cents":18446744073709551616,"product_category":"b","payment_method":"c"}}"#)).unwrap(),
            400, Some("order_value_cents")),
        ("zero amount", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": 0 })), 422, Some("order_value_cents")),
        ("absurd amount", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": 1_000_000_000_000u64 })), 422, Some("order_value_cents")),
        ("unknown currency", "/api/checkout/complete", order(&id, &json!({ "currency": "XYZ" })), 422, Some("currency")),
        ("empty category", "/api/checkout/complete", order(&id, &json!({ "product_category": "" })), 422, Some("product_category")),
        ("missing order id", "/api/checkout/complete", order(&id, &json!({ "order_id": null })), 400, Some("order_id")),
        ("empty order id", "/api/checkout/complete", order(&id, &json!({ "order_id": " " })), 422, Some("order_id")),
        ("unknown session checkout", "/api/checkout/complete", order("missing", &json!({})), 404, Some("session_id")),
        ("empty feature", &features, json!({ "feature_name": "" }), 422, Some("feature_name")),
        ("oversize milestone", &milestones, json!({ "milestone": "m".repeat(100) }), 422, Some("milestone")),
    ];
    for (name, path, body, status, field) in cases {
        let (got, resp) = shop.post(path, body).await;
        assert_eq!(got, status, "{name}: {resp}");
        assert!(
            resp["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{name}: {resp}"
        );
        assert_eq!(resp["field"].as_str(), field, "{name}: {resp}");
    }

    // Transport-level refusals.
    let url = format!("{}/api/sessions", shop.base);
    let (got, resp) = shop
        .send(
            shop.client
                .post(&url)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
    assert_eq!(got, 400, "{resp}");
    let (got, resp) = shop
        .send(
            shop.client
                .post(&url)
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    assert_eq!(got, 415, "{resp}");
    assert_eq!(
        declared_10_mib_body_status(&shop.base).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    let (got, resp) = shop.delete(&format!("/api/sessions/{ended}")).await;
    assert_eq!((got, resp["field"].as_str()), (404, Some("session_id")));

    assert_eq!(
        shop.scrape().await.business(),
        before,
        "a bad request changed a business metric"
    );
}
