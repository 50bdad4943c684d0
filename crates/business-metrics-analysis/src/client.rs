//! A small client for the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`)
//! of Prometheus and the stores that speak it (Thanos, Mimir, Cortex, hosted ones):
//! credentials, extra headers, a tenant, a private CA.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use serde::{Deserialize, Serialize};

use crate::auth::{redact_url_text, Credentials};
use crate::matcher::LabelMatcher;

/// The header Thanos, Mimir, Cortex and Loki read the tenant from.
pub const TENANT_HEADER: &str = "X-Scope-OrgID";

/// The most redirects followed, all on the base URL's scheme, host and port.
const MAX_REDIRECTS: usize = 5;

/// The default timeout of one request to Prometheus.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default largest answer read from Prometheus: 16 MiB, some 200 000 samples.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// The latest sample time accepted: 9999-12-31T23:59:59Z, in Unix seconds.
const LATEST_TIMESTAMP: f64 = 253_402_300_799.0;

/// Why a request to Prometheus failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The base URL could not be used.
    #[error(
        "invalid prometheus url `{url}`: {reason}; give a base url such as http://localhost:9090"
    )]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made (refused, unknown host, TLS failure).
    #[error(
        "cannot reach prometheus at {url} ({reason}); check the url, that prometheus is \
         running and, for https, that its certificate is signed by a trusted CA (give a \
         private CA's certificate as the CA certificate)"
    )]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The innermost transport error, e.g. `Connection refused (os error 111)`.
        reason: String,
    },
    /// Prometheus did not answer within the timeout.
    #[error("prometheus at {url} did not answer within {timeout:?}; raise the timeout or narrow the query")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// Prometheus answered with an error (bad PromQL, execution error, timeout inside the server).
    #[error("prometheus rejected the query `{query}` ({error_type}, http {status}): {message}")]
    Prometheus {
        /// The PromQL sent.
        query: String,
        /// Prometheus' `errorType` (`bad_data`, `execution`, `timeout`, ...).
        error_type: String,
        /// Prometheus' `error` text.
        message: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The server answered with a status and a body that is not a Prometheus API answer.
    #[error("unexpected http {status} from {url}: {body}; check that the url points at the prometheus server itself")]
    HttpStatus {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The server refused the credentials, or asked for some (HTTP 401 or 403). The
    /// message never quotes them.
    #[error(
        "prometheus at {url} refused the credentials (http {status}); give the right bearer \
         token or basic auth, and the tenant if the store has several"
    )]
    Unauthorized {
        /// The URL requested.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// The server redirected to another scheme, host or port (or too often); the
    /// redirect is not followed, so credentials and headers never go to another host.
    #[error(
        "prometheus at {url} redirects to {location}, which is not followed (another host, \
         or more than {MAX_REDIRECTS} redirects); give the final url if you trust it"
    )]
    Redirected {
        /// The URL requested.
        url: String,
        /// The `Location` answered, user info redacted.
        location: String,
    },
    /// Credentials could not be used (the message never quotes them).
    #[error("invalid credentials: {reason}")]
    InvalidCredentials {
        /// What is wrong with them.
        reason: String,
    },
    /// An extra header could not be used (its value is never quoted: it may be secret).
    #[error("invalid header `{name}`: {reason}; write it as `Name: value`")]
    InvalidHeader {
        /// The header's name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The private CA's certificate could not be read.
    #[error("invalid ca certificate: {reason}; give the CA's certificate in PEM")]
    InvalidCaCertificate {
        /// What is wrong with it.
        reason: String,
    },
    /// TLS could not be set up.
    #[error("cannot set up tls: {reason}")]
    Tls {
        /// What failed.
        reason: String,
    },
    /// The answer is larger than the limit
    /// ([`PrometheusClientBuilder::with_max_response_bytes`]); reading stopped there.
    #[error(
        "the answer of {url} is larger than {limit} bytes, the limit, so it was not read \
         to its end; narrow the query (a shorter range, a longer step, fewer series) or \
         raise the limit (--max-response-size)"
    )]
    ResponseTooLarge {
        /// The URL requested.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A successful answer could not be decoded.
    #[error("cannot decode the answer of {url}: {reason}; check that the url points at a prometheus server")]
    InvalidResponse {
        /// The URL requested.
        url: String,
        /// What could not be decoded.
        reason: String,
    },
}

/// One sample: a Unix timestamp in seconds and a value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the Unix epoch (Prometheus' resolution is milliseconds).
    pub timestamp: f64,
    /// The value; Prometheus can return NaN and ±Inf, which analyses drop.
    pub value: f64,
}

impl Sample {
    /// The timestamp in whole milliseconds, the key used to align series. The client
    /// accepts only timestamps from 1970 to 9999; others (in a hand-built sample) are
    /// held to ±2^53 ms.
    #[must_use]
    pub fn timestamp_ms(&self) -> i64 {
        crate::reading::clamped_i64(self.timestamp * 1000.0)
    }
}

/// A labelled series with one sample, from an instant query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstantSeries {
    /// The series' labels (`__name__` included when Prometheus returns it).
    pub labels: BTreeMap<String, String>,
    /// Its value at the query time.
    pub sample: Sample,
}

/// A labelled series with its samples, from a range query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeSeries {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// Samples in time order.
    pub samples: Vec<Sample>,
}

/// Formats labels the way PromQL writes a selector: `{a="1", b="2"}`.
#[must_use]
pub fn format_labels(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Builds a [`PrometheusClient`]: where Prometheus is, how long to wait, how to
/// authenticate, which extra headers and tenant to send, which CA to trust, and which
/// label matchers every analysis adds to its selectors.
#[derive(Clone)]
pub struct PrometheusClientBuilder {
    base_url: String,
    timeout: Duration,
    credentials: Option<Credentials>,
    headers: HeaderMap,
    ca_pem: Option<Vec<u8>>,
    matchers: Vec<LabelMatcher>,
    max_response_bytes: u64,
}

impl fmt::Debug for PrometheusClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusClientBuilder")
            .field("base_url", &redact_url_text(&self.base_url))
            .field("timeout", &self.timeout)
            .field("credentials", &self.credentials)
            // Every value is marked sensitive: Debug shows `Sensitive`.
            .field("headers", &self.headers)
            .field("ca_pem_bytes", &self.ca_pem.as_ref().map(Vec::len))
            .field("matchers", &self.matchers)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl PrometheusClientBuilder {
    /// Sets the timeout of each request (default [`DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reads at most `bytes` of each answer (default [`DEFAULT_MAX_RESPONSE_BYTES`]):
    /// a larger one is refused with [`ClientError::ResponseTooLarge`] as soon as its
    /// announced length or the bytes read pass the limit, so a misbehaving server
    /// cannot make the client hold more than that.
    #[must_use]
    pub fn with_max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Sends `credentials` with every request (replacing any given before). User info
    /// in the base URL (`https://user:password@host`) is read as basic auth.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sends `name: value` with every request, e.g. a hosted store's API key header.
    /// Its value never shows in `Debug` output or messages.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidHeader`] when the name or value is not valid in HTTP.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidHeader {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        let header = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| invalid("not a header name"))?;
        let mut value = HeaderValue::from_str(value.trim())
            .map_err(|_| invalid("its value has a character not allowed in a header"))?;
        value.set_sensitive(true);
        self.headers.append(header, value);
        Ok(self)
    }

    /// Sends `X-Scope-OrgID: <tenant>` ([`TENANT_HEADER`]) with every request: the
    /// tenant of a multi-tenant store (Mimir, Cortex, Thanos receive).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidHeader`] when the tenant is not valid in a header.
    pub fn with_tenant(self, tenant: &str) -> Result<Self, ClientError> {
        self.with_header(TENANT_HEADER, tenant)
    }

    /// Trusts only the CA certificates in `pem` (one or more `BEGIN CERTIFICATE`
    /// blocks) instead of the platform's, for a store behind a private CA. Needs the
    /// `rustls` feature; it is read by [`PrometheusClientBuilder::build`].
    #[must_use]
    pub fn with_ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Adds `matcher` to every selector of the PromQL the analyses build (funnels,
    /// funnel order, revenue), so series of other services with the same names are
    /// left out. PromQL given by the caller ([`crate::CorrelationRequest`]) is sent as
    /// written.
    #[must_use]
    pub fn with_matcher(mut self, matcher: LabelMatcher) -> Self {
        self.matchers.push(matcher);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] when the base URL does not parse or is not http(s),
    /// [`ClientError::InvalidCredentials`] when credentials come both from the URL and
    /// from [`PrometheusClientBuilder::with_credentials`] or an `Authorization` header,
    /// [`ClientError::InvalidCaCertificate`] or [`ClientError::Tls`] when TLS cannot
    /// be set up.
    pub fn build(self) -> Result<PrometheusClient, ClientError> {
        let shown_url = redact_url_text(&self.base_url);
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: shown_url.clone(),
            reason,
        };
        let mut base = reqwest::Url::parse(&self.base_url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "scheme `{}` is not http or https",
                base.scheme()
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut credentials = self.credentials;
        if !base.username().is_empty() || base.password().is_some() {
            if credentials.is_some() {
                return Err(ClientError::InvalidCredentials {
                    reason: "given both in the url and apart from it; give them once".to_owned(),
                });
            }
            credentials = Some(Credentials::basic(
                percent_decode(base.username()),
                percent_decode(base.password().unwrap_or("")),
            ));
            // The URL is shown in messages: it keeps no credentials.
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        if credentials.is_some() && self.headers.contains_key(AUTHORIZATION) {
            return Err(ClientError::InvalidCredentials {
                reason: "given both as credentials and as an Authorization header; give \
                         them once"
                    .to_owned(),
            });
        }
        let origin = base.origin();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.url().origin() == origin && attempt.previous().len() <= MAX_REDIRECTS {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(redirects)
            .default_headers(self.headers);
        #[cfg(feature = "rustls")]
        let http =
            http.tls_backend_preconfigured(crate::tls::client_config(self.ca_pem.as_deref())?);
        #[cfg(not(feature = "rustls"))]
        if self.ca_pem.is_some() {
            return Err(ClientError::Tls {
                reason: "this build has no tls; enable the `rustls` feature".to_owned(),
            });
        }
        let http = http.build().map_err(|e| ClientError::Tls {
            reason: root_cause(&e),
        })?;
        Ok(PrometheusClient {
            http,
            base,
            timeout: self.timeout,
            credentials,
            matchers: self.matchers,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

/// `%XX` sequences decoded (user info in a URL is percent-encoded).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An asynchronous client of the Prometheus HTTP API.
///
/// It needs a Tokio runtime to run in; the library never starts one.
///
/// Its `Debug` output shows no credentials or header values.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    http: reqwest::Client,
    base: reqwest::Url,
    timeout: Duration,
    credentials: Option<Credentials>,
    matchers: Vec<LabelMatcher>,
    max_response_bytes: u64,
}

impl PrometheusClient {
    /// Starts building a client for the server at `base_url` (e.g. `http://localhost:9090`;
    /// a path prefix such as `http://host/prometheus` is kept).
    #[must_use]
    pub fn builder(base_url: impl Into<String>) -> PrometheusClientBuilder {
        PrometheusClientBuilder {
            base_url: base_url.into(),
            timeout: DEFAULT_TIMEOUT,
            credentials: None,
            headers: HeaderMap::new(),
            ca_pem: None,
            matchers: Vec::new(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The label matchers the analyses add to every selector they build
    /// ([`PrometheusClientBuilder::with_matcher`]).
    #[must_use]
    pub fn matchers(&self) -> &[LabelMatcher] {
        &self.matchers
    }

    /// Runs an instant query at `time` (the server's "now" when `None`). A scalar
    /// result comes back as one series without labels.
    ///
    /// # Errors
    ///
    /// [`ClientError`] says whether the server was unreachable, slow, or what it answered.
    pub async fn query(
        &self,
        promql: &str,
        time: Option<SystemTime>,
    ) -> Result<Vec<InstantSeries>, ClientError> {
        let mut form = vec![("query", promql.to_owned())];
        if let Some(time) = time {
            form.push(("time", format_time(time)));
        }
        let data = self.post("api/v1/query", promql, &form).await?;
        let url = self.url_text("api/v1/query");
        match data.result_type.as_str() {
            "vector" => {
                let raw: Vec<RawInstant> = decode(&url, data.result)?;
                raw.into_iter()
                    .map(|r| {
                        Ok(InstantSeries {
                            labels: r.metric,
                            sample: r.value.into_sample(&url)?,
                        })
                    })
                    .collect()
            }
            "scalar" => {
                let raw: RawPoint = decode(&url, data.result)?;
                Ok(vec![InstantSeries {
                    labels: BTreeMap::new(),
                    sample: raw.into_sample(&url)?,
                }])
            }
            other => Err(ClientError::InvalidResponse {
                url,
                reason: format!("result type `{other}` is not a vector or scalar"),
            }),
        }
    }

    /// Runs a range query from `start` to `end` every `step`.
    ///
    /// # Errors
    ///
    /// [`ClientError`] says whether the server was unreachable, slow, or what it answered.
    pub async fn query_range(
        &self,
        promql: &str,
        start: SystemTime,
        end: SystemTime,
        step: Duration,
    ) -> Result<Vec<RangeSeries>, ClientError> {
        let form = vec![
            ("query", promql.to_owned()),
            ("start", format_time(start)),
            ("end", format_time(end)),
            ("step", format!("{}", step.as_secs_f64())),
        ];
        let data = self.post("api/v1/query_range", promql, &form).await?;
        let url = self.url_text("api/v1/query_range");
        if data.result_type != "matrix" {
            return Err(ClientError::InvalidResponse {
                url,
                reason: format!("result type `{}` is not a matrix", data.result_type),
            });
        }
        let raw: Vec<RawRange> = decode(&url, data.result)?;
        raw.into_iter()
            .map(|r| {
                let samples = r
                    .values
                    .into_iter()
                    .map(|p| p.into_sample(&url))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(RangeSeries {
                    labels: r.metric,
                    samples,
                })
            })
            .collect()
    }

    fn url_text(&self, path: &str) -> String {
        self.base
            .join(path)
            .map_or_else(|_| self.base.to_string(), |u| u.to_string())
    }

    async fn post(
        &self,
        path: &str,
        promql: &str,
        form: &[(&str, String)],
    ) -> Result<RawData, ClientError> {
        let url = self.base.join(path).map_err(|e| ClientError::InvalidUrl {
            url: self.base.to_string(),
            reason: e.to_string(),
        })?;
        let url_text = url.to_string();
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                ClientError::Timeout {
                    url: url_text.clone(),
                    timeout: self.timeout,
                }
            } else {
                ClientError::Unreachable {
                    url: url_text.clone(),
                    reason: root_cause(&e),
                }
            }
        };
        let request = self.http.post(url.clone()).form(form);
        let request = match &self.credentials {
            Some(Credentials::Bearer(token)) => request.bearer_auth(token.expose()),
            Some(Credentials::Basic { username, password }) => {
                request.basic_auth(username, Some(password.expose()))
            }
            None => request,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Err(ClientError::Unauthorized {
                url: url_text,
                status: status.as_u16(),
            });
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map_or_else(|| "nowhere".to_owned(), redact_url_text);
            return Err(ClientError::Redirected {
                url: url_text,
                location,
            });
        }
        let body = self
            .read_body(response, &url_text)
            .await
            .map_err(|e| e.unwrap_or_else(transport))?;
        let envelope: Result<RawEnvelope, _> = serde_json::from_slice(&body);
        match envelope {
            Ok(env) if env.status == "success" => env.data.ok_or(ClientError::InvalidResponse {
                url: url_text,
                reason: "success without `data`".to_owned(),
            }),
            Ok(env) => Err(ClientError::Prometheus {
                query: promql.to_owned(),
                error_type: env.error_type.unwrap_or_else(|| "unknown".to_owned()),
                message: env.error.unwrap_or_else(|| "no message".to_owned()),
                status: status.as_u16(),
            }),
            Err(e) if status.is_success() => Err(ClientError::InvalidResponse {
                url: url_text,
                reason: e.to_string(),
            }),
            Err(_) => Err(ClientError::HttpStatus {
                url: url_text,
                status: status.as_u16(),
                body: String::from_utf8_lossy(body.get(..200).unwrap_or(&body)).into_owned(),
            }),
        }
    }

    /// The body, read chunk by chunk up to the limit: `Err(Ok(..))` past it (or when
    /// the announced length is past it), `Err(Err(..))` with the transport error.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        url: &str,
    ) -> Result<Vec<u8>, Result<ClientError, reqwest::Error>> {
        let too_large = || {
            Ok(ClientError::ResponseTooLarge {
                url: url.to_owned(),
                limit: self.max_response_bytes,
            })
        };
        let announced = response.content_length().unwrap_or(0);
        if announced > self.max_response_bytes {
            return Err(too_large());
        }
        let limit = usize::try_from(self.max_response_bytes).unwrap_or(usize::MAX);
        let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(Err)? {
            if chunk.len() > limit.saturating_sub(body.len()) {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The innermost error of a chain: the one that says what actually happened.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn format_time(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    format!("{secs:.3}")
}

fn decode<T: serde::de::DeserializeOwned>(
    url: &str,
    value: serde_json::Value,
) -> Result<T, ClientError> {
    serde_json::from_value(value).map_err(|e| ClientError::InvalidResponse {
        url: url.to_owned(),
        reason: e.to_string(),
    })
}

#[derive(Deserialize)]
struct RawEnvelope {
    status: String,
    data: Option<RawData>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct RawData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct RawInstant {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: RawPoint,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    values: Vec<RawPoint>,
}

/// `[<unix seconds>, "<value>"]`.
#[derive(Deserialize)]
struct RawPoint(f64, String);

impl RawPoint {
    fn into_sample(self, url: &str) -> Result<Sample, ClientError> {
        // Prometheus spells special values "NaN", "+Inf", "-Inf"; Rust parses all three.
        let value = self
            .1
            .parse::<f64>()
            .map_err(|e| ClientError::InvalidResponse {
                url: url.to_owned(),
                reason: format!("sample value `{}`: {e}", self.1),
            })?;
        if !(0.0..=LATEST_TIMESTAMP).contains(&self.0) {
            return Err(ClientError::InvalidResponse {
                url: url.to_owned(),
                reason: format!(
                    "sample timestamp `{}` is no time from 1970 to 9999 in Unix seconds",
                    crate::reading::shown(self.0)
                ),
            });
        }
        Ok(Sample {
            timestamp: self.0,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_http_urls_are_rejected() {
        assert!(matches!(
            PrometheusClient::builder("ftp://example").build(),
            Err(ClientError::InvalidUrl { .. })
        ));
        assert!(matches!(
            PrometheusClient::builder("not a url").build(),
            Err(ClientError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn path_prefixes_are_kept() {
        let client = PrometheusClient::builder("http://host:9090/prom").build();
        let url = client
            .map(|c| c.url_text("api/v1/query"))
            .unwrap_or_default();
        assert_eq!(url, "http://host:9090/prom/api/v1/query");
    }

    #[test]
    fn special_values_parse() {
        let p = RawPoint(1.0, "+Inf".to_owned()).into_sample("u");
        assert!(p.is_ok_and(|s| s.value.is_infinite()));
    }
}
