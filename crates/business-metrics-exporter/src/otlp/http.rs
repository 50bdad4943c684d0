//! OTLP/HTTP (`http/protobuf`, `http/json`) on a blocking client, run on the SDK's
//! export thread.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::Temporality;
use prost::Message as _;

use super::encode::OtlpEncoder;
use super::retry::{gave_up, Attempt, Schedule};
use super::tls::LoadedTls;
use super::{build_error, failed, USER_AGENT};
use crate::config::{Compression, OtlpConfig, OtlpProtocol};
use crate::error::InitError;
use crate::secret::Secret;

/// The most of a response body read (an error text or a partial-success message).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;
/// The most of an error response's body quoted in an error.
const MAX_QUOTED_CHARS: usize = 200;

pub(crate) struct HttpExporter {
    agent: ureq::Agent,
    endpoint: String,
    headers: Vec<(String, Secret)>,
    json: bool,
    gzip: bool,
    timeout: Option<Duration>,
    export_timeout: Option<Duration>,
    pub(super) temporality: Temporality,
    shut_down: AtomicBool,
    /// The encoder and the bodies, kept from one export to the next (exports run
    /// one at a time on the SDK's export thread).
    bodies: Mutex<Bodies>,
}

/// The buffers of the request bodies.
#[derive(Debug, Default)]
struct Bodies {
    encoder: OtlpEncoder,
    /// The encoded request.
    raw: Vec<u8>,
    /// The encoded request, gzipped.
    gzipped: Vec<u8>,
}

impl std::fmt::Debug for HttpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpExporter")
            .field("endpoint", &crate::secret::Url(self.endpoint.clone()))
            .field("json", &self.json)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

/// The rustls crypto provider: the one this build chose, else the process default.
fn crypto_provider() -> Option<Arc<rustls::crypto::CryptoProvider>> {
    #[cfg(feature = "rustls-ring")]
    {
        Some(Arc::new(rustls::crypto::ring::default_provider()))
    }
    #[cfg(all(feature = "rustls-aws-lc", not(feature = "rustls-ring")))]
    {
        Some(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
    }
    #[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc")))]
    {
        rustls::crypto::CryptoProvider::get_default().cloned()
    }
}

fn tls_config(tls: &LoadedTls, https: bool) -> Result<ureq::tls::TlsConfig, InitError> {
    use ureq::tls::{parse_pem, Certificate, ClientCert, PemItem, RootCerts, TlsConfig};

    let mut b = TlsConfig::builder();
    match crypto_provider() {
        Some(p) => b = b.unversioned_rustls_crypto_provider(p),
        None if https => {
            return Err(build_error(
                "an https:// endpoint needs a TLS crypto provider: enable the cargo feature \
                 rustls-ring or rustls-aws-lc of business-metrics-exporter, or install a \
                 rustls default provider",
            ))
        }
        None => {}
    }
    if let Some(ca) = &tls.ca_pem {
        let certs: Vec<Certificate<'static>> = parse_pem(ca)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        b = b.root_certs(RootCerts::new_with_certs(&certs));
    } else {
        b = b.root_certs(RootCerts::WebPki);
    }
    if let Some((chain, key)) = &tls.identity {
        let chain: Vec<Certificate<'static>> = parse_pem(chain)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        let key = parse_pem(key)
            .find_map(|item| match item {
                Ok(PemItem::PrivateKey(k)) => Some(k),
                _ => None,
            })
            .ok_or_else(|| build_error("the client key file holds no usable private key"))?;
        b = b.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(b.build())
}

impl HttpExporter {
    pub(super) fn new(
        config: &OtlpConfig,
        export_timeout: Option<Duration>,
        tls: &LoadedTls,
    ) -> Result<Self, InitError> {
        let https = config.endpoint.starts_with("https://");
        let proxy = if config.proxy_from_env {
            ureq::Proxy::try_from_env()
        } else {
            None
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(USER_AGENT)
            .proxy(proxy)
            .tls_config(tls_config(tls, https)?)
            .build()
            .new_agent();
        Ok(Self {
            agent,
            endpoint: config.endpoint.clone(),
            headers: config
                .headers
                .iter()
                .map(|(n, v)| (n.to_owned(), v.clone()))
                .collect(),
            json: config.protocol == OtlpProtocol::HttpJson,
            gzip: config.compression == Compression::Gzip,
            timeout: config.timeout,
            export_timeout,
            temporality: config.temporality.to_sdk(),
            shut_down: AtomicBool::new(false),
            bodies: Mutex::new(Bodies::default()),
        })
    }

    pub(super) fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Release);
    }

    /// Encodes `metrics` into `bodies` and returns the body to send.
    fn body<'a>(
        &self,
        metrics: &ResourceMetrics,
        bodies: &'a mut Bodies,
    ) -> Result<&'a [u8], OTelSdkError> {
        let Bodies {
            encoder,
            raw,
            gzipped,
        } = bodies;
        raw.clear();
        if self.json {
            // The JSON mapping of the protocol, through opentelemetry-proto's serde.
            let request = ExportMetricsServiceRequest::from(metrics);
            serde_json::to_writer(&mut *raw, &request)
                .map_err(|e| failed(format!("the metrics could not be encoded as JSON: {e}")))?;
        } else {
            encoder
                .encode(metrics, raw)
                .map_err(|e| failed(format!("the metrics could not be encoded: {e}")))?;
        }
        if !self.gzip {
            return Ok(raw);
        }
        gzipped.clear();
        let mut gz = flate2::write::GzEncoder::new(gzipped, flate2::Compression::default());
        gz.write_all(raw)
            .and_then(|()| gz.finish())
            .map(|gzipped| gzipped.as_slice())
            .map_err(|e| failed(format!("the metrics could not be compressed: {e}")))
    }

    pub(super) fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // A panic while encoding left nothing that the next encoding does not reset.
        let mut bodies = self.bodies.lock().unwrap_or_else(PoisonError::into_inner);
        let body = self.body(metrics, &mut bodies)?;
        let mut schedule = Schedule::new(super::budget(self.timeout, self.export_timeout));
        let mut last = String::from("the export deadline passed before the first attempt");
        while let Ok(timeout) = schedule.attempt_timeout() {
            match self.attempt(body, timeout) {
                Attempt::Done => return Ok(()),
                Attempt::Permanent(e) => return Err(failed(gave_up(schedule.attempts(), &e))),
                Attempt::Transient { error, retry_after } => {
                    last = error;
                    match schedule.backoff(retry_after) {
                        Some(wait) => std::thread::sleep(wait),
                        None => break,
                    }
                }
            }
        }
        Err(failed(gave_up(schedule.attempts(), &last)))
    }

    fn attempt(&self, body: &[u8], timeout: Option<Duration>) -> Attempt {
        let mut req = self
            .agent
            .post(&self.endpoint)
            .config()
            .timeout_global(timeout)
            .build()
            .header(
                "content-type",
                if self.json {
                    "application/json"
                } else {
                    "application/x-protobuf"
                },
            );
        if self.gzip {
            req = req.header("content-encoding", "gzip");
        }
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.expose());
        }
        let mut response = match req.send(body) {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Transient {
                    error: format!("the request failed: {e}"),
                    retry_after: None,
                }
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .unwrap_or_default();
        if status.is_success() {
            if !self.json {
                if let Ok(r) = ExportMetricsServiceResponse::decode(bytes.as_slice()) {
                    super::log_partial_success(r.partial_success.as_ref());
                }
            }
            return Attempt::Done;
        }
        let text: String = String::from_utf8_lossy(&bytes)
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_QUOTED_CHARS)
            .collect();
        let error = if text.trim().is_empty() {
            format!("the collector answered HTTP {status}")
        } else {
            format!("the collector answered HTTP {status}: {}", text.trim())
        };
        // The specification's retryable statuses.
        match status.as_u16() {
            429 | 502 | 503 | 504 => Attempt::Transient { error, retry_after },
            _ => Attempt::Permanent(error),
        }
    }
}
