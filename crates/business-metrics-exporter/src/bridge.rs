//! The Prometheus bridge: an OpenTelemetry reader collected on each scrape and written
//! as Prometheus text, served at `/metrics` by a small axum server on the
//! application's Tokio runtime.

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::BridgeConfig;
use crate::error::InitError;
use crate::exposition::Exposition;
use crate::secret::Secret;

/// The path the bridge serves.
pub const METRICS_PATH: &str = "/metrics";

/// The content type of the Prometheus text format served at `/metrics`.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct BridgeState {
    reader: BridgeReader,
    bearer_token: Option<Secret>,
    /// The size of the last exposition, so the next one is written into a buffer
    /// of about the right size instead of growing through a dozen copies.
    last_len: AtomicUsize,
}

/// The largest buffer reserved ahead of an exposition (it still grows past this).
const MAX_RESERVED_BODY: usize = 64 << 20;

/// The running server: its bound address and its task.
#[derive(Debug)]
pub(crate) struct BridgeServer {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl BridgeServer {
    /// Stops accepting connections and ends the task.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The server may already have ended; nothing to do then.
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

impl Drop for BridgeServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The reader the meter provider is given and the server collects on each scrape:
/// the SDK's manual reader with cumulative temporality, as Prometheus expects.
/// Clones share the reader and the scrape buffers.
#[derive(Clone, Debug)]
pub(crate) struct BridgeReader {
    shared: Arc<SharedReader>,
}

/// What the clones of a [`BridgeReader`] share.
#[derive(Debug)]
struct SharedReader {
    reader: ManualReader,
    /// One scrape at a time: the collected metrics and the text writer, both reused.
    scrape: Mutex<Scrape>,
    /// How many expositions the server has rendered.
    rendered: AtomicU64,
}

/// The state of the scrapes, kept from one to the next.
#[derive(Debug, Default)]
struct Scrape {
    metrics: ResourceMetrics,
    exposition: Exposition,
    /// The last exposition served and its number, shared by scrapes that arrived
    /// while it was being rendered.
    last: Option<(u64, Served)>,
    /// Every exposition handed to a response, to count those still held by one.
    handed_out: Vec<Weak<()>>,
}

/// At most this many distinct expositions are held by responses still being sent;
/// past it, scrapes get the last one again instead of a new rendering, so clients
/// that never read cannot multiply memory (they hold it at most the connection
/// lifetime).
const MAX_HELD_EXPOSITIONS: usize = 2;

/// An exposition and the token that shows which responses still hold it.
#[derive(Clone, Debug)]
pub(crate) struct Served {
    pub(crate) bytes: Bytes,
    generation: Arc<()>,
}

impl Served {
    /// The response body: the same bytes (not a copy), owned together with the
    /// generation, so the generation counts as held for as long as the server
    /// keeps any of the body, queued for writing included.
    fn into_body(self) -> axum::body::Body {
        axum::body::Body::from(Bytes::from_owner(HeldBytes {
            bytes: self.bytes,
            _generation: self.generation,
        }))
    }
}

/// An exposition's bytes and its generation, dropped together.
struct HeldBytes {
    bytes: Bytes,
    _generation: Arc<()>,
}

impl AsRef<[u8]> for HeldBytes {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl BridgeReader {
    /// A reader not yet given to a meter provider.
    pub(crate) fn new() -> Self {
        Self {
            shared: Arc::new(SharedReader {
                reader: ManualReader::builder()
                    .with_temporality(Temporality::Cumulative)
                    .build(),
                scrape: Mutex::new(Scrape::default()),
                rendered: AtomicU64::new(0),
            }),
        }
    }

    /// Collects every instrument now and appends the Prometheus text to `out`.
    ///
    /// # Errors
    /// The SDK's error when the provider is shut down (or the reader was never
    /// given to one).
    pub(crate) fn render(&self, out: &mut Vec<u8>) -> OTelSdkResult {
        // A panic while a scrape held the lock leaves nothing to repair: every
        // scrape collects and writes afresh.
        let mut scrape = self
            .shared
            .scrape
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Scrape {
            metrics,
            exposition,
            ..
        } = &mut *scrape;
        self.shared.reader.collect(metrics)?;
        exposition.encode(metrics, out);
        Ok(())
    }
}

impl BridgeReader {
    /// The exposition for a scrape that arrived when `arrived` expositions had been
    /// rendered: one rendered after it arrived if there is one (a concurrent scrape
    /// rendered it meanwhile), else a new one. Concurrent scrapers thus share one
    /// collection and one buffer, however slowly each of them reads. While
    /// [`MAX_HELD_EXPOSITIONS`] expositions are still held by responses being sent
    /// (clients that do not read), the last one is served again instead: memory
    /// stays within a few expositions whatever the clients do.
    ///
    /// # Errors
    /// As [`render`](Self::render).
    pub(crate) fn render_shared(
        &self,
        arrived: u64,
        reserve: usize,
    ) -> Result<Served, OTelSdkError> {
        let mut scrape = self
            .shared
            .scrape
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Scrape {
            metrics,
            exposition,
            last,
            handed_out,
        } = &mut *scrape;
        if let Some((n, served)) = last.as_ref() {
            // Held by responses: the last one beyond the cache's own reference.
            handed_out.retain(|g| g.strong_count() > 0);
            let held = handed_out
                .iter()
                .filter(|g| {
                    let extra = usize::from(g.ptr_eq(&Arc::downgrade(&served.generation)));
                    g.strong_count() > extra
                })
                .count();
            if *n > arrived || held >= MAX_HELD_EXPOSITIONS {
                return Ok(served.clone());
            }
        }
        self.shared.reader.collect(metrics)?;
        let mut out = Vec::with_capacity(reserve);
        exposition.encode(metrics, &mut out);
        let served = Served {
            bytes: Bytes::from(out),
            generation: Arc::new(()),
        };
        handed_out.push(Arc::downgrade(&served.generation));
        let n = self.shared.rendered.fetch_add(1, Ordering::AcqRel) + 1;
        *last = Some((n, served.clone()));
        Ok(served)
    }

    /// How many expositions the server has rendered so far.
    pub(crate) fn rendered(&self) -> u64 {
        self.shared.rendered.load(Ordering::Acquire)
    }
}

impl MetricReader for BridgeReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.shared.reader.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.shared.reader.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.reader.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shared.reader.shutdown_with_timeout(timeout)
    }

    /// Always cumulative: Prometheus reads running totals.
    fn temporality(&self, _kind: InstrumentKind) -> Temporality {
        Temporality::Cumulative
    }
}

/// Binds the listener now (so a busy port is an error from `init`) and spawns the
/// server on `runtime`.
pub(crate) fn serve(
    config: &BridgeConfig,
    reader: BridgeReader,
    runtime: &Handle,
) -> Result<BridgeServer, InitError> {
    let bind_error = |source| InitError::BridgeBind {
        addr: config.addr,
        source,
    };
    let std_listener = StdTcpListener::bind(config.addr).map_err(bind_error)?;
    std_listener.set_nonblocking(true).map_err(bind_error)?;
    let addr = std_listener.local_addr().map_err(bind_error)?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(std_listener).map_err(bind_error)?
    };
    let app = router(reader, config.bearer_token.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let limits = config.limits;
    let task = runtime.spawn(crate::server::serve_until(listener, app, limits, stopped));
    Ok(BridgeServer {
        addr,
        stop: Some(stop),
        task,
    })
}

/// The Prometheus exposition of a running pipeline, for a service that serves
/// `/metrics` itself: render it, or mount [`router`](Self::router) on the service's
/// own axum router. Cheap to clone.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use business_metrics_exporter::ExporterKind;
///
/// let guard = business_metrics_exporter::builder()
///     .with_exporters([ExporterKind::Prometheus])
///     .with_prometheus_listener(false) // no listener of its own
///     .with_bearer_token("a-long-random-token")
///     .init()?;
/// let metrics = guard.prometheus().ok_or("the prometheus exporter is off")?;
/// let app = axum::Router::new()
///     .route("/healthz", axum::routing::get(|| async { "ok" }))
///     .merge(metrics.router()); // GET /metrics, 401 without the token
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PrometheusHandle {
    reader: BridgeReader,
    bearer_token: Option<Secret>,
}

impl std::fmt::Debug for PrometheusHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusHandle")
            .field("bearer_token", &self.bearer_token)
            .finish_non_exhaustive()
    }
}

impl PrometheusHandle {
    pub(crate) const fn new(reader: BridgeReader, bearer_token: Option<Secret>) -> Self {
        Self {
            reader,
            bearer_token,
        }
    }

    /// Collects every instrument now and appends the exposition (Prometheus text
    /// format 0.0.4, [`TEXT_CONTENT_TYPE`]) to `out`.
    ///
    /// # Errors
    /// [`RenderError`] once the pipeline is shut down.
    pub fn render_into(&self, out: &mut Vec<u8>) -> Result<(), RenderError> {
        self.reader.render(out).map_err(|e| RenderError {
            reason: e.to_string(),
        })
    }

    /// The exposition as text, collected now.
    ///
    /// # Errors
    /// [`RenderError`] once the pipeline is shut down.
    pub fn render(&self) -> Result<String, RenderError> {
        let mut out = Vec::new();
        self.render_into(&mut out)?;
        String::from_utf8(out).map_err(|_| RenderError {
            reason: "the exposition is not UTF-8".into(),
        })
    }

    /// An axum router serving `GET /metrics` ([`METRICS_PATH`]), requiring the
    /// pipeline's bearer token if one is configured
    /// ([`with_bearer_token`](crate::ExporterBuilder::with_bearer_token)); merge it
    /// into the service's router, or nest it under another path.
    pub fn router(&self) -> Router {
        router(self.reader.clone(), self.bearer_token.clone())
    }

    /// Like [`router`](Self::router), requiring `token` instead of the pipeline's.
    pub fn router_with_bearer_token(&self, token: impl Into<String>) -> Router {
        router(self.reader.clone(), Some(Secret::new(token)))
    }
}

/// The exposition could not be rendered (the pipeline is shut down).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the metrics could not be collected: {reason}")]
pub struct RenderError {
    reason: String,
}

fn router(reader: BridgeReader, bearer_token: Option<Secret>) -> Router {
    Router::new()
        .route(METRICS_PATH, get(metrics))
        .with_state(Arc::new(BridgeState {
            reader,
            bearer_token,
            last_len: AtomicUsize::new(0),
        }))
}

fn authorized(token: Option<&Secret>, headers: &HeaderMap) -> bool {
    let Some(token) = token else {
        return true;
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => {
            token.matches(value.get(7..).unwrap_or_default())
        }
        _ => false,
    }
}

async fn metrics(State(state): State<Arc<BridgeState>>, headers: HeaderMap) -> Response {
    if !authorized(state.bearer_token.as_ref(), &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            "a bearer token is required\n",
        )
            .into_response();
    }
    let arrived = state.reader.rendered();
    let last = state.last_len.load(Ordering::Relaxed);
    let reserve = last.saturating_add(last / 8).min(MAX_RESERVED_BODY);
    match state.reader.render_shared(arrived, reserve) {
        Ok(served) => {
            state.last_len.store(served.bytes.len(), Ordering::Relaxed);
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(TEXT_CONTENT_TYPE),
                )],
                served.into_body(),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be collected\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(a));
        }
        h
    }

    #[test]
    fn without_a_token_every_request_is_authorized() {
        assert!(authorized(None, &headers(None)));
    }

    #[test]
    fn with_a_token_only_the_exact_bearer_value_is_authorized() {
        let t = Secret::new("s3cret");
        assert!(authorized(Some(&t), &headers(Some("Bearer s3cret"))));
        assert!(authorized(Some(&t), &headers(Some("bearer s3cret"))));
        assert!(!authorized(Some(&t), &headers(None)));
        assert!(!authorized(Some(&t), &headers(Some("Bearer s3cre"))));
        assert!(!authorized(Some(&t), &headers(Some("Bearer s3cret "))));
        assert!(!authorized(Some(&t), &headers(Some("Basic s3cret"))));
        assert!(!authorized(Some(&t), &headers(Some("s3cret"))));
    }
}

#[cfg(test)]
mod shared_render_tests {
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::SdkMeterProvider;

    #[test]
    fn scrapes_that_arrive_during_a_rendering_share_it() {
        let reader = BridgeReader::new();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        provider.meter("t").u64_counter("c").build().add(1, &[]);
        // Two scrapes arrive before any rendering: the first renders, the second
        // takes the same buffer.
        let arrived = reader.rendered();
        let a = reader.render_shared(arrived, 0).unwrap().bytes;
        let b = reader.render_shared(arrived, 0).unwrap().bytes;
        assert_eq!(a.as_ptr(), b.as_ptr());
        assert_eq!(reader.rendered(), 1);
        // A scrape arriving after that rendering gets a new one.
        let c = reader.render_shared(reader.rendered(), 0).unwrap().bytes;
        assert_ne!(a.as_ptr(), c.as_ptr());
        assert_eq!(reader.rendered(), 2);
        assert_eq!(a, c, "nothing changed in between");
    }

    #[test]
    fn clients_that_never_read_hold_at_most_two_expositions() {
        let reader = BridgeReader::new();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        provider.meter("t").u64_counter("c").build().add(1, &[]);
        // Two scrapes in turn whose responses are never sent: both held.
        let first = reader.render_shared(reader.rendered(), 0).unwrap();
        let second = reader.render_shared(reader.rendered(), 0).unwrap();
        assert_ne!(first.bytes.as_ptr(), second.bytes.as_ptr());
        // A hundred more: all get the second again, nothing new is rendered.
        let held: Vec<Served> = (0..100)
            .map(|_| reader.render_shared(reader.rendered(), 0).unwrap())
            .collect();
        assert!(held
            .iter()
            .all(|s| s.bytes.as_ptr() == second.bytes.as_ptr()));
        assert_eq!(reader.rendered(), 2);
        // Once the first is sent (dropped), a new scrape renders afresh.
        drop(first);
        let fresh = reader.render_shared(reader.rendered(), 0).unwrap();
        assert_eq!(reader.rendered(), 3);
        assert_ne!(fresh.bytes.as_ptr(), second.bytes.as_ptr());
    }
}
