//! SDK pipelines for business metrics: OTLP (gRPC or HTTP/protobuf) to an
//! OpenTelemetry Collector, a Prometheus `/metrics` bridge, a console exporter, or any
//! combination, configured from the standard OpenTelemetry environment variables.
//!
//! The instrumentation crate `business-metrics` records through the OpenTelemetry
//! API only; this crate is what the application calls once at start-up to choose
//! the SDK pipeline. It also installs views derived from the metric catalog (the
//! catalog's bucket boundaries and attribute keys, whatever the instrument said) and
//! a cardinality limit on every instrument.
//!
//! # Getting started
//!
//! Call [`init`] (or configure a [`builder`]) inside the Tokio runtime, record, and
//! shut the guard down on the way out:
//!
//! ```no_run
//! use business_metrics::{DeviceType, FunnelContext, Revenue};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let guard = business_metrics_exporter::builder()
//!         .with_service_name("shop")
//!         .with_service_version(env!("CARGO_PKG_VERSION"))
//!         .with_default_exporters([business_metrics_exporter::ExporterKind::Prometheus])
//!         .init()?; // OTEL_METRICS_EXPORTER=otlp,prometheus etc. still apply
//!     let metrics = guard.business_metrics();
//!
//!     let ctx = FunnelContext::new("google_ads", DeviceType::Mobile);
//!     metrics.checkout(&ctx, metrics.now())?.cart_view();
//!     metrics.record_revenue(&Revenue::new(4_999, "electronics", "card", "us_west"))?;
//!
//!     guard.shutdown()?; // flushes the last values within a bounded time
//!     Ok(())
//! }
//! ```
//!
//! `init` must run inside a Tokio runtime when the Prometheus bridge or OTLP/gRPC is
//! enabled: it returns [`InitError::NoTokioRuntime`] otherwise. The library never
//! starts a runtime. OTLP/HTTP and the console exporter run on the SDK's own threads.
//!
//! # Environment variables
//!
//! Every variable of the specification's general SDK, metrics SDK, OTLP exporter
//! and Prometheus exporter sections that concerns metrics, and what it does here.
//! Precedence: settings made in code beat signal-specific variables, which beat
//! generic ones, which beat defaults. An empty variable counts as unset.
//!
//! A value that cannot be used (an unknown enum value, an unparsable number, an
//! exporter this build lacks) never stops the service: as the specification says,
//! it is logged once through `tracing` at `warn` (target
//! `business_metrics_exporter::config`) naming the variable, the value (never a
//! secret) and what is used instead, and ignored; [`ExporterConfig::warnings`] lists
//! them. [`ExporterBuilder::with_strict_env`] turns each into
//! [`ConfigError::InvalidEnv`] instead, for teams that prefer failing at start-up.
//!
//! | Variable | Values | Default |
//! |---|---|---|
//! | [`OTEL_SDK_DISABLED`](env::OTEL_SDK_DISABLED) | `true`: nothing installed or served, every recording a no-op | `false` |
//! | [`OTEL_METRICS_EXPORTER`](env::OTEL_METRICS_EXPORTER) | comma list of `otlp`, `prometheus`, `console` (`logging` is read as `console`); or `none` | `otlp` ([`ExporterBuilder::with_default_exporters`] changes it) |
//! | [`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`](env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) | URL, used as is | |
//! | [`OTEL_EXPORTER_OTLP_ENDPOINT`](env::OTEL_EXPORTER_OTLP_ENDPOINT) | base URL; HTTP appends `/v1/metrics` | `http://localhost:4318` (HTTP), `http://localhost:4317` (gRPC) |
//! | [`OTEL_EXPORTER_OTLP_METRICS_INSECURE`](env::OTEL_EXPORTER_OTLP_METRICS_INSECURE), [`OTEL_EXPORTER_OTLP_INSECURE`](env::OTEL_EXPORTER_OTLP_INSECURE) | `true`: an endpoint written without a scheme gets `http://` | `false` (`https://`) |
//! | [`OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`](env::OTEL_EXPORTER_OTLP_METRICS_PROTOCOL), [`OTEL_EXPORTER_OTLP_PROTOCOL`](env::OTEL_EXPORTER_OTLP_PROTOCOL) | `grpc`, `http/protobuf`, `http/json` | `http/protobuf` |
//! | [`OTEL_EXPORTER_OTLP_METRICS_HEADERS`](env::OTEL_EXPORTER_OTLP_METRICS_HEADERS), [`OTEL_EXPORTER_OTLP_HEADERS`](env::OTEL_EXPORTER_OTLP_HEADERS) | `key=value,...`, values percent-encoded; a malformed list is ignored whole | none |
//! | [`OTEL_EXPORTER_OTLP_METRICS_COMPRESSION`](env::OTEL_EXPORTER_OTLP_METRICS_COMPRESSION), [`OTEL_EXPORTER_OTLP_COMPRESSION`](env::OTEL_EXPORTER_OTLP_COMPRESSION) | `gzip`, `none` | `none` |
//! | [`OTEL_EXPORTER_OTLP_METRICS_TIMEOUT`](env::OTEL_EXPORTER_OTLP_METRICS_TIMEOUT), [`OTEL_EXPORTER_OTLP_TIMEOUT`](env::OTEL_EXPORTER_OTLP_TIMEOUT) | milliseconds per request; `0`: no limit | 10000 |
//! | [`OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE`](env::OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE), [`OTEL_EXPORTER_OTLP_CERTIFICATE`](env::OTEL_EXPORTER_OTLP_CERTIFICATE) | PEM file of the CA certificates that verify the endpoint (instead of the web PKI roots) | web PKI roots |
//! | [`OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE`](env::OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE), [`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`](env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE) | PEM file of the client certificate chain (mutual TLS) | none |
//! | [`OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY`](env::OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY), [`OTEL_EXPORTER_OTLP_CLIENT_KEY`](env::OTEL_EXPORTER_OTLP_CLIENT_KEY) | PEM file of the client's private key (mutual TLS) | none |
//! | [`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`](env::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE) | `cumulative`, `delta`, `lowmemory` | `cumulative` |
//! | [`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`](env::OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION) | `explicit_bucket_histogram`; `base2_exponential_bucket_histogram` is ignored with a warning (per instrument: `CatalogBuilder::with_exponential_buckets`) | `explicit_bucket_histogram` |
//! | [`OTEL_METRIC_EXPORT_INTERVAL`](env::OTEL_METRIC_EXPORT_INTERVAL) | milliseconds, at least 1 | 60000 |
//! | [`OTEL_METRIC_EXPORT_TIMEOUT`](env::OTEL_METRIC_EXPORT_TIMEOUT) | milliseconds for one export, retries included; `0`: no limit | 30000 |
//! | [`OTEL_METRICS_EXEMPLAR_FILTER`](env::OTEL_METRICS_EXEMPLAR_FILTER) | `always_off`; `always_on` and `trace_based` are ignored with a warning (no exemplars are recorded) | `always_off` here |
//! | [`OTEL_SERVICE_NAME`](env::OTEL_SERVICE_NAME) | `service.name` | `unknown_service:<executable name>` |
//! | [`OTEL_RESOURCE_ATTRIBUTES`](env::OTEL_RESOURCE_ATTRIBUTES) | `key=value,...` (`service.version`, `deployment.environment.name` or `deployment.environment`, ...); a malformed list is ignored whole | |
//! | [`OTEL_EXPORTER_PROMETHEUS_HOST`](env::OTEL_EXPORTER_PROMETHEUS_HOST) | IP address or `localhost` | `127.0.0.1` |
//! | [`OTEL_EXPORTER_PROMETHEUS_PORT`](env::OTEL_EXPORTER_PROMETHEUS_PORT) | port, `0` for any free one | 9464 |
//! | [`BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN`](env::BUSINESS_METRICS_PROMETHEUS_BEARER_TOKEN) | token `/metrics` requires (this project's variable); set but empty is an error, never "no token" | none |
//!
//! Not read: `OTEL_LOG_LEVEL` (the `tracing` subscriber's filter decides what is
//! logged), `OTEL_CONFIG_FILE`, the attribute-limit and span and log variables
//! (metrics are exempt from attribute limits), and `OTEL_PROPAGATORS`. OTLP/HTTP
//! honours `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` unless the
//! environment is turned off.
//!
//! **Code beats the environment on the wire.** This crate builds its own OTLP
//! clients from the resolved [`ExporterConfig`]; nothing underneath reads
//! `OTEL_*` variables. A header, compression, timeout or endpoint set on the
//! builder is what is sent, whatever the environment says, and
//! [`ExporterBuilder::without_env`] isolates the pipeline from it completely.
//! Tests and applications with their own configuration source pass variables with
//! [`ExporterBuilder::with_env_vars`] or [`ExporterBuilder::with_env_lookup`].
//!
//! # What the pipeline adds
//!
//! - **Resource**: `service.name`, `service.version` (if given), a
//!   `service.instance.id` unique per process (a random UUID v4), and the deployment
//!   environment if given, as `deployment.environment.name` (the current semantic
//!   convention) and `deployment.environment` (its older name); many replicas are
//!   summed in PromQL.
//! - **Views** from the catalog ([`ExporterBuilder::with_catalog`]; the built-in one by
//!   default): bucket boundaries (explicit, or exponential over OTLP) and the allowed
//!   attribute keys of each business instrument, the service's own included.
//!   [`MetricsGuard::business_metrics`] returns the pipeline's one instance, built
//!   with that catalog and the label policy of [`ExporterBuilder::with_label_policy`].
//! - **Cardinality limit** on every instrument (default
//!   [`DEFAULT_CARDINALITY_LIMIT`]): attribute sets past it are summed into the
//!   series with `otel.metric.overflow="true"`.
//! - **Temporality**: cumulative, or delta for OTLP backends that prefer it.
//!
//! # Export failures in the log
//!
//! When the collector is down, unreachable or hangs, the OTLP exporter keeps
//! recording: measurements accumulate in the SDK (bounded by the cardinality limit)
//! and the next successful export carries the cumulative totals. Failures are
//! reported through the [`tracing`](https://docs.rs/tracing) crate (install any
//! subscriber, e.g. `tracing_subscriber::fmt::init()`, to see them), at a bounded
//! rate, under the target `business_metrics_exporter::export_log`:
//!
//! | when | level | message |
//! |---|---|---|
//! | first failed export of an outage | `warn` | `metrics export to HOST:PORT failed: ERROR; ...` |
//! | failures go on | `warn`, at most once per interval | `N further metrics export failures to HOST:PORT in the last M s; last error: ERROR` |
//! | shutdown during an outage | `warn`, once | the same summary for failures not reported yet |
//! | an export succeeds again | `info` | `metrics export to HOST:PORT recovered after N failed exports in M s` |
//!
//! The interval defaults to [`DEFAULT_FAILURE_LOG_INTERVAL`] (60 s) and is set with
//! [`ExporterBuilder::with_export_failure_log_interval`]. Each line carries the
//! `endpoint` (host and port only) as a field; header values, and any user-info or
//! query string in the endpoint URL, are replaced by `<redacted>` in error texts.
//! One export gives up after the OTLP timeout
//! ([`OTEL_EXPORTER_OTLP_TIMEOUT`](env::OTEL_EXPORTER_OTLP_TIMEOUT)) or the export
//! timeout ([`OTEL_METRIC_EXPORT_TIMEOUT`](env::OTEL_METRIC_EXPORT_TIMEOUT)),
//! whichever is shorter, retries included: transient failures (HTTP 429, 502, 503,
//! 504; gRPC `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, `DEADLINE_EXCEEDED` and the other
//! retryable codes) are retried up to 5 attempts with exponential backoff and jitter,
//! a server's `Retry-After` honoured. A collector that accepts connections and never
//! answers delays only the SDK's export thread, never the recording calls. A partial
//! success (data points the collector rejected) is logged at `warn`.
//!
//! The SDK's own internal logs (its `internal-logs` feature, one error line per
//! failed export) are not enabled by this crate.
//!
//! # Security
//!
//! The bridge's own listener caps concurrent connections (64), gives each client
//! 10 s to send a request's headers and closes any connection after 60 s, so silent
//! or stalled clients cannot exhaust it and a client that never reads its answer
//! holds one buffer for a bounded time; concurrent scrapes share one collection and
//! one rendered buffer. Shutdown drops every connection at once, whatever the
//! clients are doing. [`ExporterBuilder::with_prometheus_limits`] changes the limits.
//!
//! The bridge listens on `127.0.0.1` unless told otherwise, because revenue figures
//! are confidential; [`ExporterBuilder::with_bearer_token`] makes `/metrics` answer
//! 401 to requests without `Authorization: Bearer <token>` (compared in constant
//! time). OTLP header values and the token are [`Secret`]s: `Debug` prints
//! `<redacted>`. `https://` OTLP endpoints use TLS with rustls on both transports,
//! trusting the bundled web PKI roots, or only the certificates of
//! [`ExporterBuilder::with_otlp_ca_certificate`] (`OTEL_EXPORTER_OTLP_CERTIFICATE`)
//! for a collector behind a private CA; [`ExporterBuilder::with_otlp_client_certificate`]
//! presents a client certificate (mutual TLS). Certificate and key files are named in
//! errors, their contents never.
//!
//! # Feature flags
//!
//! The defaults build every exporter, so switching backends is a matter of
//! configuration, never of rebuilding. A service that needs fewer turns the
//! defaults off (`default-features = false`) and lists what it uses:
//!
//! | feature | what it adds | default |
//! |---|---|---|
//! | `otlp-http` | OTLP over HTTP (`http/protobuf`, `http/json`): a blocking client on the SDK's export thread | yes |
//! | `otlp-grpc` | OTLP over gRPC (tonic), on the application's Tokio runtime | yes |
//! | `prometheus` | the `/metrics` bridge and [`MetricsGuard::prometheus`] (render, or mount on the service's router) | yes |
//! | `console` | the stdout exporter, for development | yes |
//! | `rustls-ring` | TLS for OTLP with rustls' `ring` provider | yes |
//! | `rustls-aws-lc` | TLS for OTLP with rustls' `aws-lc-rs` provider (FIPS-capable; builds aws-lc's C code); enable one provider | no |
//! | `testing` | the `testing` module: an in-memory pipeline and assertions for a service's unit tests | no |
//!
//! A service that only serves `/metrics` depends on
//! `business-metrics-exporter = { version = "0.1", default-features = false, features = ["prometheus"] }`
//! and compiles neither tonic nor a TLS stack. An exporter named in
//! `OTEL_METRICS_EXPORTER` that the build lacks is ignored with a warning naming the
//! feature; one set in code is an error.
//!
//! # Related crates
//!
//! - `business-metrics`: the instruments and their typed recording API.
//! - `business-metrics-analysis`: funnel and correlation analysis against Prometheus
//!   (the `bizmetrics` CLI).
//! - `shop` (in `examples/shop`): a demo service wiring this crate.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "prometheus")]
mod bridge;
mod builder;
mod config;
mod error;
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
mod export_log;
#[cfg(feature = "prometheus")]
mod exposition;
mod guard;
#[cfg(any(feature = "otlp-http", feature = "otlp-grpc"))]
mod otlp;
mod resource;
mod secret;
#[cfg(feature = "prometheus")]
mod server;
mod views;

#[cfg(feature = "testing")]
pub mod testing;

/// The environment variables read, as constants.
pub mod env {
    pub use crate::config::env::*;
}

#[cfg(feature = "prometheus")]
pub use bridge::{PrometheusHandle, RenderError, METRICS_PATH, TEXT_CONTENT_TYPE};
pub use builder::ExporterBuilder;
pub use config::{
    BridgeConfig, Compression, EnvWarning, ExporterConfig, ExporterKind, OtlpConfig, OtlpProtocol,
    ResourceConfig, Temporality, TlsFiles, DEFAULT_CARDINALITY_LIMIT, DEFAULT_EXPORT_INTERVAL,
    DEFAULT_EXPORT_TIMEOUT, DEFAULT_FAILURE_LOG_INTERVAL, DEFAULT_OTLP_TIMEOUT,
    DEFAULT_PROMETHEUS_HOST, DEFAULT_PROMETHEUS_PORT, DEFAULT_SERVICE_NAME,
    DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use error::{ConfigError, InitError, ShutdownError};
pub use guard::MetricsGuard;
pub use resource::{
    new_instance_id, DEPLOYMENT_ENVIRONMENT, DEPLOYMENT_ENVIRONMENT_NAME, SERVICE_INSTANCE_ID,
    SERVICE_NAME, SERVICE_VERSION,
};
pub use secret::{Headers, Secret};
#[cfg(feature = "prometheus")]
pub use server::{serve, ListenerLimits};

/// A builder reading the process environment; settings made on it win.
pub fn builder() -> ExporterBuilder {
    ExporterBuilder::new()
}

/// Starts the pipeline from the process environment alone (OTLP unless
/// `OTEL_METRICS_EXPORTER` says otherwise).
///
/// # Errors
/// As [`ExporterBuilder::init`].
pub fn init() -> Result<MetricsGuard, InitError> {
    ExporterBuilder::new().init()
}
