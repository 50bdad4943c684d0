//! OTLP/gRPC on tonic, running on the application's Tokio runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::Temporality;
use prost::bytes::{BufMut as _, Bytes};
use prost::Message as _;
use tokio::runtime::Handle;
use tonic::client::Grpc;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, GrpcMethod, Request, Status};

use super::encode::OtlpEncoder;
use super::retry::{gave_up, Attempt, Schedule};
use super::tls::LoadedTls;
use super::{build_error, failed, USER_AGENT};
use crate::config::{Compression, OtlpConfig};
use crate::error::InitError;

/// The most of a status message quoted in an error.
const MAX_QUOTED_CHARS: usize = 200;

/// The metrics service.
const SERVICE: &str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
/// Its export method.
const METHOD: &str = "Export";
/// The path of the export method.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

pub(crate) struct GrpcExporter {
    client: Grpc<Channel>,
    /// The encoder, its buffers kept between exports, and the last request's size.
    encoder: Mutex<(OtlpEncoder, usize)>,
    metadata: Arc<MetadataMap>,
    runtime: Handle,
    timeout: Option<Duration>,
    export_timeout: Option<Duration>,
    pub(super) temporality: Temporality,
    shut_down: AtomicBool,
}

impl std::fmt::Debug for GrpcExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcExporter").finish_non_exhaustive()
    }
}

impl GrpcExporter {
    pub(super) fn new(
        config: &OtlpConfig,
        export_timeout: Option<Duration>,
        tls: &LoadedTls,
        runtime: &Handle,
    ) -> Result<Self, InitError> {
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
        let mut endpoint = Endpoint::from_shared(config.endpoint.clone())
            .map_err(|_| build_error("the endpoint is not a valid URI"))?
            .user_agent(USER_AGENT)
            .map_err(|_| build_error("the user agent is not a valid header value"))?;
        if let Some(t) = config.timeout {
            endpoint = endpoint.timeout(t).connect_timeout(t);
        }
        if config.endpoint.starts_with("https://") || tls.ca_pem.is_some() || tls.identity.is_some()
        {
            let mut tls_config = ClientTlsConfig::new();
            tls_config = match &tls.ca_pem {
                Some(ca) => tls_config.ca_certificate(tonic::transport::Certificate::from_pem(ca)),
                None => tls_config.with_webpki_roots(),
            };
            if let Some((chain, key)) = &tls.identity {
                tls_config = tls_config.identity(tonic::transport::Identity::from_pem(chain, key));
            }
            endpoint = endpoint
                .tls_config(tls_config)
                .map_err(|_| build_error("the TLS configuration was refused"))?;
        }
        let channel = {
            let _entered = runtime.enter();
            endpoint.connect_lazy()
        };
        let mut client = Grpc::new(channel);
        if config.compression == Compression::Gzip {
            client = client
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        Ok(Self {
            client,
            encoder: Mutex::new((OtlpEncoder::default(), 0)),
            metadata: Arc::new(metadata),
            runtime: runtime.clone(),
            timeout: config.timeout,
            export_timeout,
            temporality: config.temporality.to_sdk(),
            shut_down: AtomicBool::new(false),
        })
    }

    pub(super) fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Release);
    }

    pub(super) async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let request = self.encode(metrics)?;
        let client = self.client.clone();
        let metadata = Arc::clone(&self.metadata);
        let (timeout, export_timeout) = (self.timeout, self.export_timeout);
        // The channel, its timers and the backoff run on the application's runtime;
        // the SDK's export thread only waits for the result.
        let task = self.runtime.spawn(async move {
            let mut schedule = Schedule::new(super::budget(timeout, export_timeout));
            let mut last = String::from("the export deadline passed before the first attempt");
            while let Ok(t) = schedule.attempt_timeout() {
                match attempt(client.clone(), request.clone(), &metadata, t).await {
                    Attempt::Done => return Ok(()),
                    Attempt::Permanent(e) => return Err(gave_up(schedule.attempts(), &e)),
                    Attempt::Transient { error, retry_after } => {
                        last = error;
                        match schedule.backoff(retry_after) {
                            Some(wait) => tokio::time::sleep(wait).await,
                            None => break,
                        }
                    }
                }
            }
            Err(gave_up(schedule.attempts(), &last))
        });
        match task.await {
            Ok(result) => result.map_err(failed),
            Err(e) => Err(failed(format!("the export task did not finish: {e}"))),
        }
    }

    /// The request body of `metrics`, in a buffer of the last one's size.
    fn encode(&self, metrics: &ResourceMetrics) -> Result<Bytes, OTelSdkError> {
        // A panic while encoding left nothing that the next encoding does not reset.
        let mut encoder = self.encoder.lock().unwrap_or_else(PoisonError::into_inner);
        let (encoder, last_len) = &mut *encoder;
        let mut body = Vec::with_capacity(*last_len);
        encoder
            .encode(metrics, &mut body)
            .map_err(|e| failed(format!("the metrics could not be encoded: {e}")))?;
        *last_len = body.len();
        Ok(Bytes::from(body))
    }
}

/// One call of the export method with an encoded request.
async fn export(
    client: &mut Grpc<Channel>,
    request: Request<Bytes>,
) -> Result<tonic::Response<ExportMetricsServiceResponse>, Status> {
    client
        .ready()
        .await
        .map_err(|e| Status::unknown(format!("the channel is not ready: {e}")))?;
    let mut request = request;
    request
        .extensions_mut()
        .insert(GrpcMethod::new(SERVICE, METHOD));
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(EXPORT_PATH);
    client.unary(request, path, Encoded).await
}

/// The codec of the export method: the request as encoded by [`OtlpEncoder`], the
/// response read with prost.
#[derive(Clone, Copy, Debug, Default)]
struct Encoded;

impl Codec for Encoded {
    type Encode = Bytes;
    type Decode = ExportMetricsServiceResponse;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        Self
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self
    }
}

impl Encoder for Encoded {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Encoded {
    type Item = ExportMetricsServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        ExportMetricsServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("the response could not be decoded: {e}")))
    }
}

async fn attempt(
    mut client: Grpc<Channel>,
    request: Bytes,
    metadata: &MetadataMap,
    timeout: Option<Duration>,
) -> Attempt {
    let mut req = Request::new(request);
    *req.metadata_mut() = metadata.clone();
    let call = async {
        if let Some(t) = timeout {
            req.set_timeout(t);
            match tokio::time::timeout(t, export(&mut client, req)).await {
                Ok(r) => r,
                Err(_) => Err(tonic::Status::deadline_exceeded(format!(
                    "no answer within {} ms",
                    t.as_millis()
                ))),
            }
        } else {
            export(&mut client, req).await
        }
    };
    match call.await {
        Ok(response) => {
            super::log_partial_success(response.into_inner().partial_success.as_ref());
            Attempt::Done
        }
        Err(status) => {
            let message: String = status
                .message()
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_QUOTED_CHARS)
                .collect();
            let error = if message.is_empty() {
                format!("gRPC status {:?}", status.code())
            } else {
                format!("gRPC status {:?}: {message}", status.code())
            };
            // The specification's retryable codes.
            match status.code() {
                Code::Cancelled
                | Code::DeadlineExceeded
                | Code::ResourceExhausted
                | Code::Aborted
                | Code::OutOfRange
                | Code::Unavailable
                | Code::DataLoss => Attempt::Transient {
                    error,
                    retry_after: None,
                },
                _ => Attempt::Permanent(error),
            }
        }
    }
}
