//! The errors of configuration, start-up and shutdown.

use std::net::SocketAddr;
use std::time::Duration;

/// A configuration value, from the environment or from code, that cannot be used.
///
/// Messages name the variable or setting and say what is wrong with the value; they
/// never repeat a secret (an OTLP header value, a bearer token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable holds a value that cannot be parsed.
    #[error("environment variable {name} is invalid: {value_problem}")]
    InvalidEnv {
        /// The variable, e.g. `OTEL_EXPORTER_OTLP_TIMEOUT`.
        name: &'static str,
        /// What is wrong with its value and what is expected instead.
        value_problem: String,
    },
    /// A setting made in code (or the combination of settings) is invalid.
    #[error("invalid exporter setting {name}: {reason}")]
    InvalidConfig {
        /// The setting, e.g. `cardinality_limit`.
        name: &'static str,
        /// What is wrong and what to do instead.
        reason: String,
    },
}

/// Why the metrics pipeline could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `init` was called outside a Tokio runtime, but the Prometheus bridge or the
    /// OTLP gRPC exporter needs one.
    #[error(
        "no tokio runtime is running: call init from inside a tokio runtime \
         (e.g. in an async fn under #[tokio::main]) when the prometheus bridge or otlp grpc is enabled"
    )]
    NoTokioRuntime,
    /// An exporter could not be built.
    #[error("the {exporter} exporter could not be built: {reason}; check its endpoint and protocol settings")]
    Exporter {
        /// Which exporter (`otlp`, `prometheus`, `console`).
        exporter: &'static str,
        /// The underlying error, as text.
        reason: String,
    },
    /// A TLS file (CA certificate, client certificate or key) could not be used.
    /// The message names the file; its contents never appear.
    #[error("the OTLP {what} file {path:?} cannot be used: {reason}")]
    TlsFile {
        /// `CA certificate`, `client certificate` or `client key`.
        what: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The Prometheus bridge could not listen on its address.
    #[error(
        "the prometheus bridge could not listen on {addr}: {source}; \
         choose a free port with OTEL_EXPORTER_PROMETHEUS_PORT or with_prometheus_addr"
    )]
    BridgeBind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Why shutting the pipeline down did not complete cleanly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShutdownError {
    /// Flushing or shutting down the SDK failed (an exporter error, for example).
    #[error("the meter provider did not shut down cleanly: {reason}; the last values may not have been delivered")]
    Provider {
        /// The SDK's error, as text.
        reason: String,
    },
    /// Flushing and shutting down did not finish within the shutdown timeout.
    #[error(
        "the meter provider did not shut down within {timeout:?}; the backend may be unreachable \
         or slow, raise the timeout with with_shutdown_timeout if it is only slow"
    )]
    TimedOut {
        /// The timeout that elapsed.
        timeout: Duration,
    },
}
