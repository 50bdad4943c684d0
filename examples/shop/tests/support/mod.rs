//! Starts the shop on ephemeral loopback ports with the real Prometheus bridge, and
//! reads its `/metrics`.
#![allow(dead_code, unreachable_pub)]

pub mod in_process;
pub mod pipeline;
pub mod process;

use std::collections::BTreeMap;

use business_metrics_exporter::MetricsGuard;
use in_process::InProcessShop;
use serde_json::{json, Value};
use shop::{AppState, IncidentControl};

/// One sample of the exposition: metric name, labels (without `otel_scope_*`), value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed `/metrics` page.
#[derive(Clone, Debug, PartialEq)]
pub struct Scrape {
    pub samples: Vec<Sample>,
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim_start_matches(',').to_owned();
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let mut end = 0;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(match n {
                            'n' => '\n',
                            other => other,
                        });
                    }
                }
                '"' => {
                    end = eq + 2 + i + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        if !key.starts_with("otel_scope_") {
            out.insert(key, value);
        }
        rest = &rest[end..];
    }
    out
}

impl Scrape {
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("sample line");
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => (name, parse_labels(labels.trim_end_matches('}'))),
                    None => (series, BTreeMap::new()),
                };
                Sample {
                    name: name.to_owned(),
                    labels,
                    value: value.parse().expect("sample value"),
                }
            })
            .collect();
        Self { samples }
    }

    /// The value of the series with exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// The sum over series whose labels include these.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Whether any series has this name.
    pub fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }

    /// Only the business metrics, as text, for before/after comparisons.
    pub fn business(&self) -> Vec<String> {
        self.samples
            .iter()
            .filter(|s| s.name.starts_with("business_"))
            .map(|s| format!("{} {:?} {}", s.name, s.labels, s.value))
            .collect()
    }
}

/// A running shop.
pub struct TestShop {
    pub base: String,
    pub metrics_url: String,
    pub state: AppState,
    pub incident: IncidentControl,
    pub client: reqwest::Client,
    guard: Option<MetricsGuard>,
    server: tokio::task::JoinHandle<()>,
}

impl TestShop {
    pub async fn start(payment_failure_rate: f64) -> Self {
        let shop = InProcessShop::start("shop-test", |state| {
            state.with_payment_failure_rate(payment_failure_rate)
        })
        .await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            base: format!("http://{}", shop.addr),
            metrics_url: format!("http://{}/metrics", shop.bridge),
            state: shop.state,
            incident: shop.incident,
            client,
            guard: Some(shop.telemetry),
            server: shop.server,
        }
    }

    pub async fn scrape(&self) -> Scrape {
        let resp = self.client.get(&self.metrics_url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        Scrape::parse(&resp.text().await.unwrap())
    }

    /// Sends a request and returns the status and JSON body (`Null` when empty).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, body)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)))
            .await
    }

    /// Opens a session and returns its id.
    pub async fn open_session(&self, body: Value) -> String {
        let (status, resp) = self.post("/api/sessions", body).await;
        assert_eq!(status, 201, "{resp}");
        resp["session_id"].as_str().unwrap().to_owned()
    }

    /// Posts `body` to `path` and expects 204 No Content.
    pub async fn post_no_content(&self, path: &str, body: Value) {
        let (status, resp) = self.post(path, body.clone()).await;
        assert_eq!(status, 204, "{path} {body}: {resp}");
    }

    /// Records funnel step `step` in session `id`, expecting 204.
    pub async fn step(&self, id: &str, step: &str) {
        self.post_no_content(
            &format!("/api/sessions/{id}/steps"),
            json!({ "step": step }),
        )
        .await;
    }

    /// Records a use of feature `name` in session `id`, expecting 204.
    pub async fn feature(&self, id: &str, name: &str) {
        self.post_no_content(
            &format!("/api/sessions/{id}/features"),
            json!({ "feature_name": name }),
        )
        .await;
    }

    /// Ends session `id`, expecting 204.
    pub async fn end_session(&self, id: &str) {
        let (status, resp) = self.delete(&format!("/api/sessions/{id}")).await;
        assert_eq!(status, 204, "{resp}");
    }
}

impl Drop for TestShop {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(guard) = self.guard.take() {
            let _ = guard.shutdown();
        }
    }
}
