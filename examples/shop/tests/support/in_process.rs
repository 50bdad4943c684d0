//! The shop served in-process: its router on an ephemeral loopback port, its metrics
//! through the real Prometheus bridge on another. The root package's end-to-end test
//! includes this file too.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use business_metrics_exporter::{ExporterBuilder, ExporterKind, MetricsGuard};
use opentelemetry::metrics::MeterProvider as _;
use shop::state::AppStateBuilder;
use shop::{app, AppState, IncidentControl};
use tokio::task::JoinHandle;

/// A shop served in-process. Stopping it is up to the caller: abort `server` and shut
/// down `telemetry`.
pub struct InProcessShop {
    /// The API's address.
    pub addr: SocketAddr,
    /// The Prometheus bridge's address.
    pub bridge: SocketAddr,
    pub state: AppState,
    pub incident: IncidentControl,
    pub telemetry: MetricsGuard,
    pub server: JoinHandle<()>,
}

impl InProcessShop {
    /// Starts the metrics pipeline as `service_name` (the Prometheus bridge only, the
    /// environment ignored) and serves the shop whose state `configure` adjusts.
    pub async fn start(
        service_name: &str,
        configure: impl FnOnce(AppStateBuilder) -> AppStateBuilder,
    ) -> Self {
        Self::start_with(service_name, |exporter| exporter, configure).await
    }

    /// As `start`, with the exporter builder adjusted by `exporter` first (to add
    /// OTLP beside the bridge, for example).
    pub async fn start_with(
        service_name: &str,
        exporter: impl FnOnce(ExporterBuilder) -> ExporterBuilder,
        configure: impl FnOnce(AppStateBuilder) -> AppStateBuilder,
    ) -> Self {
        let telemetry = exporter(
            business_metrics_exporter::builder()
                .without_env()
                .with_service_name(service_name)
                .with_exporters([ExporterKind::Prometheus])
                .with_prometheus_addr("127.0.0.1:0".parse().unwrap()),
        )
        .init()
        .expect("metrics pipeline");
        let bridge = telemetry.prometheus_addr().expect("bridge address");
        let incident = IncidentControl::default();
        let state = configure(AppState::builder(
            telemetry.business_metrics(),
            &telemetry.meter_provider().meter("shop"),
        ))
        .with_incident_control(incident.clone())
        .build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            addr,
            bridge,
            state,
            incident,
            telemetry,
            server,
        }
    }

    /// Stops serving and shuts the metrics pipeline down (a final export).
    pub async fn stop(self) {
        self.server.abort();
        let telemetry = self.telemetry;
        tokio::task::spawn_blocking(move || telemetry.shutdown())
            .await
            .unwrap()
            .unwrap();
    }
}
