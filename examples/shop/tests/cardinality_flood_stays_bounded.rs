//! 100,000 distinct values of a free-form label, sent through the shop's HTTP API
//! on loopback, against the real `shop` binary: every instrument keeps at most the
//! cardinality limit of series plus the overflow series, the process's resident
//! memory grows by a bounded amount, and what was sent is counted exactly.
//!
//! - Without an allowlist, the first distinct feature names get their own series
//!   until the feature-name budget is used up; the rest are summed in `other`,
//!   counted on `business_label_budget_exhausted_total`, and never reach the SDK's
//!   `otel_metric_overflow="true"` series; series that existed before the flood
//!   keep counting exactly; the total across series equals the events sent.
//! - With `--allowlist source=...`, 100,000 distinct sources all become `other` and
//!   the listed sources keep exact counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    clippy::cast_precision_loss
)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use business_metrics::{Budget, Dimension};
use business_metrics_exporter::DEFAULT_CARDINALITY_LIMIT;
use support::pipeline::{delete, post_json, Answer, Connection};
use support::process::ShopProcess;
use support::Scrape;

/// Distinct values sent.
const FLOOD: usize = 100_000;
/// Keep-alive connections sending at once, and requests written per round trip.
const CONNECTIONS: usize = 4;
const BATCH: usize = 250;
/// A generous bound on the resident memory the flood may add, in KiB. The limit
/// holds each instrument at about 2,000 series; what grows without it is measured
/// in the documentation (docs/RELIABILITY.md).
const MAX_RSS_GROWTH_KIB: u64 = 32 * 1024;

fn session_json(source: &str) -> String {
    format!(
        r#"{{"source":"{source}","device_type":"desktop","user_tier":"free","is_new_user":false,"entry_page":"/","region":"eu"}}"#
    )
}

fn start_shop(extra: &[&str]) -> ShopProcess {
    let mut args = vec!["--listen", "127.0.0.1:0", "--no-simulate"];
    args.extend_from_slice(extra);
    ShopProcess::start(&args, &[("OTEL_EXPORTER_PROMETHEUS_PORT", "0")])
}

async fn scrape(shop: &ShopProcess) -> (Scrape, usize) {
    let text = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(shop.metrics_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (Scrape::parse(&text), text.len())
}

/// The number of distinct series of each metric family, histograms counted once
/// per label set (by their `_count` sample).
fn series_per_family(s: &Scrape) -> BTreeMap<String, usize> {
    let mut sets: BTreeMap<String, BTreeSet<Vec<(String, String)>>> = BTreeMap::new();
    for x in &s.samples {
        if x.name.ends_with("_bucket") || x.name.ends_with("_sum") {
            continue;
        }
        let family = x.name.trim_end_matches("_count").to_owned();
        let labels = x
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        sets.entry(family).or_default().insert(labels);
    }
    sets.into_iter().map(|(k, v)| (k, v.len())).collect()
}

fn assert_every_family_within(s: &Scrape, limit: usize) -> usize {
    let families = series_per_family(s);
    for (family, n) in &families {
        assert!(
            *n <= limit + 1,
            "{family} has {n} series, over {limit} + overflow"
        );
    }
    families.values().copied().max().unwrap_or(0)
}

fn session_id(a: &Answer) -> String {
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    v["session_id"].as_str().unwrap().to_owned()
}

/// Sends `requests` split over the connections, `BATCH` at a time, and returns
/// every answer's status, in order per connection.
async fn flood(addr: SocketAddr, requests: Vec<Vec<u8>>) -> Vec<u16> {
    let mut shares: Vec<Vec<Vec<u8>>> = vec![Vec::new(); CONNECTIONS];
    for (i, r) in requests.into_iter().enumerate() {
        shares[i % CONNECTIONS].push(r);
    }
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|share| {
            tokio::spawn(async move {
                let mut conn = Connection::open(addr).await;
                let mut statuses = Vec::with_capacity(share.len());
                for batch in share.chunks(BATCH) {
                    statuses.extend(conn.exchange(batch).await.iter().map(|a| a.status));
                }
                statuses
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

struct Figures {
    requests: usize,
    elapsed: Duration,
    rss_before_kib: u64,
    rss_after_kib: u64,
    max_series: usize,
    scrape_bytes: usize,
}

impl Figures {
    fn report(&self, what: &str) {
        eprintln!(
            "{what}: {} requests in {:.1?} ({:.0}/s); VmRSS {} -> {} KiB (+{} KiB); \
             largest family {} series; scrape {} bytes",
            self.requests,
            self.elapsed,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.rss_before_kib,
            self.rss_after_kib,
            self.rss_after_kib.saturating_sub(self.rss_before_kib),
            self.max_series,
            self.scrape_bytes,
        );
        assert!(
            self.rss_after_kib.saturating_sub(self.rss_before_kib) < MAX_RSS_GROWTH_KIB,
            "{what}: resident memory grew by more than {MAX_RSS_GROWTH_KIB} KiB"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_feature_names_past_the_budget_become_other_and_every_event_is_counted() {
    let Budget::Values(budget) = Budget::default_for(Dimension::FeatureName) else {
        panic!("feature names have a budget by default");
    };
    let shop = start_shop(&[]);
    let addr = shop.api;
    let mut conn = Connection::open(addr).await;
    let id = session_id(
        &conn
            .exchange(&[post_json(addr, "/api/sessions", &session_json("direct"))])
            .await[0],
    );
    let feature = |name: &str| {
        post_json(
            addr,
            &format!("/api/sessions/{id}/features"),
            &format!(r#"{{"feature_name":"{name}"}}"#),
        )
    };
    // Series that exist before the flood.
    let known: Vec<Vec<u8>> = (0..100)
        .flat_map(|_| [feature("export"), feature("search")])
        .collect();
    assert!(conn.exchange(&known).await.iter().all(|a| a.status == 204));
    let rss_before_kib = shop.rss_kib();

    // The flood, with one more `export` after every 1,000 new names.
    let mut requests = Vec::with_capacity(FLOOD + FLOOD / 1_000);
    for i in 0..FLOOD {
        requests.push(feature(&format!("flood-{i}")));
        if i % 1_000 == 999 {
            requests.push(feature("export"));
        }
    }
    let sent = requests.len();
    let started = Instant::now();
    let statuses = flood(addr, requests).await;
    let elapsed = started.elapsed();
    assert_eq!(statuses.len(), sent);
    assert!(statuses.iter().all(|s| *s == 204));
    let rss_after_kib = shop.rss_kib();

    let (s, scrape_bytes) = scrape(&shop).await;
    let max_series = assert_every_family_within(&s, DEFAULT_CARDINALITY_LIMIT);
    let usage = |name: &str| {
        s.get(
            "business_feature_usage_total",
            &[
                ("feature_name", name),
                ("user_tier", "free"),
                ("is_new_user", "false"),
            ],
        )
    };
    assert_eq!(usage("export"), Some(200.0));
    assert_eq!(usage("search"), Some(100.0));
    let series = s
        .samples
        .iter()
        .filter(|x| x.name == "business_feature_usage_total")
        .count();
    assert_eq!(series, budget + 1);
    assert!(
        s.samples
            .iter()
            .all(|x| !x.labels.contains_key("otel_metric_overflow")),
        "an instrument overflowed"
    );
    // The budget's values: `export`, `search` and the first flood names; the rest
    // are `other`, each event counted as folded.
    let folded = (FLOOD - (budget - 2)) as f64;
    assert_eq!(usage("other"), Some(folded));
    assert_eq!(
        s.get(
            "business_label_budget_exhausted_total",
            &[("dimension", "feature_name")]
        ),
        Some(folded)
    );
    assert_eq!(
        s.sum("business_feature_usage_total", &[]),
        (200 + FLOOD + FLOOD / 1_000) as f64,
        "the total across series differs from the events sent"
    );
    Figures {
        requests: sent,
        elapsed,
        rss_before_kib,
        rss_after_kib,
        max_series,
        scrape_bytes,
    }
    .report("feature-name flood, no allowlist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_allowlist_distinct_sources_become_other_and_listed_ones_count_exactly() {
    let shop = start_shop(&["--allowlist", "source=google_ads,newsletter"]);
    let addr = shop.api;
    let mut conn = Connection::open(addr).await;
    let warm = conn
        .exchange(&[post_json(
            addr,
            "/api/sessions",
            &session_json("google_ads"),
        )])
        .await;
    let first = session_id(&warm[0]);
    let rss_before_kib = shop.rss_kib();

    // 100,000 sessions from distinct sources, each opened and ended; after every
    // 100 of them, one `google_ads` session with a `cart_view` step.
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| tokio::spawn(sessions_from_distinct_sources(addr, c)))
        .collect();
    let (mut sent, mut listed) = (1, 1);
    for t in tasks {
        let (s, l) = t.await.unwrap();
        sent += s;
        listed += l;
    }
    // The flood outlasts the listener's header read timeout: a fresh connection.
    let mut conn = Connection::open(addr).await;
    let steps = post_json(
        addr,
        &format!("/api/sessions/{first}/steps"),
        r#"{"step":"cart_view"}"#,
    );
    let end = delete(addr, &format!("/api/sessions/{first}"));
    let answers = conn.exchange(&[steps, end]).await;
    assert_eq!((answers[0].status, answers[1].status), (204, 204));
    sent += 2;
    let elapsed = started.elapsed();
    let rss_after_kib = shop.rss_kib();

    let (s, scrape_bytes) = scrape(&shop).await;
    let max_series = assert_every_family_within(&s, DEFAULT_CARDINALITY_LIMIT);
    let sources: BTreeSet<&str> = s
        .samples
        .iter()
        .filter_map(|x| x.labels.get("source").map(String::as_str))
        .collect();
    assert_eq!(sources, BTreeSet::from(["google_ads", "other"]));
    let cart_view = |source: &str| {
        s.get(
            "business_funnel_step_total",
            &[
                ("funnel", "checkout"),
                ("step", "cart_view"),
                ("source", source),
                ("device_type", "desktop"),
                ("experiment_variant", "control"),
            ],
        )
    };
    assert_eq!(cart_view("google_ads"), Some(listed as f64));
    assert_eq!(cart_view("other"), Some(0.0));
    // Every session ended once: one duration each.
    assert_eq!(
        s.get(
            "business_session_duration_seconds_count",
            &[("user_tier", "free"), ("entry_page", "/")]
        ),
        Some((FLOOD + listed) as f64)
    );
    assert!(
        s.samples
            .iter()
            .all(|x| x.labels.values().all(|v| !v.starts_with("flood-"))),
        "a flood value became a label value"
    );
    Figures {
        requests: sent,
        elapsed,
        rss_before_kib,
        rss_after_kib,
        max_series,
        scrape_bytes,
    }
    .report("source flood, allowlist on source");
}

/// Connection `c` of `CONNECTIONS`: opens and ends its share of the sessions from
/// distinct sources, plus a `google_ads` session with a `cart_view` step after every
/// 100; a batch is opened, then its steps and ends are sent, so few are open at once.
/// Returns the requests sent and the `google_ads` sessions.
async fn sessions_from_distinct_sources(addr: SocketAddr, c: usize) -> (usize, usize) {
    let mut conn = Connection::open(addr).await;
    let mine: Vec<usize> = (c..FLOOD).step_by(CONNECTIONS).collect();
    let (mut sent, mut listed) = (0, 0);
    for batch in mine.chunks(BATCH) {
        let mut creates = Vec::with_capacity(batch.len() + 3);
        let mut is_listed = Vec::with_capacity(batch.len() + 3);
        for i in batch {
            creates.push(post_json(
                addr,
                "/api/sessions",
                &session_json(&format!("flood-{i}")),
            ));
            is_listed.push(false);
            if i % 100 == 99 {
                creates.push(post_json(
                    addr,
                    "/api/sessions",
                    &session_json("google_ads"),
                ));
                is_listed.push(true);
            }
        }
        let ids: Vec<String> = conn
            .exchange(&creates)
            .await
            .iter()
            .map(session_id)
            .collect();
        let mut rest: Vec<Vec<u8>> = ids
            .iter()
            .zip(&is_listed)
            .filter(|(_, l)| **l)
            .map(|(id, _)| {
                post_json(
                    addr,
                    &format!("/api/sessions/{id}/steps"),
                    r#"{"step":"cart_view"}"#,
                )
            })
            .collect();
        listed += rest.len();
        rest.extend(
            ids.iter()
                .map(|id| delete(addr, &format!("/api/sessions/{id}"))),
        );
        let answers = conn.exchange(&rest).await;
        assert!(answers.iter().all(|a| a.status == 204));
        sent += creates.len() + rest.len();
    }
    (sent, listed)
}
