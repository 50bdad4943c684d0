//! In-test OTLP receivers (gRPC on tonic, HTTP/protobuf on axum) that keep every
//! request they get, and helpers that read the `opentelemetry-proto` payload.
//!
//! Every server binds 127.0.0.1 on an ephemeral port. Enabled by the `otlp` feature.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, HistogramDataPoint, Metric, NumberDataPoint,
};
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The generated OTLP types, for tests that name them.
pub use opentelemetry_proto;

/// The headers of one request, as (name, value) pairs.
pub type HeaderList = Vec<(String, String)>;

/// A label set: attribute key → value rendered as a string.
pub type Labels = BTreeMap<String, String>;

/// The requests a receiver got, in arrival order, plus a wake-up for waiters.
#[derive(Clone, Debug, Default)]
pub struct Received {
    requests: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    headers: Arc<Mutex<Vec<HeaderList>>>,
    notify: Arc<Notify>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Received {
    fn push(&self, headers: HeaderList, request: ExportMetricsServiceRequest) {
        lock(&self.headers).push(headers);
        lock(&self.requests).push(request);
        self.notify.notify_waiters();
    }

    /// The headers (gRPC metadata) of each request, in arrival order.
    pub fn headers(&self) -> Vec<HeaderList> {
        lock(&self.headers).clone()
    }

    /// Every request so far, in arrival order.
    pub fn all(&self) -> Vec<ExportMetricsServiceRequest> {
        lock(&self.requests).clone()
    }

    /// How many requests arrived so far.
    pub fn len(&self) -> usize {
        lock(&self.requests).len()
    }

    /// Whether no request arrived yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits (woken by each arrival, never sleeping blindly) until `done` holds for
    /// the requests so far, and returns them; fails the test after `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[ExportMetricsServiceRequest]) -> bool,
    ) -> Vec<ExportMetricsServiceRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            let all = self.all();
            if done(&all) {
                return all;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let all = self.all();
                assert!(
                    done(&all),
                    "receiver condition not met within {timeout:?}; got {} requests",
                    all.len()
                );
                return all;
            }
        }
    }
}

struct GrpcSink(Received);

#[tonic::async_trait]
impl MetricsService for GrpcSink {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let headers: HeaderList = request
            .metadata()
            .iter()
            .filter_map(|kv| match kv {
                tonic::metadata::KeyAndValueRef::Ascii(k, v) => {
                    Some((k.to_string(), v.to_str().ok()?.to_owned()))
                }
                tonic::metadata::KeyAndValueRef::Binary(..) => None,
            })
            .collect();
        self.0.push(headers, request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// A running receiver: where to send, and what arrived. Stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    /// The loopback address it listens on.
    pub addr: SocketAddr,
    /// What it received.
    pub received: Received,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn loopback_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the listener's address");
    (listener, addr)
}

/// An OTLP/gRPC receiver on tonic with `opentelemetry-proto`'s generated service.
/// Accepts gzip (collectors compress by default).
pub async fn grpc_receiver() -> Receiver {
    let (listener, addr) = loopback_listener().await;
    let received = Received::default();
    let service = MetricsServiceServer::new(GrpcSink(received.clone()))
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let task = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .expect("the gRPC receiver serves");
    });
    Receiver {
        addr,
        received,
        task,
    }
}

async fn http_export(
    State(received): State<Received>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> (StatusCode, Vec<u8>) {
    match ExportMetricsServiceRequest::decode(body) {
        Ok(request) => {
            let headers = headers
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
                .collect();
            received.push(headers, request);
            let response = ExportMetricsServiceResponse {
                partial_success: None,
            };
            (StatusCode::OK, response.encode_to_vec())
        }
        Err(_) => (StatusCode::BAD_REQUEST, Vec::new()),
    }
}

/// An OTLP/HTTP receiver: `POST /v1/metrics` with a protobuf body, decoded with prost.
pub async fn http_receiver() -> Receiver {
    let (listener, addr) = loopback_listener().await;
    let received = Received::default();
    let app = axum::Router::new()
        .route("/v1/metrics", post(http_export))
        .with_state(received.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .await
            .expect("the HTTP receiver serves");
    });
    Receiver {
        addr,
        received,
        task,
    }
}

// ---- payload helpers ----------------------------------------------------------

/// An attribute value as a string (strings verbatim, other scalars formatted).
pub fn value_string(v: &Option<AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// Attributes as a sorted map.
pub fn attrs(kvs: &[KeyValue]) -> Labels {
    kvs.iter()
        .map(|kv| (kv.key.clone(), value_string(&kv.value)))
        .collect()
}

/// A label set from literal pairs, to compare with [`attrs`].
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// All metrics of the instrumentation scope `scope` in a request, by name.
pub fn scope_metrics(req: &ExportMetricsServiceRequest, scope: &str) -> BTreeMap<String, Metric> {
    req.resource_metrics
        .iter()
        .flat_map(|rm| &rm.scope_metrics)
        .filter(|sm| sm.scope.as_ref().map(|s| s.name.as_str()) == Some(scope))
        .flat_map(|sm| &sm.metrics)
        .map(|m| (m.name.clone(), m.clone()))
        .collect()
}

/// All metrics of the `business-metrics` scope in a request, by name.
pub fn business_metrics(req: &ExportMetricsServiceRequest) -> BTreeMap<String, Metric> {
    scope_metrics(req, business_metrics::SCOPE_NAME)
}

/// A monotonic sum's data points: attributes → integer value.
pub fn int_sum_points(m: &Metric) -> BTreeMap<Labels, i64> {
    let Some(metric::Data::Sum(sum)) = &m.data else {
        panic!("{} is not a sum: {:?}", m.name, m.data)
    };
    assert!(sum.is_monotonic, "{} not monotonic", m.name);
    sum.data_points
        .iter()
        .map(|p| (attrs(&p.attributes), int_value(p)))
        .collect()
}

/// The aggregation temporality of a sum or histogram.
pub fn sum_temporality(m: &Metric) -> i32 {
    match &m.data {
        Some(metric::Data::Sum(s)) => s.aggregation_temporality,
        Some(metric::Data::Histogram(h)) => h.aggregation_temporality,
        other => panic!("{} has no temporality: {other:?}", m.name),
    }
}

/// An integer data point's value.
pub fn int_value(p: &NumberDataPoint) -> i64 {
    match p.value {
        Some(number_data_point::Value::AsInt(i)) => i,
        other => panic!("not an integer point: {other:?}"),
    }
}

/// A gauge's integer data points: attributes → value.
pub fn gauge_points(m: &Metric) -> BTreeMap<Labels, i64> {
    let Some(metric::Data::Gauge(g)) = &m.data else {
        panic!("{} is not a gauge", m.name)
    };
    g.data_points
        .iter()
        .map(|p| (attrs(&p.attributes), int_value(p)))
        .collect()
}

/// A histogram's data points.
pub fn histogram_points(m: &Metric) -> Vec<HistogramDataPoint> {
    let Some(metric::Data::Histogram(h)) = &m.data else {
        panic!("{} is not a histogram", m.name)
    };
    h.data_points.clone()
}

/// The resource attributes of the request's first resource.
pub fn resource_attrs(req: &ExportMetricsServiceRequest) -> Labels {
    let resource = req
        .resource_metrics
        .first()
        .and_then(|rm| rm.resource.as_ref())
        .expect("a request with a resource");
    attrs(&resource.attributes)
}

/// One request per resource, so a collector that merges exports cannot hide one.
pub fn per_resource(requests: &[ExportMetricsServiceRequest]) -> Vec<ExportMetricsServiceRequest> {
    requests
        .iter()
        .flat_map(|r| r.resource_metrics.iter().cloned())
        .map(|rm| ExportMetricsServiceRequest {
            resource_metrics: vec![rm],
        })
        .collect()
}

/// An OTLP/HTTP "collector" that refuses every export with 401, echoing the
/// request's head (with the API key) in its answer. Returns its address and the
/// heads received.
pub async fn echoing_refuser() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i;
                    }
                    match tokio::io::AsyncReadExt::read(&mut stream, &mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                    }
                };
                let head =
                    String::from_utf8_lossy(buf.get(..head_end).unwrap_or_default()).into_owned();
                let length: usize = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.trim().parse().unwrap_or(0));
                while buf.len() < head_end + 4 + length {
                    match tokio::io::AsyncReadExt::read(&mut stream, &mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                    }
                }
                lock(&seen).push(head.clone());
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
                    head.len()
                );
                let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, answer.as_bytes()).await;
                let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            });
        }
    });
    (addr, heads)
}
