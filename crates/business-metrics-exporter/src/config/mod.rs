//! The resolved configuration of a metrics pipeline and its value types.

pub(crate) mod env;
pub(crate) mod parse;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
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

    /// Whether this build has the exporter (features `otlp-http` or `otlp-grpc`,
    /// `prometheus`, `console`).
    #[must_use]
    pub const fn is_compiled_in(self) -> bool {
        match self {
            Self::Otlp => cfg!(any(feature = "otlp-http", feature = "otlp-grpc")),
            Self::Prometheus => cfg!(feature = "prometheus"),
            Self::Console => cfg!(feature = "console"),
        }
    }

    /// The cargo feature the exporter needs.
    #[must_use]
    pub const fn feature(self) -> &'static str {
        match self {
            Self::Otlp => "otlp-http",
            Self::Prometheus => "prometheus",
            Self::Console => "console",
        }
    }
}

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// OTLP over gRPC (tonic); default port 4317. Feature `otlp-grpc`.
    Grpc,
    /// OTLP over HTTP with protobuf bodies; default port 4318, path `/v1/metrics`.
    /// The default, as the OpenTelemetry specification recommends. Feature `otlp-http`.
    #[default]
    HttpProtobuf,
    /// OTLP over HTTP with JSON bodies (the OTLP JSON mapping); default port 4318,
    /// path `/v1/metrics`. Feature `otlp-http`.
    HttpJson,
}

impl OtlpProtocol {
    /// The name used in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        }
    }

    /// The endpoint used when none is configured.
    #[must_use]
    pub const fn default_endpoint(self) -> &'static str {
        match self {
            Self::Grpc => "http://localhost:4317",
            Self::HttpProtobuf | Self::HttpJson => "http://localhost:4318/v1/metrics",
        }
    }

    /// Whether this build can export with the protocol (features `otlp-grpc`,
    /// `otlp-http`).
    #[must_use]
    pub const fn is_compiled_in(self) -> bool {
        match self {
            Self::Grpc => cfg!(feature = "otlp-grpc"),
            Self::HttpProtobuf | Self::HttpJson => cfg!(feature = "otlp-http"),
        }
    }

    /// The cargo feature the protocol needs.
    #[must_use]
    pub const fn feature(self) -> &'static str {
        match self {
            Self::Grpc => "otlp-grpc",
            Self::HttpProtobuf | Self::HttpJson => "otlp-http",
        }
    }
}

/// Compression of OTLP request bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Bodies are sent as they are (the default, as the specification says).
    #[default]
    None,
    /// gzip: `Content-Encoding: gzip` over HTTP, `grpc-encoding: gzip` over gRPC.
    Gzip,
}

impl Compression {
    /// The name used in `OTEL_EXPORTER_OTLP_COMPRESSION`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
        }
    }
}

/// PEM files for TLS to an OTLP endpoint behind a private certificate authority,
/// or one that requires client certificates (mutual TLS). Only paths are kept: the
/// files are read when the pipeline starts, and their contents never reach a log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsFiles {
    /// Certificates trusted to verify the server, instead of the bundled web PKI
    /// roots (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub ca_certificate: Option<PathBuf>,
    /// The client's certificate chain (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`).
    pub client_certificate: Option<PathBuf>,
    /// The client's private key (`OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
}

/// A value from the environment that was ignored, and what was used instead.
///
/// The OpenTelemetry specification says an unrecognised value must produce a
/// warning and be ignored; the pipeline logs each one once, through `tracing` at
/// `warn` (target `business_metrics_exporter::config`), when it resolves its
/// configuration. With [`ExporterBuilder::with_strict_env`](crate::ExporterBuilder::with_strict_env)
/// such a value is an error instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvWarning {
    /// The variable, e.g. `OTEL_METRIC_EXPORT_INTERVAL`.
    pub variable: &'static str,
    /// What is wrong with the value (quoting it unless it may hold a secret).
    pub problem: String,
    /// What is used instead.
    pub using: String,
}

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "environment variable {} is ignored: {}; using {}",
            self.variable, self.problem, self.using
        )
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
    /// Delta for synchronous counters and histograms, cumulative for up-down
    /// counters and asynchronous instruments: the least memory in the SDK
    /// (`lowmemory` in the specification).
    LowMemory,
}

impl Temporality {
    #[cfg_attr(
        not(any(feature = "otlp-http", feature = "otlp-grpc", feature = "console")),
        allow(dead_code)
    )]
    pub(crate) const fn to_sdk(self) -> opentelemetry_sdk::metrics::Temporality {
        match self {
            Self::Cumulative => opentelemetry_sdk::metrics::Temporality::Cumulative,
            Self::Delta => opentelemetry_sdk::metrics::Temporality::Delta,
            Self::LowMemory => opentelemetry_sdk::metrics::Temporality::LowMemory,
        }
    }
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
    /// Compression of request bodies.
    pub compression: Compression,
    /// Private CA and client certificate files.
    pub tls: TlsFiles,
    /// The timeout of one export request; `None` means no limit.
    pub timeout: Option<Duration>,
    /// Cumulative, delta or low-memory.
    pub temporality: Temporality,
    /// Whether OTLP/HTTP goes through the proxy named by `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (false with
    /// [`without_env`](crate::ExporterBuilder::without_env)).
    pub proxy_from_env: bool,
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
            .field("compression", &self.compression)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .field("temporality", &self.temporality)
            .field("proxy_from_env", &self.proxy_from_env)
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
    /// Whether the bridge runs a listener of its own (default); `false` when the
    /// service mounts [`PrometheusHandle::router`](crate::PrometheusHandle::router)
    /// on its own router instead.
    pub listen: bool,
    /// Connection cap and time limits of the bridge's own listener.
    #[cfg(feature = "prometheus")]
    pub limits: crate::ListenerLimits,
}

impl fmt::Debug for BridgeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BridgeConfig")
            .field("addr", &self.addr)
            .field("bearer_token", &self.bearer_token)
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

/// Default bridge address: loopback only, because revenue figures are confidential.
pub const DEFAULT_PROMETHEUS_HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Default bridge port (the port registered for the OpenTelemetry Prometheus exporter).
pub const DEFAULT_PROMETHEUS_PORT: u16 = 9464;
/// Default export interval of periodic readers (OTLP, console).
pub const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(60);
/// Default bound on one periodic export, retries included.
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default timeout of one OTLP export.
pub const DEFAULT_OTLP_TIMEOUT: Duration = Duration::from_secs(10);
/// Default minimum interval between log lines summarising repeated export failures.
pub const DEFAULT_FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// Default number of distinct attribute sets per instrument before overflow.
pub const DEFAULT_CARDINALITY_LIMIT: usize = 2000;
/// Default bound on flush plus shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// `service.name` when none is configured, followed by `:` and the executable's
/// name when it is known, as the OpenTelemetry specification says.
pub const DEFAULT_SERVICE_NAME: &str = "unknown_service";

/// `unknown_service:<executable name>`, or `unknown_service` if the executable's
/// name is unknown.
pub(crate) fn default_service_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
        .map_or_else(
            || DEFAULT_SERVICE_NAME.to_owned(),
            |exe| format!("{DEFAULT_SERVICE_NAME}:{exe}"),
        )
}

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
    /// Bound on one OTLP export, retries included; `None` means no limit.
    pub export_timeout: Option<Duration>,
    /// The resource.
    pub resource: ResourceConfig,
    /// Distinct attribute sets per instrument before measurements go to the
    /// `otel.metric.overflow="true"` series.
    pub cardinality_limit: usize,
    /// Bound on flush plus shutdown.
    pub shutdown_timeout: Duration,
    /// `OTEL_SDK_DISABLED=true` (or [`with_sdk_disabled`](crate::ExporterBuilder::with_sdk_disabled)):
    /// nothing is installed, nothing served, and every recording is a no-op.
    pub disabled: bool,
    /// Environment values that were ignored (see [`EnvWarning`]).
    pub warnings: Vec<EnvWarning>,
}

impl ExporterConfig {
    /// Whether an exporter is active.
    #[must_use]
    pub fn has(&self, kind: ExporterKind) -> bool {
        self.exporters.contains(&kind)
    }
}
