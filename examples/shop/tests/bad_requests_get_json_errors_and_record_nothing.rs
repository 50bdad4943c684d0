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

/// Name, path, body bytes, expected status and expected `field`.
type RawCase<'a> = (&'a str, &'a str, Vec<u8>, u16, Option<&'a str>);

/// A session body whose `source` string holds `raw` bytes exactly as given.
fn session_with_raw_source(raw: &[u8]) -> Vec<u8> {
    [
        &br#"{"source":""#[..],
        raw,
        br#"","device_type":"desktop","user_tier":"free","is_new_user":true,"entry_page":"/","region":"eu_central"}"#,
    ]
    .concat()
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
        ("missing device", "/api/sessions", session(&json!({ "device_type": null })), 400, Some("device_type")),
        ("null tier", "/api/sessions", json!({
            "source": "direct", "device_type": "desktop", "user_tier": null,
            "is_new_user": true, "entry_page": "/", "region": "eu_central"
        }), 400, Some("user_tier")),
        ("numeric is_new_user", "/api/sessions", session(&json!({ "is_new_user": 1 })), 400, Some("is_new_user")),
        ("missing entry page", "/api/sessions", session(&json!({ "entry_page": null })), 400, Some("entry_page")),
        ("numeric variant", "/api/sessions", session(&json!({ "experiment_variant": 7 })), 400, Some("experiment_variant")),
        ("numeric user id", "/api/sessions", session(&json!({ "user_id": 42 })), 400, Some("user_id")),
        ("oversize user id", "/api/sessions", session(&json!({ "user_id": "u".repeat(129) })), 422, Some("user_id")),
        ("oversize multi-byte source", "/api/sessions", session(&json!({ "source": "é".repeat(33) })), 422, Some("source")),
        ("unicode blank entry page", "/api/sessions", session(&json!({ "entry_page": "\u{a0}\u{3000}" })), 422, Some("entry_page")),
        ("empty object", "/api/sessions", json!({}), 400, Some("source")),
        ("null body", "/api/sessions", Value::Null, 400, None),
        ("string body", "/api/sessions", json!("source"), 400, None),
        ("missing step", &steps, json!({}), 400, Some("step")),
        ("step as list", &steps, json!({ "step": ["cart_view"] }), 400, Some("step")),
        ("empty step", &steps, json!({ "step": "" }), 422, Some("step")),
        ("step in capitals", &steps, json!({ "step": "CART_VIEW" }), 422, Some("step")),
        ("missing feature", &features, json!({ "feature": "export" }), 400, Some("feature_name")),
        ("null feature", &features, json!({ "feature_name": null }), 400, Some("feature_name")),
        ("feature of unknown session", "/api/sessions/nope/features", json!({ "feature_name": "export" }), 404, Some("session_id")),
        ("missing milestone", &milestones, json!({}), 400, Some("milestone")),
        ("blank milestone", &milestones, json!({ "milestone": "\t\n" }), 422, Some("milestone")),
        ("missing session id", "/api/checkout/complete", order(&id, &json!({ "session_id": null })), 400, Some("session_id")),
        ("numeric session id", "/api/checkout/complete", order(&id, &json!({ "session_id": 12 })), 400, Some("session_id")),
        ("ended session checkout", "/api/checkout/complete", order(&ended, &json!({})), 404, Some("session_id")),
        ("float amount with integer value", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": 1000.0 })), 400, Some("order_value_cents")),
        ("amount below i64", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": i64::MIN })), 400, Some("order_value_cents")),
        ("amount one past the maximum", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": shop::api::MAX_ORDER_VALUE_CENTS + 1 })), 422, Some("order_value_cents")),
        ("u64::MAX amount", "/api/checkout/complete", order(&id, &json!({ "order_value_cents": u64::MAX })), 422, Some("order_value_cents")),
        ("numeric currency", "/api/checkout/complete", order(&id, &json!({ "currency": 840 })), 400, Some("currency")),
        ("empty currency", "/api/checkout/complete", order(&id, &json!({ "currency": "" })), 422, Some("currency")),
        ("control character currency", "/api/checkout/complete", order(&id, &json!({ "currency": "U\u{0}D" })), 422, Some("currency")),
        ("missing payment method", "/api/checkout/complete", order(&id, &json!({ "payment_method": null })), 400, Some("payment_method")),
        ("oversize payment method", "/api/checkout/complete", order(&id, &json!({ "payment_method": "p".repeat(65) })), 422, Some("payment_method")),
        ("oversize order id", "/api/checkout/complete", order(&id, &json!({ "order_id": "o".repeat(65) })), 422, Some("order_id")),
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

    // Bodies that are not valid JSON text, sent as raw bytes.
    let checkout_with_amount = |amount: &str| -> Vec<u8> {
        format!(
            r#"{{"session_id":"{id}","order_id":"o","order_value_cents":{amount},"product_category":"b","payment_method":"c"}}"#
        )
        .into_bytes()
    };
    let raw_cases: Vec<RawCase<'_>> = vec![
        (
            "invalid utf-8",
            "/api/sessions",
            session_with_raw_source(b"\xff\xfe"),
            400,
            None,
        ),
        (
            "overlong utf-8 encoding",
            "/api/sessions",
            session_with_raw_source(b"\xc0\xaf"),
            400,
            None,
        ),
        (
            "truncated utf-8 sequence",
            "/api/sessions",
            session_with_raw_source(b"\xe2\x82"),
            400,
            None,
        ),
        (
            "utf-16 surrogate encoded as utf-8",
            "/api/sessions",
            session_with_raw_source(b"\xed\xa0\x80"),
            400,
            None,
        ),
        (
            "lone leading surrogate escape",
            "/api/sessions",
            session_with_raw_source(br"\ud800"),
            400,
            None,
        ),
        (
            "lone trailing surrogate escape",
            "/api/sessions",
            session_with_raw_source(br"\udc00"),
            400,
            None,
        ),
        (
            "leading surrogate then a letter",
            "/api/sessions",
            session_with_raw_source(br"\ud800\u0041"),
            400,
            None,
        ),
        (
            "raw control character",
            "/api/sessions",
            session_with_raw_source(b"a\x01b"),
            400,
            None,
        ),
        (
            "raw nul",
            "/api/sessions",
            session_with_raw_source(b"a\x00b"),
            400,
            None,
        ),
        (
            "raw line break",
            "/api/sessions",
            session_with_raw_source(b"a\nb"),
            400,
            None,
        ),
        (
            "invalid escape",
            "/api/sessions",
            session_with_raw_source(br"\x41"),
            400,
            None,
        ),
        (
            "byte order mark",
            "/api/sessions",
            [&b"\xef\xbb\xbf"[..], &session_with_raw_source(b"direct")].concat(),
            400,
            None,
        ),
        ("empty body", "/api/sessions", Vec::new(), 400, None),
        (
            "trailing garbage",
            "/api/sessions",
            [session_with_raw_source(b"direct"), b" x".to_vec()].concat(),
            400,
            None,
        ),
        (
            "nesting past the recursion limit",
            "/api/sessions",
            "[".repeat(10_000).into_bytes(),
            400,
            None,
        ),
        (
            "NaN amount",
            "/api/checkout/complete",
            checkout_with_amount("NaN"),
            400,
            None,
        ),
        (
            "infinite amount",
            "/api/checkout/complete",
            checkout_with_amount("Infinity"),
            400,
            None,
        ),
        (
            "amount out of f64 range",
            "/api/checkout/complete",
            checkout_with_amount("1e400"),
            400,
            None,
        ),
        (
            "negative zero amount",
            "/api/checkout/complete",
            checkout_with_amount("-0"),
            400,
            Some("order_value_cents"),
        ),
        (
            "exponent amount",
            "/api/checkout/complete",
            checkout_with_amount("1e3"),
            400,
            Some("order_value_cents"),
        ),
        (
            "hex amount",
            "/api/checkout/complete",
            checkout_with_amount("0x10"),
            400,
            None,
        ),
    ];
    for (name, path, body, status, field) in raw_cases {
        let (got, resp) = shop
            .send(
                shop.client
                    .post(format!("{}{path}", shop.base))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
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

/// Streams `total` bytes of a chunked body (no declared length) on a raw connection
/// and returns the status line; the shop must refuse while reading, at its limit.
async fn chunked_body_status(base: &str, path: &str, total: usize) -> String {
    let addr = base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = [b' '; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            writer
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            writer.write_all(&chunk).await?;
            writer.write_all(b"\r\n").await?;
            sent += chunk.len();
        }
        writer.write_all(b"0\r\n\r\n").await?;
        Ok::<usize, std::io::Error>(sent)
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = reader.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed without a status line");
        buf.extend_from_slice(&chunk[..n]);
    }
    // The shop answers before the body is complete; the writer may then fail.
    writing.abort();
    let text = String::from_utf8_lossy(&buf);
    text.lines().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_a_body_past_16_kib_and_accepts_one_at_the_limit() {
    let shop = TestShop::start(0.0).await;
    let id = shop.open_session(session(&json!({}))).await;
    let before = shop.scrape().await.business();
    let limit = shop::json::BODY_LIMIT;
    let routes: Vec<(String, Value, u16)> = vec![
        ("/api/sessions".to_owned(), session(&json!({})), 201),
        (
            format!("/api/sessions/{id}/steps"),
            json!({ "step": "cart_view" }),
            204,
        ),
        (
            format!("/api/sessions/{id}/features"),
            json!({ "feature_name": "export" }),
            204,
        ),
        (
            format!("/api/sessions/{id}/milestones"),
            json!({ "milestone": "first" }),
            204,
        ),
        (
            "/api/checkout/complete".to_owned(),
            order(&id, &json!({})),
            200,
        ),
    ];
    // A valid body padded with white space to `len` bytes.
    let padded = |body: &Value, len: usize| {
        let text = body.to_string();
        format!("{text}{}", " ".repeat(len - text.len()))
    };
    for (path, body, _) in &routes {
        let (got, resp) = shop
            .send(
                shop.client
                    .post(format!("{}{path}", shop.base))
                    .header("content-type", "application/json")
                    .body(padded(body, limit + 1)),
            )
            .await;
        assert_eq!(got, 413, "{path}: {resp}");
        assert_eq!(
            resp,
            json!({ "error": "request body is larger than 16384 bytes", "field": null }),
            "{path}"
        );
        assert_eq!(
            chunked_body_status(&shop.base, path, 10 * 1024 * 1024).await,
            "HTTP/1.1 413 Payload Too Large",
            "{path}"
        );
    }
    assert_eq!(
        shop.scrape().await.business(),
        before,
        "a refused body changed a business metric"
    );
    // Exactly at the limit the body is read and the request succeeds.
    for (path, body, status) in &routes {
        let (got, resp) = shop
            .send(
                shop.client
                    .post(format!("{}{path}", shop.base))
                    .header("content-type", "application/json")
                    .body(padded(body, limit)),
            )
            .await;
        assert_eq!(got, *status, "{path}: {resp}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_twice_at_once_records_its_duration_once() {
    const SESSIONS: usize = 20;
    let shop = TestShop::start(0.0).await;
    let count = |s: &support::Scrape| {
        s.get(
            "business_session_duration_seconds_count",
            &[("user_tier", "free"), ("entry_page", "/")],
        )
    };
    assert_eq!(count(&shop.scrape().await), None);
    for _ in 0..SESSIONS {
        let id = shop.open_session(session(&json!({}))).await;
        let path = format!("/api/sessions/{id}");
        let (a, b) = tokio::join!(shop.delete(&path), shop.delete(&path));
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [204, 404], "{a:?} {b:?}");
        let refused = if a.0 == 404 { a.1 } else { b.1 };
        assert_eq!(
            refused,
            json!({ "error": "no open session has this id", "field": "session_id" })
        );
    }
    let after = shop.scrape().await;
    assert_eq!(count(&after), Some(SESSIONS as f64));
    // A refused end is not a rejected event: the shop refuses it before recording.
    assert!(!after.has("business_rejected_events_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_labels_are_recorded_sanitized() {
    let shop = TestShop::start(0.0).await;
    let id = shop
        .open_session(session(&json!({
            "source": "ad\u{0}net\u{7}\u{1b}[31m",
            "entry_page": "/a\tb\"c",
            "region": "r\u{202e}g\\n",
        })))
        .await;
    shop.step(&id, "cart_view").await;
    let (status, _) = shop
        .post(
            "/api/checkout/complete",
            order(&id, &json!({ "product_category": "bo\u{0}oks\r\n" })),
        )
        .await;
    assert_eq!(status, 200);
    shop.end_session(&id).await;

    let text = shop
        .client
        .get(&shop.metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reached the exposition"
    );
    let s = support::Scrape::parse(&text);
    let funnel = [
        ("funnel", "checkout"),
        ("step", "cart_view"),
        ("source", "ad_net___31m"),
        ("device_type", "desktop"),
        ("experiment_variant", "control"),
    ];
    assert_eq!(s.get("business_funnel_step_total", &funnel), Some(1.0));
    assert_eq!(
        s.get(
            "business_session_duration_seconds_count",
            &[("user_tier", "free"), ("entry_page", "/a_b_c")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.get(
            "business_revenue_cents_total",
            &[
                ("product_category", "bo_oks"),
                ("payment_method", "card"),
                ("region", "r_g_n"),
                ("currency", "USD"),
            ]
        ),
        Some(2_000.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_paths_session_ids_and_methods_get_json_errors() {
    let shop = TestShop::start(0.0).await;
    let before = shop.scrape().await.business();
    let long = "a".repeat(10_000);
    for id in ["%FF", "%C0%AF", "%00", "..%2F..%2Fmetrics", &long, "%20"] {
        for (path, body) in [
            (
                format!("/api/sessions/{id}/steps"),
                Some(json!({ "step": "cart_view" })),
            ),
            (
                format!("/api/sessions/{id}/features"),
                Some(json!({ "feature_name": "x" })),
            ),
            (format!("/api/sessions/{id}"), None),
        ] {
            let url = format!("{}{path}", shop.base);
            let req = match body {
                Some(b) => shop.client.post(url).json(&b),
                None => shop.client.delete(url),
            };
            let (status, resp) = shop.send(req).await;
            assert_eq!(
                (status, resp["field"].as_str()),
                (404, Some("session_id")),
                "{path}: {resp}"
            );
        }
    }
    let url = |path: &str| format!("{}{path}", shop.base);
    let odd = [
        (shop.client.post(url("/api/nothing")).json(&json!({})), 404),
        (shop.client.get(url("/metrics")), 404),
        (
            shop.client
                .post(url("/api/sessions/a/b/c"))
                .json(&json!({})),
            404,
        ),
        (shop.client.get(url("/api/sessions")), 405),
        (
            shop.client
                .put(url("/api/checkout/complete"))
                .json(&json!({})),
            405,
        ),
        (shop.client.get(url("/api/sessions/x/steps")), 405),
    ];
    for (req, status) in odd {
        let (got, resp) = shop.send(req).await;
        assert_eq!(got, status, "{resp}");
        assert!(
            resp["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{resp}"
        );
        assert_eq!(resp["field"], Value::Null, "{resp}");
    }
    assert_eq!(shop.scrape().await.business(), before);
}
