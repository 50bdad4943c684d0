//! The resolved configuration of a metrics pipeline and its value types.

pub(crate) mod env;
pub(crate) mod parse;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::secret::{Headers, Secret};

/// A destination for metrics; any combination may be active at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExporterKind {
    /// OTLP to a collector or vendor (gRPC or HTTP/protobuf).
    Otlp,
    /// The Prometheus `/metrics` bridge, served over HTTP.
    Prometheus,
    /// Human-readable output on stdout, for development.
    Console,
}

impl ExporterKind {
    /// The name used in `OTEL_METRICS_EXPORTER`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Otlp => "otlp",
            Self::Prometheus => "prometheus",
            Self::Console => "console",
        }
    }
}

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// OTLP over gRPC (tonic); default port 4317.
    Grpc,
    /// OTLP over HTTP with protobuf bodies; default port 4318, path `/v1/metrics`.
    /// The default, as the OpenTelemetry specification recommends.
    #[default]
    HttpProtobuf,
}

impl OtlpProtocol {
    /// The name used in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
        }
    }

    /// The endpoint used when none is configured.
    #[must_use]
    pub const fn default_endpoint(self) -> &'static str {
        match self {
            Self::Grpc => "http://localhost:4317",
            Self::HttpProtobuf => "http://localhost:4318/v1/metrics",
        }
    }
}

/// How sums and histograms accumulate between OTLP exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Temporality {
    /// Totals since start (the default; what Prometheus expects).
    #[default]
    Cumulative,
    /// Changes since the previous export (for backends that prefer deltas).
    Delta,
}

/// OTLP exporter settings.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtlpConfig {
    /// The full endpoint: for gRPC the collector's address, for HTTP the URL
    /// including `/v1/metrics`. `https://` enables TLS with the bundled web PKI roots.
    pub endpoint: String,
    /// The transport.
    pub protocol: OtlpProtocol,
    /// Headers sent with every export (API keys); values are redacted in `Debug`.
    pub headers: Headers,
    /// The timeout of one export.
    pub timeout: Duration,
    /// Cumulative or delta.
    pub temporality: Temporality,
    /// While exports keep failing, at most one summary line per this interval is
    /// logged after the first failure.
    pub failure_log_interval: Duration,
}

impl fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpConfig")
            .field("endpoint", &crate::secret::Url(self.endpoint.clone()))
            .field("protocol", &self.protocol)
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("temporality", &self.temporality)
            .field("failure_log_interval", &self.failure_log_interval)
            .finish()
    }
}

/// Prometheus bridge settings.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BridgeConfig {
    /// The address `/metrics` is served on; loopback by default.
    pub addr: SocketAddr,
    /// If set, `/metrics` requires `Authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
}

impl fmt::Debug for BridgeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeConfig")
            .field("addr", &self.addr)
            .field("bearer_token", &self.bearer_token)
            .finish()
    }
}

/// Default bridge address: loopback only, because revenue figures are confidential.
pub const DEFAULT_PROMETHEUS_HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Default bridge port (the port registered for the OpenTelemetry Prometheus exporter).
pub const DEFAULT_PROMETHEUS_PORT: u16 = 9464;
/// Default export interval of periodic readers (OTLP, console).
pub const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(60);
/// Default timeout of one OTLP export.
pub const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);
/// Default minimum interval between log lines summarising repeated export failures.
pub const DEFAULT_FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Default number of distinct attribute sets per instrument before overflow.
pub const DEFAULT_CARDINALITY_LIMIT: usize = 2000;
/// Default bound on flush plus shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// `service.name` when none is configured, as the OpenTelemetry specification says.
pub const DEFAULT_SERVICE_NAME: &str = "unknown_service";

/// What identifies the process in every export.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceConfig {
    /// `service.name`.
    pub service_name: String,
    /// `service.version`, if known.
    pub service_version: Option<String>,
    /// `service.instance.id`: unique per process.
    pub service_instance_id: String,
    /// `deployment.environment`, if given.
    pub deployment_environment: Option<String>,
    /// Further attributes from `OTEL_RESOURCE_ATTRIBUTES`, in order.
    pub attributes: Vec<(String, String)>,
}

/// The fully resolved configuration: code over signal-specific environment over
/// generic environment over defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExporterConfig {
    /// The active exporters, without duplicates; empty means none (`OTEL_METRICS_EXPORTER=none`).
    pub exporters: Vec<ExporterKind>,
    /// OTLP settings (used when [`ExporterKind::Otlp`] is active).
    pub otlp: OtlpConfig,
    /// Bridge settings (used when [`ExporterKind::Prometheus`] is active).
    pub prometheus: BridgeConfig,
    /// Interval of the periodic readers (OTLP and console).
    pub export_interval: Duration,
    /// The resource.
    pub resource: ResourceConfig,
    /// Distinct attribute sets per instrument before measurements go to the
    /// `otel.metric.overflow="true"` series.
    pub cardinality_limit: usize,
    /// Bound on flush plus shutdown.
    pub shutdown_timeout: Duration,
}

impl ExporterConfig {
    /// Whether an exporter is active.
    #[must_use]
    pub fn has(&self, kind: ExporterKind) -> bool {
        self.exporters.contains(&kind)
    }
}
