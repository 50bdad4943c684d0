//! Threads recording through the library API and clients recording through the HTTP
//! API, while `/metrics` is scraped in a loop: every scrape parses, no counter ever
//! goes down between consecutive scrapes, and the totals at the end are exact.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use business_metrics::{DeviceType, FunnelContext, Revenue, UserTier};
use serde_json::json;
use support::{Scrape, TestShop};

/// Library threads and the events each records of every kind.
const THREADS: u64 = 4;
const EVENTS: u64 = 2_000;
/// HTTP clients and the sessions each runs (4 requests a session).
const CLIENTS: u64 = 4;
const SESSIONS: u64 = 60;
/// At most this many scrapes, however long the recording takes.
const MAX_SCRAPES: usize = 2_000;

/// Whether a sample belongs to a counter or a histogram: these never go down.
fn is_monotonic(name: &str) -> bool {
    name.ends_with("_total")
        || name.ends_with("_count")
        || name.ends_with("_sum")
        || name.ends_with("_bucket")
}

type Key = (String, Vec<(String, String)>);

fn monotonic_samples(s: &Scrape) -> BTreeMap<Key, f64> {
    s.samples
        .iter()
        .filter(|x| is_monotonic(&x.name))
        .map(|x| {
            let labels = x
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            ((x.name.clone(), labels), x.value)
        })
        .collect()
}

/// Checks the exposition line by line: comments are `# HELP` or `# TYPE`, every
/// sample is `name{labels} value` with a finite value.
fn check_exposition(text: &str) -> Result<(), String> {
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            if !(comment.starts_with("HELP ") || comment.starts_with("TYPE ")) {
                return Err(format!("unexpected comment {line:?}"));
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("no value in {line:?}"))?;
        let value: f64 = value
            .parse()
            .map_err(|e| format!("bad value in {line:?}: {e}"))?;
        if !value.is_finite() {
            return Err(format!("non-finite value in {line:?}"));
        }
        let name = series.split('{').next().unwrap_or_default();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(format!("bad metric name in {line:?}"));
        }
        if series.contains('{') && !series.ends_with('}') {
            return Err(format!("unterminated labels in {line:?}"));
        }
    }
    Ok(())
}

fn record_through_the_library(shop: &TestShop) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let metrics = shop.state.metrics().clone();
            s.spawn(move || {
                let ctx = FunnelContext::new("library", DeviceType::Tablet);
                let checkout = metrics.checkout(&ctx, metrics.now()).unwrap();
                for i in 0..EVENTS {
                    checkout.cart_view();
                    metrics
                        .record_feature_usage("library_feature", UserTier::Enterprise, t % 2 == 0)
                        .unwrap();
                    metrics
                        .record_revenue(&Revenue::new(i % 100 + 1, "library", "card", "eu"))
                        .unwrap();
                }
            });
        }
    });
}

async fn record_through_http(shop: &TestShop) {
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| async {
            for _ in 0..SESSIONS {
                let id = shop
                    .open_session(json!({
                        "source": "http", "device_type": "mobile", "user_tier": "pro",
                        "is_new_user": false, "entry_page": "/home", "region": "us"
                    }))
                    .await;
                shop.step(&id, "cart_view").await;
                shop.feature(&id, "http_feature").await;
                shop.end_session(&id).await;
            }
        })
        .collect();
    futures_join_all(clients).await;
}

/// Runs futures concurrently on the current task (no extra crate needed).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        pinned.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pinned.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_exact_and_scrapes_stay_valid_and_monotonic_under_concurrent_recording() {
    let shop = Arc::new(TestShop::start(0.0).await);
    let done = Arc::new(AtomicBool::new(false));

    let scraper = {
        let (shop, done) = (Arc::clone(&shop), Arc::clone(&done));
        tokio::spawn(async move {
            let mut previous: BTreeMap<Key, f64> = BTreeMap::new();
            let mut scrapes = 0usize;
            while scrapes < MAX_SCRAPES {
                // One more scrape after the recording ends, so the last one sees it all.
                let last = done.load(Ordering::Acquire);
                let resp = shop.client.get(&shop.metrics_url).send().await.unwrap();
                assert_eq!(resp.status(), 200, "scrape {scrapes} failed");
                let text = resp.text().await.unwrap();
                check_exposition(&text)
                    .unwrap_or_else(|e| panic!("scrape {scrapes} does not parse: {e}"));
                let current = monotonic_samples(&Scrape::parse(&text));
                for (key, before) in &previous {
                    let now = current.get(key).copied();
                    assert!(
                        now.is_some_and(|v| v >= *before),
                        "scrape {scrapes}: {key:?} went from {before} to {now:?}"
                    );
                }
                previous = current;
                scrapes += 1;
                if last {
                    break;
                }
            }
            scrapes
        })
    };

    let started = Instant::now();
    let library = {
        let shop = Arc::clone(&shop);
        tokio::task::spawn_blocking(move || record_through_the_library(&shop))
    };
    record_through_http(&shop).await;
    library.await.unwrap();
    let recording = started.elapsed();
    done.store(true, Ordering::Release);
    let scrapes = scraper.await.unwrap();
    eprintln!(
        "recorded {} library and {} HTTP events in {recording:?} during {scrapes} scrapes",
        THREADS * EVENTS * 3,
        CLIENTS * SESSIONS * 4
    );
    assert!(
        scrapes >= 3,
        "only {scrapes} scrapes ran during the recording"
    );
    assert!(recording < Duration::from_secs(50), "{recording:?}");

    let s = shop.scrape().await;
    let funnel = |source: &str, device: &str| {
        s.get(
            "business_funnel_step_total",
            &[
                ("funnel", "checkout"),
                ("step", "cart_view"),
                ("source", source),
                ("device_type", device),
                ("experiment_variant", "control"),
            ],
        )
    };
    assert_eq!(funnel("library", "tablet"), Some((THREADS * EVENTS) as f64));
    assert_eq!(funnel("http", "mobile"), Some((CLIENTS * SESSIONS) as f64));
    let feature = |name: &str, tier: &str, new: &str| {
        s.get(
            "business_feature_usage_total",
            &[
                ("feature_name", name),
                ("user_tier", tier),
                ("is_new_user", new),
            ],
        )
    };
    for new in ["true", "false"] {
        assert_eq!(
            feature("library_feature", "enterprise", new),
            Some((THREADS / 2 * EVENTS) as f64)
        );
    }
    assert_eq!(
        feature("http_feature", "pro", "false"),
        Some((CLIENTS * SESSIONS) as f64)
    );
    let per_thread_revenue: u64 = (0..EVENTS).map(|i| i % 100 + 1).sum();
    assert_eq!(
        s.get(
            "business_revenue_cents_total",
            &[
                ("product_category", "library"),
                ("payment_method", "card"),
                ("region", "eu"),
                ("currency", "USD")
            ]
        ),
        Some((THREADS * per_thread_revenue) as f64)
    );
    assert_eq!(
        s.get(
            "business_order_value_cents_count",
            &[("product_category", "library"), ("currency", "USD")]
        ),
        Some((THREADS * EVENTS) as f64)
    );
    assert_eq!(
        s.get(
            "business_session_duration_seconds_count",
            &[("user_tier", "pro"), ("entry_page", "/home")]
        ),
        Some((CLIENTS * SESSIONS) as f64)
    );
    let requests = |method: &str, route: &str, status: &str| {
        s.get(
            "http_server_request_duration_seconds_count",
            &[
                ("http_request_method", method),
                ("http_route", route),
                ("http_response_status_code", status),
                ("url_scheme", "http"),
                ("network_protocol_version", "1.1"),
            ],
        )
    };
    let sessions = Some((CLIENTS * SESSIONS) as f64);
    assert_eq!(requests("POST", "/api/sessions", "201"), sessions);
    assert_eq!(
        requests("POST", "/api/sessions/{id}/steps", "204"),
        sessions
    );
    assert_eq!(
        requests("POST", "/api/sessions/{id}/features", "204"),
        sessions
    );
    assert_eq!(requests("DELETE", "/api/sessions/{id}", "204"), sessions);
    assert!(!s.has("business_rejected_events_total"));
}
