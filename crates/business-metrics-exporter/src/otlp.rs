//! The OTLP exporter (gRPC through tonic, or HTTP/protobuf).

use opentelemetry_otlp::{MetricExporter, WithExportConfig, WithHttpConfig, WithTonicConfig};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

use crate::config::{OtlpConfig, OtlpProtocol, Temporality};
use crate::error::InitError;

fn sdk_temporality(t: Temporality) -> opentelemetry_sdk::metrics::Temporality {
    match t {
        Temporality::Cumulative => opentelemetry_sdk::metrics::Temporality::Cumulative,
        Temporality::Delta => opentelemetry_sdk::metrics::Temporality::Delta,
    }
}

fn build_error(reason: impl std::fmt::Display) -> InitError {
    InitError::Exporter {
        exporter: "otlp",
        reason: reason.to_string(),
    }
}

/// Builds the exporter. For gRPC this must run inside a Tokio runtime (the caller
/// checks): the channel's worker is spawned on it.
pub(crate) fn build(config: &OtlpConfig) -> Result<MetricExporter, InitError> {
    let builder = MetricExporter::builder();
    let temporality = sdk_temporality(config.temporality);
    match config.protocol {
        OtlpProtocol::Grpc => {
            let mut metadata = MetadataMap::new();
            for (name, value) in config.headers.iter() {
                // Names and values were validated when configured; never quote a value.
                let key = MetadataKey::from_bytes(name.as_bytes()).map_err(|_| {
                    build_error(format!("header name {name:?} is not valid gRPC metadata"))
                })?;
                let value = MetadataValue::try_from(value.expose()).map_err(|_| {
                    build_error(format!(
                        "the value of header {name:?} is not valid gRPC metadata"
                    ))
                })?;
                metadata.insert(key, value);
            }
            let mut b = builder
                .with_tonic()
                .with_endpoint(config.endpoint.clone())
                .with_timeout(config.timeout)
                .with_metadata(metadata)
                .with_temporality(temporality);
            if config.endpoint.starts_with("https://") {
                b = b
                    .with_tls_config(tonic::transport::ClientTlsConfig::new().with_enabled_roots());
            }
            b.build().map_err(build_error)
        }
        OtlpProtocol::HttpProtobuf => builder
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(config.timeout)
            .with_headers(
                config
                    .headers
                    .iter()
                    .map(|(n, v)| (n.to_owned(), v.expose().to_owned()))
                    .collect(),
            )
            .with_temporality(temporality)
            .build()
            .map_err(build_error),
    }
}
