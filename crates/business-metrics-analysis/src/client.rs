//! A small client for the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The default timeout of one request to Prometheus.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

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
        "cannot reach prometheus at {url} ({reason}); check the url and that prometheus is running"
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
    /// The timestamp in whole milliseconds, the key used to align series.
    #[must_use]
    #[allow(clippy::cast_possible_truncation)] // Prometheus timestamps are ms-precise and far below i64::MAX.
    pub fn timestamp_ms(&self) -> i64 {
        (self.timestamp * 1000.0).round() as i64
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

/// Builds a [`PrometheusClient`].
#[derive(Debug, Clone)]
pub struct PrometheusClientBuilder {
    base_url: String,
    timeout: Duration,
}

impl PrometheusClientBuilder {
    /// Sets the timeout of each request (default [`DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] when the base URL does not parse or is not http(s).
    pub fn build(self) -> Result<PrometheusClient, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: self.base_url.clone(),
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
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        Ok(PrometheusClient {
            http,
            base,
            timeout: self.timeout,
        })
    }
}

/// An asynchronous client of the Prometheus HTTP API.
///
/// It needs a Tokio runtime to run in; the library never starts one.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    http: reqwest::Client,
    base: reqwest::Url,
    timeout: Duration,
}

impl PrometheusClient {
    /// Starts building a client for the server at `base_url` (e.g. `http://localhost:9090`;
    /// a path prefix such as `http://host/prometheus` is kept).
    #[must_use]
    pub fn builder(base_url: impl Into<String>) -> PrometheusClientBuilder {
        PrometheusClientBuilder {
            base_url: base_url.into(),
            timeout: DEFAULT_TIMEOUT,
        }
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
        let response = self
            .http
            .post(url.clone())
            .form(form)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let body = response.text().await.map_err(transport)?;
        let envelope: Result<RawEnvelope, _> = serde_json::from_str(&body);
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
                body: body.chars().take(200).collect(),
            }),
        }
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
