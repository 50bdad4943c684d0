//! 100,000 checkout sessions from distinct sources, sent through the shop's HTTP
//! API on loopback to the real `shop` binary with its default label policy: the
//! source budget keeps the first sources' series, every later source is recorded
//! as `other`, so `business_funnel_step_total` keeps every `funnel` and `step`
//! series with exact counts, never reaches the SDK's `otel_metric_overflow` series,
//! and `business_label_budget_exhausted_total{dimension="source"}` counts exactly
//! the events recorded under a folded source.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)]

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use business_metrics::{Budget, Dimension, CHECKOUT_STEP_VALUES};
use support::pipeline::{delete, post_json, Answer, Connection};
use support::process::ShopProcess;
use support::Scrape;

/// Distinct sources, one session each.
const FLOOD: usize = 100_000;
/// Sessions sent one batch at a time on one connection before the concurrent
/// flood, so which sources the budget keeps is known.
const IN_ORDER: usize = 50;
/// Keep-alive connections sending at once, and sessions per round trip.
const CONNECTIONS: usize = 4;
const BATCH: usize = 250;

fn source(i: usize) -> String {
    format!("flood-{i:06}")
}

/// The steps session `i` records after `cart_view`.
fn steps(i: usize) -> Vec<&'static str> {
    let mut steps = vec!["cart_view"];
    if i.is_multiple_of(2) {
        steps.push("shipping_info");
    }
    if i.is_multiple_of(4) {
        steps.push("payment_info");
    }
    steps
}

fn session_id(a: &Answer) -> String {
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    v["session_id"].as_str().unwrap().to_owned()
}

/// Opens, steps through and ends the sessions `ids` on one connection, a batch
/// at a time.
async fn sessions(addr: SocketAddr, ids: Vec<usize>) {
    let mut conn = Connection::open(addr).await;
    for batch in ids.chunks(BATCH) {
        let creates: Vec<Vec<u8>> = batch
            .iter()
            .map(|i| {
                post_json(
                    addr,
                    "/api/sessions",
                    &format!(
                        r#"{{"source":"{}","device_type":"desktop","user_tier":"free","is_new_user":false,"entry_page":"/","region":"eu"}}"#,
                        source(*i)
                    ),
                )
            })
            .collect();
        let opened: Vec<String> = conn
            .exchange(&creates)
            .await
            .iter()
            .map(session_id)
            .collect();
        let mut rest = Vec::new();
        for (i, id) in batch.iter().zip(&opened) {
            for step in steps(*i) {
                rest.push(post_json(
                    addr,
                    &format!("/api/sessions/{id}/steps"),
                    &format!(r#"{{"step":"{step}"}}"#),
                ));
            }
            rest.push(delete(addr, &format!("/api/sessions/{id}")));
        }
        let answers = conn.exchange(&rest).await;
        assert_eq!(answers.len(), rest.len());
        assert!(answers.iter().all(|a| a.status == 204));
    }
}

async fn scrape(shop: &ShopProcess) -> Scrape {
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
    Scrape::parse(&text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distinct_sources_past_the_budget_become_other_and_every_step_stays_exact() {
    let Budget::Values(budget) = Budget::default_for(Dimension::Source) else {
        panic!("sources have a budget by default");
    };
    assert!(budget < IN_ORDER);
    let shop = ShopProcess::start(
        &["--listen", "127.0.0.1:0", "--no-simulate"],
        &[("OTEL_EXPORTER_PROMETHEUS_PORT", "0")],
    );
    let addr = shop.api;
    sessions(addr, (0..IN_ORDER).collect()).await;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let mine: Vec<usize> = (IN_ORDER + c..FLOOD).step_by(CONNECTIONS).collect();
            tokio::spawn(sessions(addr, mine))
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }

    let s = scrape(&shop).await;
    // The SDK's overflow series appears nowhere.
    assert!(
        s.samples
            .iter()
            .all(|x| !x.labels.contains_key("otel_metric_overflow")),
        "an instrument overflowed"
    );
    let step = |step: &str, source: &str| {
        s.get(
            "business_funnel_step_total",
            &[
                ("funnel", "checkout"),
                ("step", step),
                ("source", source),
                ("device_type", "desktop"),
                ("experiment_variant", "control"),
            ],
        )
    };
    let count = |step: &str, range: std::ops::Range<usize>| {
        range.filter(|i| steps(*i).contains(&step)).count() as f64
    };
    // The first sources keep their series, every step exact (unused ones at 0);
    // the rest are summed under `other`, exactly.
    for i in 0..budget {
        for st in CHECKOUT_STEP_VALUES {
            assert_eq!(step(st, &source(i)), Some(count(st, i..i + 1)), "{i} {st}");
        }
    }
    for st in CHECKOUT_STEP_VALUES {
        assert_eq!(
            step(st, "other"),
            Some(count(st, budget..FLOOD)),
            "other {st}"
        );
    }
    let sources: BTreeSet<&str> = s
        .samples
        .iter()
        .filter(|x| x.name == "business_funnel_step_total")
        .map(|x| x.labels["source"].as_str())
        .collect();
    let mut expected: BTreeSet<String> = (0..budget).map(source).collect();
    expected.insert("other".to_owned());
    assert_eq!(
        sources,
        expected.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    assert_eq!(
        s.samples
            .iter()
            .filter(|x| x.name == "business_funnel_step_total")
            .count(),
        (budget + 1) * CHECKOUT_STEP_VALUES.len()
    );
    // Every event recorded under a folded source is counted once.
    let folded: usize = (budget..FLOOD).map(|i| steps(i).len()).sum();
    assert_eq!(
        s.get(
            "business_label_budget_exhausted_total",
            &[("dimension", "source")]
        ),
        Some(folded as f64)
    );
    assert_eq!(
        s.samples
            .iter()
            .filter(|x| x.name == "business_label_budget_exhausted_total")
            .count(),
        1
    );
    // Every session ended once, under its kept entry page.
    assert_eq!(
        s.get(
            "business_session_duration_seconds_count",
            &[("user_tier", "free"), ("entry_page", "/")]
        ),
        Some(FLOOD as f64)
    );
}
