//! The `testing` feature: a service's unit test asserts exactly what a handler
//! recorded, through the same views as production, without building a pipeline.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use business_metrics::catalog::{names, ORDER_VALUE_BUCKETS};
use business_metrics::{
    ActiveWindow, BusinessMetrics, DeviceType, Dimension, FunnelContext, LabelPolicy, ManualClock,
    Revenue, UserTier,
};
use business_metrics_exporter::testing::{Kind, LookupError, NumberType, TestRecorder};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The handler under test: a one-shot checkout from the source in the path.
async fn buy(State(metrics): State<BusinessMetrics>, Path(source): Path<String>) -> StatusCode {
    let ctx = FunnelContext::new(&source, DeviceType::Mobile);
    let Ok(checkout) = metrics.checkout(&ctx, metrics.now()) else {
        return StatusCode::BAD_REQUEST;
    };
    checkout.cart_view();
    checkout.shipping_info();
    checkout.payment_info();
    checkout.order_review();
    match checkout.purchase_completed(&Revenue::new(4_999, "electronics", "card", "us_west")) {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

fn app(metrics: BusinessMetrics) -> Router {
    Router::new()
        .route("/buy/{source}", post(buy))
        .with_state(metrics)
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// POSTs with an empty body and returns the status line.
async fn post_empty(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response.lines().next().unwrap_or_default().to_owned()
}

fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_call_records_one_purchase_for_its_source_with_exact_series_and_buckets() {
    let recorder = TestRecorder::builder()
        .with_clock(ManualClock::new())
        .build();
    let addr = serve(app(recorder.business_metrics())).await;
    assert_eq!(
        post_empty(addr, "/buy/google_ads").await,
        "HTTP/1.1 204 No Content"
    );
    let before = recorder.collect().unwrap();

    assert_eq!(
        post_empty(addr, "/buy/newsletter").await,
        "HTTP/1.1 204 No Content"
    );
    let after = recorder.collect().unwrap();
    let during = after.since(&before);

    // Cumulative: both calls; the difference: the second one only.
    assert_eq!(after.funnel_step("checkout", "order_confirmed").unwrap(), 2);
    assert_eq!(
        during.funnel_step("checkout", "order_confirmed").unwrap(),
        1
    );
    assert_eq!(
        during
            .counter_u64(
                names::FUNNEL_STEP,
                &[("step", "order_confirmed"), ("source", "newsletter")]
            )
            .unwrap(),
        1
    );
    assert_eq!(
        during
            .counter_u64(
                names::FUNNEL_STEP,
                &[("step", "order_confirmed"), ("source", "google_ads")]
            )
            .unwrap(),
        0,
        "a series that did not move reads 0 in a difference"
    );
    assert_eq!(
        during.funnel_steps("checkout"),
        [
            ("cart_view".to_owned(), 1),
            ("shipping_info".to_owned(), 1),
            ("payment_info".to_owned(), 1),
            ("order_review".to_owned(), 1),
            ("order_confirmed".to_owned(), 1),
            ("checkout_error".to_owned(), 0),
        ]
    );

    // Every series of the funnel for the new source, with its exact attributes.
    let series: Vec<(Vec<(String, String)>, u64)> = during
        .series(names::FUNNEL_STEP, &[("source", "newsletter")])
        .into_iter()
        .map(|s| {
            let a = s
                .attributes
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let Some(business_metrics_exporter::testing::Number::U64(n)) = s.number() else {
                panic!("not a u64 counter: {s}");
            };
            (a, n)
        })
        .collect();
    let with_step = |step: &str, n: u64| {
        (
            attrs(&[
                ("device_type", "mobile"),
                ("experiment_variant", "control"),
                ("funnel", "checkout"),
                ("source", "newsletter"),
                ("step", step),
            ]),
            n,
        )
    };
    assert_eq!(
        series,
        [
            with_step("cart_view", 1),
            with_step("checkout_error", 0),
            with_step("order_confirmed", 1),
            with_step("order_review", 1),
            with_step("payment_info", 1),
            with_step("shipping_info", 1),
        ]
    );

    assert_eq!(during.conversions("purchase").unwrap(), 1);
    assert_eq!(
        during
            .counter_u64(
                names::CONVERSIONS,
                &[
                    ("conversion_type", "purchase"),
                    ("source", "newsletter"),
                    ("device_type", "mobile")
                ]
            )
            .unwrap(),
        1
    );
    assert_eq!(
        during
            .counter_u64(
                names::REVENUE_CENTS,
                &[
                    ("product_category", "electronics"),
                    ("payment_method", "card"),
                    ("region", "us_west"),
                    ("currency", "USD")
                ]
            )
            .unwrap(),
        4_999
    );
    assert_eq!(
        after.counter_u64(names::REVENUE_CENTS, &[]).unwrap(),
        2 * 4_999
    );

    let orders = during
        .histogram(names::ORDER_VALUE_CENTS, &[("currency", "USD")])
        .unwrap();
    assert_eq!(orders.count, 1);
    assert_eq!(orders.sum, 4_999.0);
    assert_eq!(orders.bounds, ORDER_VALUE_BUCKETS);
    assert_eq!(orders.bucket_counts, [0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(
        (orders.min, orders.max),
        (None, None),
        "the earlier snapshot had values, so the difference cannot know the extremes"
    );
    let first = before.histogram(names::ORDER_VALUE_CENTS, &[]).unwrap();
    assert_eq!((first.min, first.max), (Some(4_999.0), Some(4_999.0)));

    // The manual clock stood still: every time to conversion is 0 s, the first bucket.
    let ttc = after
        .histogram(
            names::TIME_TO_CONVERSION,
            &[("conversion_type", "purchase")],
        )
        .unwrap();
    assert_eq!(ttc.count, 2);
    assert_eq!(ttc.bucket_counts, [2, 0, 0, 0, 0, 0, 0, 0]);

    let counted: Vec<String> = during
        .nonzero_counts()
        .map(|(m, s)| format!("{} {}", m.name, s.attributes))
        .collect();
    assert_eq!(
        counted.len(),
        5 + 1 + 1 + 1 + 1,
        "five steps, a conversion, revenue, an order value and a time to conversion:\n{during}"
    );
}

#[test]
fn cached_counts_are_visible_as_soon_as_the_call_returns() {
    let recorder = TestRecorder::new();
    let metrics = recorder.business_metrics();
    let ctx = FunnelContext::new("direct", DeviceType::Desktop);
    for expected in 1..=3 {
        metrics.checkout(&ctx, metrics.now()).unwrap().cart_view();
        let snapshot = recorder.collect().unwrap();
        assert_eq!(
            snapshot.funnel_step("checkout", "cart_view").unwrap(),
            expected
        );
    }
    // Only the catalog's instruments report: no helper instrument of the crate's.
    let snapshot = recorder.collect().unwrap();
    for metric in snapshot.metrics() {
        assert!(
            recorder.catalog().entry(&metric.name).is_some(),
            "{} is not in the catalog",
            metric.name
        );
    }
}

#[test]
fn catalog_bucket_overrides_and_the_label_policy_apply_as_in_production() {
    const BUCKETS: &[f64] = &[1_000.0, 10_000.0];
    let catalog = business_metrics::Catalog::builder()
        .with_buckets(names::ORDER_VALUE_CENTS, BUCKETS)
        .build()
        .unwrap();
    let policy = LabelPolicy::builder()
        .with_allowlist(Dimension::Source, ["google_ads"])
        .build()
        .unwrap();
    let recorder = TestRecorder::builder()
        .with_catalog(catalog)
        .with_label_policy(policy)
        .build();
    let metrics = recorder.business_metrics();
    for amount in [999, 1_000, 1_001, 50_000] {
        metrics
            .record_revenue(&Revenue::new(amount, "books", "card", "eu"))
            .unwrap();
    }
    let ctx = FunnelContext::new("tiktok", DeviceType::Tablet);
    metrics.checkout(&ctx, metrics.now()).unwrap().cart_view();

    let snapshot = recorder.collect().unwrap();
    let orders = snapshot
        .histogram(names::ORDER_VALUE_CENTS, &[("product_category", "books")])
        .unwrap();
    assert_eq!(orders.bounds, BUCKETS);
    assert_eq!(
        orders.bucket_counts,
        [2, 1, 1],
        "upper bounds are inclusive"
    );
    assert_eq!(orders.sum, 53_000.0);
    assert_eq!(
        snapshot
            .counter_u64(names::FUNNEL_STEP, &[("source", "other")])
            .unwrap(),
        1,
        "a source outside the allowlist is recorded as other"
    );
    assert!(snapshot
        .series(names::FUNNEL_STEP, &[("source", "tiktok")])
        .is_empty());
}

#[test]
fn attribute_keys_outside_the_catalog_are_dropped_and_other_scopes_keep_theirs() {
    let recorder = TestRecorder::new();
    let business = recorder
        .meter_provider()
        .meter_with_scope(business_metrics::instrumentation_scope());
    business.u64_counter(names::FEATURE_USAGE).build().add(
        1,
        &[
            KeyValue::new("feature_name", "export"),
            KeyValue::new("user_id", "u-123"),
        ],
    );
    let http = recorder.meter_provider().meter("http");
    let in_flight = http
        .i64_up_down_counter("http.server.active_requests")
        .build();
    in_flight.add(3, &[KeyValue::new("route", "/buy")]);
    in_flight.add(-1, &[KeyValue::new("route", "/buy")]);
    let latency = http
        .f64_histogram("http.server.request.duration")
        .with_boundaries(vec![0.1, 1.0])
        .build();
    latency.record(0.05, &[KeyValue::new("route", "/buy")]);
    latency.record(0.5, &[KeyValue::new("route", "/buy")]);
    http.f64_counter("http.server.bytes")
        .build()
        .add(1.5, &[KeyValue::new("route", "/buy")]);

    let snapshot = recorder.collect().unwrap();
    let usage = snapshot.metric(names::FEATURE_USAGE).unwrap();
    assert_eq!(usage.series.len(), 1);
    assert_eq!(
        usage.series[0].attributes.to_string(),
        r#"{feature_name="export"}"#
    );
    assert_eq!(usage.scope, business_metrics::SCOPE_NAME);

    let active = snapshot.metric("http.server.active_requests").unwrap();
    assert_eq!(
        (active.kind, active.number_type),
        (Kind::UpDownCounter, NumberType::I64)
    );
    assert_eq!(
        snapshot
            .counter_i64("http.server.active_requests", &[("route", "/buy")])
            .unwrap(),
        2
    );
    let latency = snapshot
        .histogram("http.server.request.duration", &[("route", "/buy")])
        .unwrap();
    assert_eq!(latency.bucket_counts, [1, 1, 0]);
    assert_eq!(latency.min, Some(0.05));
    assert_eq!(latency.max, Some(0.5));
    assert_eq!(
        snapshot
            .counter_f64("http.server.bytes", &[("route", "/buy")])
            .unwrap(),
        1.5
    );
}

#[test]
fn gauges_read_their_last_value_from_exactly_one_series() {
    let clock = ManualClock::new();
    let recorder = TestRecorder::builder().with_clock(clock.clone()).build();
    let metrics = recorder.business_metrics();
    metrics.set_active_users(ActiveWindow::Daily, UserTier::Pro, 10);
    metrics.set_active_users(ActiveWindow::Daily, UserTier::Pro, 7);
    metrics.set_active_users(ActiveWindow::Daily, UserTier::Free, 40);
    metrics
        .record_revenue(&Revenue::new(2_500, "books", "card", "eu"))
        .unwrap();

    let snapshot = recorder.collect().unwrap();
    assert_eq!(
        snapshot
            .gauge_u64(
                names::ACTIVE_USERS,
                &[("window", "daily"), ("user_tier", "pro")]
            )
            .unwrap(),
        7
    );
    assert_eq!(
        snapshot
            .gauge_u64(names::REVENUE_PER_MINUTE_CENTS, &[("region", "eu")])
            .unwrap(),
        2_500
    );
    let err = snapshot
        .gauge_u64(names::ACTIVE_USERS, &[("window", "daily")])
        .unwrap_err();
    assert!(matches!(err, LookupError::AmbiguousSeries { .. }), "{err}");
    assert!(err.to_string().contains(r#"user_tier="free""#), "{err}");

    // A minute later the window has emptied; a difference keeps gauge values.
    clock.advance(Duration::from_secs(61));
    let later = recorder.collect().unwrap().since(&snapshot);
    assert_eq!(
        later
            .gauge_u64(
                names::ACTIVE_USERS,
                &[("window", "daily"), ("user_tier", "pro")]
            )
            .unwrap(),
        7
    );
    assert_eq!(later.nonzero_counts().count(), 0, "{later}");
}

#[test]
fn a_refused_event_records_nothing_but_its_reason() {
    let recorder = TestRecorder::new();
    let metrics = recorder.business_metrics();
    let before = recorder.collect().unwrap();
    assert!(metrics
        .record_session_end(f64::NAN, UserTier::Free, "/")
        .is_err());
    let during = recorder.collect().unwrap().since(&before);
    assert_eq!(during.rejected_events("invalid_duration").unwrap(), 1);
    let counted: Vec<String> = during
        .nonzero_counts()
        .map(|(m, s)| format!("{} {s}", m.name))
        .collect();
    assert_eq!(
        counted,
        [r#"business.rejected_events {reason="invalid_duration"} 1"#]
    );
    assert!(during.series(names::SESSION_DURATION, &[]).is_empty());
}

#[test]
fn a_missing_instrument_series_or_kind_is_an_error_that_shows_what_there_is() {
    let recorder = TestRecorder::new();
    let metrics = recorder.business_metrics();
    let ctx = FunnelContext::new("direct", DeviceType::Desktop);
    metrics.checkout(&ctx, metrics.now()).unwrap().cart_view();
    let snapshot = recorder.collect().unwrap();

    let err = snapshot.funnel_step("checkout", "cart_veiw").unwrap_err();
    assert!(matches!(err, LookupError::NoSeries { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with(
            r#"no series of business.funnel_step has {funnel="checkout", step="cart_veiw"}; its series are:"#
        ),
        "{message}"
    );
    assert!(
        message.contains(
            r#"{device_type="desktop", experiment_variant="control", funnel="checkout", source="direct", step="cart_view"} 1"#
        ),
        "{message}"
    );
    assert_eq!(format!("{err:?}"), message, "Debug reads like Display");

    let err = snapshot
        .counter_u64(names::REVENUE_CENTS, &[("currency", "USD")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "nothing was recorded on business.revenue_cents; instruments with data: \
         business.conversions, business.funnel_step",
        "a funnel context creates its conversion series at 0 too"
    );
    assert!(matches!(err, LookupError::NoInstrument { .. }));

    let err = snapshot.histogram(names::FUNNEL_STEP, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "business.funnel_step is u64 counter, not u64 histogram; read it with \
         Snapshot::counter_u64"
    );
    let err = snapshot.counter_f64(names::FUNNEL_STEP, &[]).unwrap_err();
    assert!(matches!(err, LookupError::WrongKind { .. }), "{err}");

    assert!(snapshot
        .series(names::FUNNEL_STEP, &[("source", "nowhere")])
        .is_empty());
    assert!(snapshot.funnel_steps("signup").is_empty());
}

#[test]
fn display_lists_every_instrument_and_series() {
    let recorder = TestRecorder::new();
    assert_eq!(recorder.collect().unwrap().to_string(), "nothing recorded");
    let metrics = recorder.business_metrics();
    metrics
        .record_session_end(42.0, UserTier::Pro, "/pricing")
        .unwrap();
    metrics.set_active_users(ActiveWindow::Weekly, UserTier::Pro, 3);
    assert_eq!(
        recorder.collect().unwrap().to_string(),
        "business.active_users (u64 gauge, unit {user}, scope business-metrics)\n  \
         {user_tier=\"pro\", window=\"weekly\"} 3\n\
         business.session_duration (f64 histogram, unit s, scope business-metrics)\n  \
         {entry_page=\"/pricing\", user_tier=\"pro\"} count=1 sum=42 min=42 max=42 \
         buckets=[10: 0, 30: 0, 60: 1, 120: 0, 300: 0, 600: 0, 1800: 0, 3600: 0, +Inf: 0]"
    );
}

#[test]
fn collecting_after_the_provider_is_shut_down_is_an_error() {
    let recorder = TestRecorder::new();
    recorder.meter_provider().shutdown().unwrap();
    let err = recorder.collect().unwrap_err();
    assert!(err.to_string().starts_with("could not collect"), "{err}");
}
