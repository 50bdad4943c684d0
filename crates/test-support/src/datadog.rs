//! A fake Datadog intake on a loopback port: what the collector's `datadog`
//! exporter sends, decoded. It answers the API-key check, takes series
//! (`POST /api/v2/series`, protobuf `MetricPayload`) and sketches
//! (`POST /api/beta/sketches`, protobuf `SketchPayload`), compressed with zlib
//! (`deflate`), gzip or not at all, and accepts anything else with 202, noting
//! the path.
//!
//! The messages are the fields of Datadog's agent-payload protobuf schema that a
//! test reads; the decoder skips the others.
//!
//! Enabled by the `datadog` feature.

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use prost::Message as _;
use tokio::sync::Notify;

/// A series payload (`/api/v2/series`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricPayload {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<MetricSeries>,
}

/// One series of a [`MetricPayload`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricSeries {
    /// The host (and device) it belongs to.
    #[prost(message, repeated, tag = "1")]
    pub resources: Vec<Resource>,
    /// The metric name, as Datadog shows it.
    #[prost(string, tag = "2")]
    pub metric: String,
    /// Tags, `key:value`.
    #[prost(string, repeated, tag = "3")]
    pub tags: Vec<String>,
    /// The points.
    #[prost(message, repeated, tag = "4")]
    pub points: Vec<MetricPoint>,
    /// [`COUNT`], `RATE` (2) or [`GAUGE`].
    #[prost(int32, tag = "5")]
    pub r#type: i32,
    /// The interval of a rate or count, in seconds (0 when none).
    #[prost(int64, tag = "8")]
    pub interval: i64,
}

/// The `type` of a count series.
pub const COUNT: i32 = 1;
/// The `type` of a gauge series.
pub const GAUGE: i32 = 3;

/// A resource of a series.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    /// `host`, `device`.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// Its name.
    #[prost(string, tag = "2")]
    pub name: String,
}

/// One point of a series.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricPoint {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Seconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// A sketch payload (`/api/beta/sketches`): distributions.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SketchPayload {
    /// The sketches.
    #[prost(message, repeated, tag = "1")]
    pub sketches: Vec<Sketch>,
}

/// One distribution's sketches.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sketch {
    /// The metric name.
    #[prost(string, tag = "1")]
    pub metric: String,
    /// The host.
    #[prost(string, tag = "2")]
    pub host: String,
    /// Tags, `key:value`.
    #[prost(string, repeated, tag = "4")]
    pub tags: Vec<String>,
    /// One summary per interval.
    #[prost(message, repeated, tag = "7")]
    pub dogsketches: Vec<Dogsketch>,
}

/// The summary of one interval of a distribution.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dogsketch {
    /// Seconds since the epoch.
    #[prost(int64, tag = "1")]
    pub ts: i64,
    /// How many values.
    #[prost(int64, tag = "2")]
    pub cnt: i64,
    /// The smallest.
    #[prost(double, tag = "3")]
    pub min: f64,
    /// The largest.
    #[prost(double, tag = "4")]
    pub max: f64,
    /// Their mean.
    #[prost(double, tag = "5")]
    pub avg: f64,
    /// Their sum.
    #[prost(double, tag = "6")]
    pub sum: f64,
}

/// What the intake received.
#[derive(Clone, Debug, Default)]
pub struct Intake {
    inner: Arc<Mutex<Received>>,
    notify: Arc<Notify>,
}

/// Everything received so far.
#[derive(Clone, Debug, Default)]
pub struct Received {
    /// Every series, in arrival order.
    pub series: Vec<MetricSeries>,
    /// Every sketch, in arrival order.
    pub sketches: Vec<Sketch>,
    /// `METHOD path` of every request.
    pub requests: Vec<String>,
    /// The `DD-API-KEY` header of every request that had one.
    pub api_keys: Vec<String>,
    /// Payloads that could not be read, and why.
    pub errors: Vec<String>,
}

fn lock(m: &Mutex<Received>) -> MutexGuard<'_, Received> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Intake {
    /// A copy of what arrived so far.
    pub fn received(&self) -> Received {
        lock(&self.inner).clone()
    }

    /// Waits (woken by each arrival) until `done` returns `Ok`, and returns what
    /// arrived; fails the test after `timeout` with `done`'s last reason, the
    /// requests and the decoding errors.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&Received) -> Result<(), String>,
    ) -> Received {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            let received = self.received();
            let verdict = done(&received);
            if verdict.is_ok() {
                return received;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let received = self.received();
                if let Err(why) = done(&received) {
                    panic!(
                        "the Datadog intake did not get what was expected within {timeout:?}: \
                         {why}\nrequests: {:?}\nerrors: {:?}",
                        received.requests, received.errors
                    );
                }
                return received;
            }
        }
    }

    fn note(&self, headers: &HeaderMap, request: String) {
        let mut received = lock(&self.inner);
        received.requests.push(request);
        if let Some(key) = headers.get("dd-api-key").and_then(|v| v.to_str().ok()) {
            received.api_keys.push(key.to_owned());
        }
    }

    fn record(&self, f: impl FnOnce(&mut Received)) {
        f(&mut lock(&self.inner));
        self.notify.notify_waiters();
    }
}

/// The body, decompressed as its `Content-Encoding` says.
fn decompress(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, String> {
    let encoding = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_ascii_lowercase();
    let mut out = Vec::new();
    match encoding.as_str() {
        "deflate" => flate2::read::ZlibDecoder::new(body)
            .read_to_end(&mut out)
            .map_err(|e| format!("zlib: {e}"))?,
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip: {e}"))?,
        "identity" => {
            out.extend_from_slice(body);
            out.len()
        }
        other => return Err(format!("unexpected Content-Encoding {other}")),
    };
    Ok(out)
}

async fn series(State(intake): State<Intake>, headers: HeaderMap, body: Bytes) -> StatusCode {
    intake.note(&headers, "POST /api/v2/series".to_owned());
    let decoded = decompress(&headers, &body)
        .and_then(|b| MetricPayload::decode(b.as_slice()).map_err(|e| e.to_string()));
    intake.record(|r| match decoded {
        Ok(payload) => r.series.extend(payload.series),
        Err(e) => r.errors.push(format!("series: {e}")),
    });
    StatusCode::ACCEPTED
}

async fn sketches(State(intake): State<Intake>, headers: HeaderMap, body: Bytes) -> StatusCode {
    intake.note(&headers, "POST /api/beta/sketches".to_owned());
    let decoded = decompress(&headers, &body)
        .and_then(|b| SketchPayload::decode(b.as_slice()).map_err(|e| e.to_string()));
    intake.record(|r| match decoded {
        Ok(payload) => r.sketches.extend(payload.sketches),
        Err(e) => r.errors.push(format!("sketches: {e}")),
    });
    StatusCode::ACCEPTED
}

async fn validate(State(intake): State<Intake>, headers: HeaderMap) -> &'static str {
    intake.note(&headers, "GET /api/v1/validate".to_owned());
    intake.record(|_| ());
    r#"{"valid":true}"#
}

async fn anything(
    State(intake): State<Intake>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
) -> (StatusCode, &'static str) {
    intake.note(&headers, format!("{method} {}", uri.path()));
    intake.record(|_| ());
    (StatusCode::ACCEPTED, "{}")
}

/// A running fake intake: its address and what it received. Stops when dropped.
#[derive(Debug)]
pub struct DatadogIntake {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    /// What it received.
    pub intake: Intake,
    task: tokio::task::JoinHandle<()>,
}

impl DatadogIntake {
    /// Starts the intake on an ephemeral loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the listener's address");
        let intake = Intake::default();
        let app = axum::Router::new()
            .route("/api/v1/validate", get(validate))
            .route("/api/v2/series", post(series))
            .route("/api/beta/sketches", post(sketches))
            .fallback(anything)
            .with_state(intake.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the intake serves");
        });
        Self { addr, intake, task }
    }

    /// Its base URL, for `metrics.endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for DatadogIntake {
    fn drop(&mut self) {
        self.task.abort();
    }
}
