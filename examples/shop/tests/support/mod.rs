//! Starts the shop on ephemeral loopback ports with the real Prometheus bridge, and
//! reads its `/metrics`.
#![allow(dead_code, unreachable_pub)]

pub mod in_process;
pub mod pipeline;
pub mod process;

use business_metrics_exporter::MetricsGuard;
pub use business_metrics_test_support::exposition::Scrape;
use in_process::InProcessShop;
use serde_json::{json, Value};
use shop::{AppState, IncidentControl};

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
