//! Reusable test support: in-test OTLP receivers (gRPC and HTTP/protobuf), a known
//! workload, payload helpers, a minimal HTTP client, and real-server process helpers.
//!
//! Every server binds 127.0.0.1 on an ephemeral port.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use business_metrics::{
    BusinessMetrics, CheckoutStep, DeviceType, FunnelContext, FunnelStep, Revenue,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, HistogramDataPoint, Metric, NumberDataPoint,
};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The headers of one request, as (name, value) pairs.
pub type HeaderList = Vec<(String, String)>;

/// The requests a receiver got, in arrival order, plus a wake-up for waiters.
#[derive(Clone, Default)]
pub struct Received {
    requests: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    headers: Arc<Mutex<Vec<HeaderList>>>,
    notify: Arc<Notify>,
}

impl Received {
    fn push(&self, r: ExportMetricsServiceRequest) {
        self.requests.lock().unwrap().push(r);
        self.notify.notify_waiters();
    }

    /// The headers (gRPC metadata) of each request, in arrival order.
    pub fn headers(&self) -> Vec<HeaderList> {
        self.headers.lock().unwrap().clone()
    }

    pub fn all(&self) -> Vec<ExportMetricsServiceRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits (without sleeping blindly: woken by each arrival) until `done` holds for
    /// the requests so far, or panics after `timeout`.
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
        let headers: Vec<(String, String)> = request
            .metadata()
            .iter()
            .filter_map(|kv| match kv {
                tonic::metadata::KeyAndValueRef::Ascii(k, v) => {
                    Some((k.to_string(), v.to_str().ok()?.to_owned()))
                }
                tonic::metadata::KeyAndValueRef::Binary(..) => None,
            })
            .collect();
        self.0.headers.lock().unwrap().push(headers);
        self.0.push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// A running receiver: where to send, and what arrived.
pub struct Receiver {
    pub addr: SocketAddr,
    pub received: Received,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An OTLP/gRPC receiver on tonic with `opentelemetry-proto`'s generated service.
pub async fn grpc_receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    // Collectors compress (rotel sends gzip by default).
    let service = MetricsServiceServer::new(GrpcSink(received.clone()))
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
    let task = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .unwrap();
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
        Ok(req) => {
            let hs = headers
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
                .collect();
            received.headers.lock().unwrap().push(hs);
            received.push(req);
            (
                StatusCode::OK,
                ExportMetricsServiceResponse {
                    partial_success: None,
                }
                .encode_to_vec(),
            )
        }
        Err(_) => (StatusCode::BAD_REQUEST, Vec::new()),
    }
}

/// An OTLP/HTTP receiver: `POST /v1/metrics` with a protobuf body, decoded with prost.
pub async fn http_receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    let app = axum::Router::new()
        .route("/v1/metrics", post(http_export))
        .with_state(received.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Receiver {
        addr,
        received,
        task,
    }
}

// ---- the known workload -------------------------------------------------------

pub const SOURCE: &str = "google_ads";
pub const VARIANT: &str = "one_page";
pub const ORDER_AMOUNTS: [u64; 2] = [4_999, 12_000];
pub const REVENUE_TOTAL: u64 = 16_999;
pub const TIME_TO_CONVERSION_SECS: f64 = 45.0;

/// Two cart views, a purchase conversion 45 s in, two sales (49.99 and 120.00 USD).
pub fn record_workload(metrics: &BusinessMetrics) {
    let ctx = FunnelContext::new(SOURCE, DeviceType::Mobile).with_experiment_variant(VARIANT);
    for _ in 0..2 {
        metrics
            .record_funnel_step(FunnelStep::Checkout(CheckoutStep::CartView), &ctx)
            .unwrap();
    }
    metrics
        .record_conversion("purchase", &ctx, TIME_TO_CONVERSION_SECS)
        .unwrap();
    for amount in ORDER_AMOUNTS {
        metrics
            .record_revenue(&Revenue::new(amount, "electronics", "card", "us_west"))
            .unwrap();
    }
}

// ---- payload helpers ----------------------------------------------------------

pub fn value_string(v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

pub fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), value_string(&kv.value)))
        .collect()
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// All metrics of the `business-metrics` scope in a request, by name.
pub fn business_metrics(req: &ExportMetricsServiceRequest) -> BTreeMap<String, Metric> {
    let mut out = BTreeMap::new();
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            if sm.scope.as_ref().map(|s| s.name.as_str()) == Some(business_metrics::SCOPE_NAME) {
                for m in &sm.metrics {
                    out.insert(m.name.clone(), m.clone());
                }
            }
        }
    }
    out
}

/// The sum's data points: attributes → integer value.
pub fn int_sum_points(m: &Metric) -> BTreeMap<BTreeMap<String, String>, i64> {
    let Some(metric::Data::Sum(sum)) = &m.data else {
        panic!("{} is not a sum: {:?}", m.name, m.data)
    };
    assert!(sum.is_monotonic, "{} not monotonic", m.name);
    sum.data_points
        .iter()
        .map(|p| (attrs(&p.attributes), int_value(p)))
        .collect()
}

pub fn sum_temporality(m: &Metric) -> i32 {
    match &m.data {
        Some(metric::Data::Sum(s)) => s.aggregation_temporality,
        Some(metric::Data::Histogram(h)) => h.aggregation_temporality,
        other => panic!("{other:?}"),
    }
}

pub fn int_value(p: &NumberDataPoint) -> i64 {
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    match p.value {
        Some(Value::AsInt(i)) => i,
        other => panic!("not an integer point: {other:?}"),
    }
}

pub fn gauge_points(m: &Metric) -> BTreeMap<BTreeMap<String, String>, i64> {
    let Some(metric::Data::Gauge(g)) = &m.data else {
        panic!("{} is not a gauge", m.name)
    };
    g.data_points
        .iter()
        .map(|p| (attrs(&p.attributes), int_value(p)))
        .collect()
}

pub fn histogram_points(m: &Metric) -> Vec<HistogramDataPoint> {
    let Some(metric::Data::Histogram(h)) = &m.data else {
        panic!("{} is not a histogram", m.name)
    };
    h.data_points.clone()
}

pub fn resource_attrs(req: &ExportMetricsServiceRequest) -> BTreeMap<String, String> {
    attrs(
        &req.resource_metrics[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes,
    )
}

/// Whether a request carries the whole workload (cumulative revenue at its total).
pub fn has_workload(req: &ExportMetricsServiceRequest) -> bool {
    business_metrics(req)
        .get("business.revenue_cents")
        .is_some_and(|m| int_sum_points(m).values().sum::<i64>() == REVENUE_TOTAL as i64)
}

/// Asserts the exact payload of the workload in one request (cumulative temporality).
pub fn assert_workload_payload(
    req: &ExportMetricsServiceRequest,
    service_name: &str,
    instance_id: &str,
) {
    let resource = resource_attrs(req);
    assert_eq!(
        resource.get("service.name").map(String::as_str),
        Some(service_name)
    );
    assert_eq!(
        resource.get("service.instance.id").map(String::as_str),
        Some(instance_id)
    );
    assert_eq!(req.resource_metrics.len(), 1);
    let scopes: Vec<_> = req.resource_metrics[0]
        .scope_metrics
        .iter()
        .map(|s| s.scope.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(scopes, [business_metrics::SCOPE_NAME]);

    let m = business_metrics(req);
    let names: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "business.conversions",
            "business.funnel_step",
            "business.order_value_cents",
            "business.revenue_cents",
            "business.revenue_per_minute_cents",
            "business.time_to_conversion",
        ]
    );
    let unit = |n: &str| m[n].unit.clone();
    assert_eq!(unit("business.funnel_step"), "{step}");
    assert_eq!(unit("business.conversions"), "{conversion}");
    assert_eq!(unit("business.time_to_conversion"), "s");
    assert_eq!(unit("business.revenue_cents"), "{cent}");
    assert_eq!(unit("business.order_value_cents"), "{cent}");
    assert_eq!(unit("business.revenue_per_minute_cents"), "{cent}");

    let cumulative =
        opentelemetry_proto::tonic::metrics::v1::AggregationTemporality::Cumulative as i32;
    for n in [
        "business.funnel_step",
        "business.revenue_cents",
        "business.order_value_cents",
    ] {
        assert_eq!(sum_temporality(&m[n]), cumulative, "{n}");
    }

    let funnel = int_sum_points(&m["business.funnel_step"]);
    assert_eq!(
        funnel,
        BTreeMap::from([(
            labels(&[
                ("device_type", "mobile"),
                ("experiment_variant", VARIANT),
                ("source", SOURCE),
                ("step", "cart_view")
            ]),
            2
        )])
    );
    assert_eq!(
        int_sum_points(&m["business.conversions"]),
        BTreeMap::from([(
            labels(&[
                ("conversion_type", "purchase"),
                ("device_type", "mobile"),
                ("source", SOURCE)
            ]),
            1
        )])
    );
    assert_eq!(
        int_sum_points(&m["business.revenue_cents"]),
        BTreeMap::from([(
            labels(&[
                ("currency", "USD"),
                ("payment_method", "card"),
                ("product_category", "electronics"),
                ("region", "us_west")
            ]),
            REVENUE_TOTAL as i64
        )])
    );
    assert_eq!(
        gauge_points(&m["business.revenue_per_minute_cents"]),
        BTreeMap::from([(labels(&[("region", "us_west")]), REVENUE_TOTAL as i64)])
    );

    let ttc = histogram_points(&m["business.time_to_conversion"]);
    assert_eq!(ttc.len(), 1);
    assert_eq!(
        attrs(&ttc[0].attributes),
        labels(&[("conversion_type", "purchase")])
    );
    assert_eq!(ttc[0].count, 1);
    assert_eq!(ttc[0].sum, Some(TIME_TO_CONVERSION_SECS));
    assert_eq!(
        ttc[0].explicit_bounds,
        business_metrics::catalog::TIME_TO_CONVERSION_BUCKETS
    );
    assert_eq!(ttc[0].bucket_counts, [0, 1, 0, 0, 0, 0, 0, 0]);

    let order = histogram_points(&m["business.order_value_cents"]);
    assert_eq!(order.len(), 1);
    assert_eq!(
        attrs(&order[0].attributes),
        labels(&[("product_category", "electronics")])
    );
    assert_eq!(order[0].count, 2);
    assert_eq!(order[0].sum, Some(REVENUE_TOTAL as f64));
    assert_eq!(order[0].min, Some(4_999.0));
    assert_eq!(order[0].max, Some(12_000.0));
    assert_eq!(
        order[0].explicit_bounds,
        business_metrics::catalog::ORDER_VALUE_BUCKETS
    );
    // 4999 falls in (2500, 5000], 12000 in (10000, 25000].
    assert_eq!(order[0].bucket_counts, [0, 0, 0, 1, 0, 1, 0, 0]);
}

// ---- a minimal HTTP/1.1 client for loopback servers ------------------------------

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET` with optional extra headers; `Connection: close`, no chunked encoding support
/// needed beyond what the servers here send (axum sends content-length for these).
pub async fn http_get(
    addr: SocketAddr,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut req = format!("GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Percent-encodes a PromQL query for a URL.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---- real servers ----------------------------------------------------------------

/// A free loopback port (bound and released; the server binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Finds a server binary, or: under `CI=true` fails with how to install it; else
/// prints a notice and returns `None` so the test can return early.
pub fn require_binary(what: &str, found: Option<PathBuf>) -> Option<PathBuf> {
    if let Some(p) = found {
        return Some(p);
    }
    let msg = format!("{what} is not installed: run scripts/install-test-deps.sh (as root) to install the test servers");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    #[allow(clippy::print_stderr)] // the notice is the point: outside CI, say why
    {
        eprintln!("notice: skipping: {msg}");
    }
    None
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The `rotel-agent` binary inside the installed `rotel` Python package.
pub fn rotel_agent() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import rotel,os; print(os.path.dirname(rotel.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    let p = PathBuf::from(dir.trim()).join("rotel-agent");
    p.is_file().then_some(p)
}

/// A child process killed (and reaped) on drop.
pub struct ServerProcess {
    pub child: Child,
    pub name: &'static str,
}

impl ServerProcess {
    /// Starts `cmd` with its output in `<CARGO_TARGET_TMPDIR>/<name>-<pid>-<n>.log`.
    pub fn spawn(name: &'static str, cmd: &mut Command) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-{}-{n}.log", std::process::id()));
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name}: {e}"));
        Self { child, name }
    }

    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early with {status}", self.name);
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout`.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Like [`poll`], but also fails as soon as `server` has exited.
pub async fn poll_server<T, F, Fut>(
    server: &mut ServerProcess,
    what: &str,
    timeout: Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        server.assert_running();
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
