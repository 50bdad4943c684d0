//! The OTLP exporters: this crate's own HTTP and gRPC clients, so that what goes on
//! the wire is exactly the resolved [`OtlpConfig`] (no library underneath reads the
//! environment), with gzip, a private CA and client certificates on both
//! transports, retries of transient failures, and a bound on each export.
//!
//! Protobuf bodies (`http/protobuf` and `grpc`) are written straight from the
//! collection by [`encode`], the bytes prost would write for opentelemetry-proto's
//! request; `http/json` goes through opentelemetry-proto's serde mapping.

mod encode;
#[cfg(feature = "otlp-grpc")]
mod grpc;
#[cfg(feature = "otlp-http")]
mod http;
mod protobuf;
mod retry;
mod tls;

#[cfg(feature = "testing")]
pub use encode::{EncodeError, OtlpEncoder};

use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use tokio::runtime::Handle;

use crate::config::{OtlpConfig, OtlpProtocol};
use crate::error::InitError;

/// The `user-agent` of every export.
pub(crate) const USER_AGENT: &str =
    concat!("business-metrics-exporter/", env!("CARGO_PKG_VERSION"));

/// An OTLP exporter on the configured transport.
#[derive(Debug)]
pub(crate) enum OtlpExporter {
    #[cfg(feature = "otlp-http")]
    Http(http::HttpExporter),
    #[cfg(feature = "otlp-grpc")]
    Grpc(grpc::GrpcExporter),
}

/// Builds the exporter. `runtime` is the application's Tokio runtime (gRPC runs on
/// it; HTTP does not need it). `export_timeout` bounds one export, retries included.
pub(crate) fn build(
    config: &OtlpConfig,
    export_timeout: Option<Duration>,
    runtime: Option<&Handle>,
) -> Result<OtlpExporter, InitError> {
    let tls = tls::load(&config.tls)?;
    let _ = (&tls, export_timeout, runtime);
    match config.protocol {
        #[cfg(feature = "otlp-http")]
        OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => Ok(OtlpExporter::Http(
            http::HttpExporter::new(config, export_timeout, &tls)?,
        )),
        #[cfg(feature = "otlp-grpc")]
        OtlpProtocol::Grpc => {
            let runtime = runtime.ok_or(InitError::NoTokioRuntime)?;
            Ok(OtlpExporter::Grpc(grpc::GrpcExporter::new(
                config,
                export_timeout,
                &tls,
                runtime,
            )?))
        }
        #[allow(unreachable_patterns)]
        other => Err(build_error(format!(
            "this build has no {} transport; enable the cargo feature {:?} of business-metrics-exporter",
            other.as_str(),
            other.feature()
        ))),
    }
}

impl PushMetricExporter for OtlpExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        match self {
            #[cfg(feature = "otlp-http")]
            Self::Http(e) => e.export(metrics),
            #[cfg(feature = "otlp-grpc")]
            Self::Grpc(e) => e.export(metrics).await,
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        match self {
            #[cfg(feature = "otlp-http")]
            Self::Http(e) => e.shutdown(),
            #[cfg(feature = "otlp-grpc")]
            Self::Grpc(e) => e.shutdown(),
        }
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        match self {
            #[cfg(feature = "otlp-http")]
            Self::Http(e) => e.temporality,
            #[cfg(feature = "otlp-grpc")]
            Self::Grpc(e) => e.temporality,
        }
    }
}

/// The bound on one export, retries included: the OTLP timeout ("the maximum
/// time the exporter waits for each batch export") and the reader's export timeout,
/// whichever is shorter; `None` when neither limits it.
pub(crate) fn budget(
    otlp_timeout: Option<Duration>,
    export_timeout: Option<Duration>,
) -> Option<Duration> {
    match (otlp_timeout, export_timeout) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// An OTLP client that cannot be built from the configuration.
pub(crate) fn build_error(reason: impl Into<String>) -> InitError {
    InitError::Exporter {
        exporter: "otlp",
        reason: reason.into(),
    }
}

/// The error of an export that did not succeed (the text passes through the
/// export log's redactor before it is logged).
pub(crate) fn failed(reason: impl Into<String>) -> OTelSdkError {
    OTelSdkError::InternalFailure(reason.into())
}

/// Logs a partial success (data points the collector rejected), once per export.
fn log_partial_success(
    partial: Option<
        &opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsPartialSuccess,
    >,
) {
    if let Some(p) = partial {
        if p.rejected_data_points > 0 || !p.error_message.is_empty() {
            tracing::warn!(
                rejected_data_points = p.rejected_data_points,
                "the collector rejected {} data points: {}",
                p.rejected_data_points,
                p.error_message.chars().take(200).collect::<String>()
            );
        }
    }
}
