//! Starts the product in-process on ephemeral loopback ports, its metrics through
//! the real Prometheus bridge, and reads its `/metrics`.
#![allow(dead_code, unreachable_pub)]

use business_metrics::{BusinessMetrics, LabelPolicy};
use business_metrics_exporter::{ExporterKind, MetricsGuard};
pub use business_metrics_test_support::exposition::Scrape;
use opentelemetry::metrics::MeterProvider as _;
use saas::{app, AppState, IncidentControl};
use serde_json::{json, Value};

/// A running product.
pub struct TestSaas {
    pub base: String,
    pub metrics_url: String,
    pub state: AppState,
    pub incident: IncidentControl,
    pub client: reqwest::Client,
    guard: Option<MetricsGuard>,
    server: tokio::task::JoinHandle<()>,
}

impl TestSaas {
    /// Starts the pipeline (the bridge only, the environment ignored) with the
    /// product's catalog, and serves the product with this payment failure rate.
    pub async fn start(payment_failure_rate: f64) -> Self {
        Self::start_with(payment_failure_rate, None).await
    }

    /// As `start`, recording through an instance with this label policy, built the
    /// way `main` builds it.
    pub async fn start_with_policy(policy: LabelPolicy) -> Self {
        Self::start_with(0.0, Some(policy)).await
    }

    async fn start_with(payment_failure_rate: f64, policy: Option<LabelPolicy>) -> Self {
        let telemetry = business_metrics_exporter::builder()
            .without_env()
            .with_service_name("saas-test")
            .with_exporters([ExporterKind::Prometheus])
            .with_prometheus_addr("127.0.0.1:0".parse().unwrap())
            .with_catalog(saas::catalog().unwrap())
            .init()
            .expect("metrics pipeline");
        let bridge = telemetry.prometheus_addr().expect("bridge address");
        let incident = IncidentControl::default();
        let metrics = match policy {
            None => telemetry.business_metrics(),
            Some(policy) => BusinessMetrics::builder(
                &telemetry
                    .meter_provider()
                    .meter_with_scope(business_metrics::instrumentation_scope()),
            )
            .with_catalog(telemetry.catalog().clone())
            .with_label_policy(policy)
            .build(),
        };
        let state = AppState::builder(metrics, &telemetry.meter_provider().meter("saas"))
            .with_payment_failure_rate(payment_failure_rate)
            .with_incident_control(incident.clone())
            .build()
            .expect("the product's instruments are in its catalog");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            base: format!("http://{addr}"),
            metrics_url: format!("http://{bridge}/metrics"),
            state,
            incident,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            guard: Some(telemetry),
            server,
        }
    }

    /// The `/metrics` page as text.
    pub async fn metrics_text(&self) -> String {
        let resp = self.client.get(&self.metrics_url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }

    pub async fn scrape(&self) -> Scrape {
        Scrape::parse(&self.metrics_text().await)
    }

    /// The business series (built-in and the product's), as text, for before/after
    /// comparisons.
    pub async fn business_series(&self) -> Vec<String> {
        self.scrape()
            .await
            .samples
            .iter()
            .filter(|s| s.name.starts_with("business_") || s.name.starts_with("saas_"))
            .map(|s| format!("{} {:?} {}", s.name, s.labels, s.value))
            .collect()
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

    /// A `POST` without a body.
    pub async fn post_empty(&self, path: &str) -> (u16, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)))
            .await
    }

    /// Posts `body` to `path` and expects 204 No Content.
    pub async fn post_no_content(&self, path: &str, body: Value) {
        let (status, resp) = self.post(path, body.clone()).await;
        assert_eq!(status, 204, "{path} {body}: {resp}");
    }

    /// Posts `body` to `path`, expects 201 Created and returns the answer's `key`.
    pub async fn create(&self, path: &str, body: Value, key: &str) -> String {
        let (status, resp) = self.post(path, body.clone()).await;
        assert_eq!(status, 201, "{path} {body}: {resp}");
        resp[key].as_str().unwrap().to_owned()
    }

    /// Opens a visit and returns its id.
    pub async fn visit(&self, body: Value) -> String {
        self.create("/api/visits", body, "visit_id").await
    }

    /// Records signup step `step` of visit `id`, expecting 204.
    pub async fn step(&self, id: &str, step: &str) {
        self.post_no_content(&format!("/api/visits/{id}/steps"), json!({ "step": step }))
            .await;
    }
}

impl Drop for TestSaas {
    fn drop(&mut self) {
        self.server.abort();
        if let Some(guard) = self.guard.take() {
            let _ = guard.shutdown();
        }
    }
}
