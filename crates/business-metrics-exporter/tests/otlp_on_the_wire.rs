//! What the OTLP exporter puts on the wire, read back by in-test receivers and the
//! project's real collector: code settings beat the process environment (headers,
//! compression, timeout, endpoint), `without_env` isolates the pipeline, gzip and
//! `http/json` on the wire, and TLS to a collector behind a private CA that requires
//! client certificates, with certificates the test generates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use business_metrics_exporter::{
    Compression, ExporterBuilder, ExporterKind, InitError, OtlpProtocol,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message as _;
use support::*;

/// One request as it arrived: headers (lower-case names) and the raw body.
#[derive(Clone, Debug)]
struct RawRequest {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawRequest {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body after the `content-encoding` it declares, decoded by its
    /// `content-type`.
    fn request(&self) -> ExportMetricsServiceRequest {
        let body = match self.header("content-encoding").as_slice() {
            [] => self.body.clone(),
            ["gzip"] => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(self.body.as_slice())
                    .read_to_end(&mut out)
                    .expect("a gzip body");
                out
            }
            other => panic!("unexpected content-encoding {other:?}"),
        };
        match self.header("content-type").as_slice() {
            ["application/x-protobuf"] => {
                ExportMetricsServiceRequest::decode(body.as_slice()).expect("protobuf")
            }
            ["application/json"] => serde_json::from_slice(&body).expect("OTLP JSON"),
            other => panic!("unexpected content-type {other:?}"),
        }
    }
}

type Raw = Arc<Mutex<Vec<RawRequest>>>;

/// The requests of one pipeline (shutdown flushes, then exports a last time): at
/// least one, all with the same headers but the body length; returns the last.
fn last(raw: &Raw) -> RawRequest {
    let got = std::mem::take(&mut *raw.lock().unwrap());
    let headers = |r: &RawRequest| {
        r.headers
            .iter()
            .filter(|(k, _)| k != "content-length")
            .cloned()
            .collect::<Vec<_>>()
    };
    let first = got.first().expect("at least one request");
    for r in &got {
        assert_eq!(headers(r), headers(first));
    }
    got.last().unwrap().clone()
}

async fn keep(State(raw): State<Raw>, headers: HeaderMap, body: Bytes) -> Vec<u8> {
    raw.lock().unwrap().push(RawRequest {
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_owned()))
            .collect(),
        body: body.to_vec(),
    });
    ExportMetricsServiceResponse {
        partial_success: None,
    }
    .encode_to_vec()
}

/// An OTLP/HTTP receiver that keeps requests as they arrived, undecoded.
async fn raw_http_receiver() -> (SocketAddr, Raw, tokio::task::JoinHandle<()>) {
    let raw = Raw::default();
    let app = axum::Router::new()
        .route("/v1/metrics", post(keep))
        .with_state(raw.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, raw, task)
}

/// Records the workload, exports once (shutdown flushes), returns the shutdown result.
async fn export_once(builder: ExporterBuilder) -> Result<(), String> {
    let guard = builder
        .with_exporters([ExporterKind::Otlp])
        .with_export_interval(Duration::from_secs(3600))
        .with_shutdown_timeout(Duration::from_secs(10))
        .init()
        .map_err(|e| e.to_string())?;
    record_workload(&guard.business_metrics());
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .map_err(|e| e.to_string())
}

/// The environment a platform team set fleet-wide, every value conflicting with
/// what the code below sets.
const FLEET_ENV: &[(&str, &str)] = &[
    (
        "OTEL_EXPORTER_OTLP_HEADERS",
        "x-api-key=from-env,x-env-only=env",
    ),
    ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "1"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
];

/// The one test of this binary that touches the process environment; every other
/// test here ignores it (`without_env`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_beats_the_process_environment_on_the_wire_and_without_env_isolates() {
    for (k, v) in FLEET_ENV {
        std::env::set_var(k, v);
    }
    let code = |protocol: OtlpProtocol, endpoint: String| {
        business_metrics_exporter::builder() // reads the process environment
            .with_otlp_protocol(protocol)
            .with_otlp_endpoint(endpoint)
            .with_otlp_header("X-Api-Key", "from-code")
            .with_otlp_compression(Compression::None)
            .with_otlp_timeout(Duration::from_secs(5))
    };

    // OTLP/HTTP: the code's header value, no compression, the code's endpoint and
    // timeout (the environment's 1 ms would fail the export); headers the code
    // does not set still come from the environment.
    let (addr, raw, _server) = raw_http_receiver().await;
    let url = format!("http://{addr}/v1/metrics");
    export_once(code(OtlpProtocol::HttpProtobuf, url.clone()))
        .await
        .unwrap();
    let r = &last(&raw);
    assert_eq!(r.header("x-api-key"), ["from-code"]);
    assert_eq!(r.header("x-env-only"), ["env"]);
    assert_eq!(r.header("content-encoding"), Vec::<&str>::new());
    assert_eq!(r.header("content-type"), ["application/x-protobuf"]);
    assert!(
        r.header("user-agent")[0].starts_with("business-metrics-exporter/"),
        "{:?}",
        r.header("user-agent")
    );
    // Uncompressed protobuf, byte for byte what prost decodes.
    assert!(has_workload(
        &ExportMetricsServiceRequest::decode(r.body.as_slice()).unwrap()
    ));

    // without_env: nothing from the environment at all.
    export_once(code(OtlpProtocol::HttpProtobuf, url.clone()).without_env())
        .await
        .unwrap();
    let r = last(&raw);
    assert_eq!(r.header("x-api-key"), ["from-code"]);
    assert_eq!(r.header("x-env-only"), Vec::<&str>::new());

    // Where the code is silent, the environment applies: gzip, http/json, headers.
    export_once(
        business_metrics_exporter::builder()
            .with_otlp_endpoint(url)
            .with_otlp_timeout(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    let r = last(&raw);
    assert_eq!(r.header("content-encoding"), ["gzip"]);
    assert_eq!(r.header("content-type"), ["application/json"]);
    assert_eq!(r.header("x-api-key"), ["from-env"]);
    assert!(has_workload(&r.request()));

    // OTLP/gRPC: the same on metadata, and no grpc-encoding.
    let receiver = grpc_receiver().await;
    export_once(code(
        OtlpProtocol::Grpc,
        format!("http://{}", receiver.addr),
    ))
    .await
    .unwrap();
    let headers = receiver.received.headers();
    assert!(!headers.is_empty());
    let timeless = |h: &Vec<(String, String)>| {
        h.iter()
            .filter(|(k, _)| k != "grpc-timeout")
            .cloned()
            .collect::<Vec<_>>()
    };
    for h in &headers {
        assert_eq!(timeless(h), timeless(&headers[0]));
    }
    let get = |name: &str| -> Vec<&str> {
        headers[0]
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get("x-api-key"), ["from-code"]);
    assert_eq!(get("x-env-only"), ["env"]);
    assert_eq!(get("grpc-encoding"), Vec::<&str>::new());
    // The deadline on the wire is what is left of the code's 5 s when the request
    // goes out (seconds to spare even on a loaded machine), never the environment's
    // 1 ms.
    let micros: u64 = get("grpc-timeout")[0]
        .strip_suffix('u')
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!((1_000_000..=5_000_000).contains(&micros), "{micros} us");
    assert!(receiver.received.all().iter().any(has_workload));

    for (k, _) in FLEET_ENV {
        std::env::remove_var(k);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_from_code_compresses_both_transports() {
    let (addr, raw, _server) = raw_http_receiver().await;
    export_once(
        otlp_pipeline(
            OtlpProtocol::HttpProtobuf,
            format!("http://{addr}/v1/metrics"),
            "gzip-http",
        )
        .with_otlp_compression(Compression::Gzip),
    )
    .await
    .unwrap();
    let r = last(&raw);
    assert_eq!(r.header("content-encoding"), ["gzip"]);
    assert_eq!(&r.body[..2], [0x1f, 0x8b], "a gzip stream");
    assert!(has_workload(&r.request()));

    let receiver = grpc_receiver().await;
    export_once(
        otlp_pipeline(
            OtlpProtocol::Grpc,
            format!("http://{}", receiver.addr),
            "gzip-grpc",
        )
        .with_otlp_compression(Compression::Gzip),
    )
    .await
    .unwrap();
    let headers = receiver.received.headers();
    assert!(
        headers[0]
            .iter()
            .any(|(k, v)| k == "grpc-encoding" && v == "gzip"),
        "{headers:?}"
    );
    assert!(receiver.received.all().iter().any(has_workload));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_json_sends_the_otlp_json_mapping() {
    let (addr, raw, _server) = raw_http_receiver().await;
    export_once(otlp_pipeline(
        OtlpProtocol::HttpJson,
        format!("http://{addr}/v1/metrics"),
        "json",
    ))
    .await
    .unwrap();
    let r = last(&raw);
    assert_eq!(r.header("content-type"), ["application/json"]);
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    // The OTLP JSON mapping: lowerCamelCase field names.
    let rm = &json["resourceMetrics"][0];
    assert!(rm["scopeMetrics"][0]["metrics"].is_array(), "{json}");
    assert_eq!(
        rm["scopeMetrics"][0]["scope"]["name"],
        business_metrics::SCOPE_NAME
    );
    assert!(has_workload(&r.request()));
}

// ---- TLS ----------------------------------------------------------------------------

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, as
/// PEM files in a temporary directory.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let dir = TempDir::new("otlp-tls");
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();

        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "business-metrics test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        write("ca.pem", ca.self_signed(&ca_key).unwrap().pem());
        let issuer = Issuer::new(ca, ca_key);

        let leaf = |name: &str, sans: Vec<String>, usage| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(sans).unwrap();
            p.distinguished_name.push(DnType::CommonName, name);
            p.extended_key_usages = vec![usage];
            let cert = p.signed_by(&key, &issuer).unwrap();
            write(&format!("{name}.pem"), cert.pem());
            write(&format!("{name}.key"), key.serialize_pem());
        };
        leaf(
            "server",
            vec!["127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        leaf("client", vec![], ExtendedKeyUsagePurpose::ClientAuth);
        Self { dir }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The real collector, both OTLP receivers on TLS with the server certificate and
/// requiring client certificates signed by the private CA, forwarding to `to`.
async fn tls_collector(pki: &Pki, to: SocketAddr) -> Option<Otelcol> {
    let mut spec = OtelcolSpec::files(&["base.yaml", "backends/otlpgrpc.yaml"])
        .env("OTLP_GRPC_BACKEND_ENDPOINT", to.to_string())
        .env("OTLP_GRPC_BACKEND_INSECURE", "true");
    for protocol in ["grpc", "http"] {
        for (key, file) in [
            ("cert_file", "server.pem"),
            ("key_file", "server.key"),
            ("client_ca_file", "ca.pem"),
        ] {
            spec = spec.config(format!(
                "yaml:receivers::otlp::protocols::{protocol}::tls::{key}: {}",
                pki.file(file).display()
            ));
        }
    }
    Otelcol::start(spec).await
}

fn tls_endpoint(protocol: OtlpProtocol, collector: &Otelcol) -> String {
    match protocol {
        OtlpProtocol::Grpc => format!("https://127.0.0.1:{}", collector.ports.grpc),
        _ => format!("https://127.0.0.1:{}/v1/metrics", collector.ports.http),
    }
}

async fn mutual_tls_through_the_collector(protocol: OtlpProtocol) {
    let pki = Pki::new();
    let receiver = grpc_receiver().await;
    let Some(collector) = tls_collector(&pki, receiver.addr).await else {
        return;
    };
    let endpoint = tls_endpoint(protocol, &collector);

    // The private CA and a client certificate: delivered.
    export_once(
        otlp_pipeline(protocol, endpoint.clone(), "mtls")
            .with_otlp_ca_certificate(pki.file("ca.pem"))
            .with_otlp_client_certificate(pki.file("client.pem"), pki.file("client.key")),
    )
    .await
    .unwrap();
    receiver
        .received
        .wait_until(Duration::from_secs(30), |reqs| {
            per_resource(reqs).iter().any(has_workload)
        })
        .await;

    // The same through the specification's variables.
    let ca = pki.file("ca.pem").display().to_string();
    let cert = pki.file("client.pem").display().to_string();
    let key = pki.file("client.key").display().to_string();
    let before = receiver.received.len();
    export_once(
        business_metrics_exporter::builder()
            .with_env_vars([
                ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", endpoint.as_str()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.as_str()),
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.as_str()),
                ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", cert.as_str()),
                ("OTEL_EXPORTER_OTLP_CLIENT_KEY", key.as_str()),
            ])
            .with_service_name("mtls-env"),
    )
    .await
    .unwrap();
    receiver
        .received
        .wait_until(Duration::from_secs(30), |reqs| {
            reqs.len() > before && per_resource(&reqs[before..]).iter().any(has_workload)
        })
        .await;

    // Without the client certificate the collector refuses the handshake; without
    // the private CA the exporter refuses the collector's certificate.
    let no_client = export_once(
        otlp_pipeline(protocol, endpoint.clone(), "no-client-cert")
            .with_otlp_ca_certificate(pki.file("ca.pem"))
            .with_otlp_timeout(Duration::from_secs(3)),
    )
    .await;
    assert!(
        no_client.is_err(),
        "{protocol:?}: accepted without a client certificate"
    );
    let no_ca = export_once(
        otlp_pipeline(protocol, endpoint, "no-ca")
            .with_otlp_client_certificate(pki.file("client.pem"), pki.file("client.key"))
            .with_otlp_timeout(Duration::from_secs(3)),
    )
    .await;
    assert!(
        no_ca.is_err(),
        "{protocol:?}: trusted a private CA's certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_reaches_a_collector_behind_a_private_ca_with_client_certificates() {
    mutual_tls_through_the_collector(OtlpProtocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_reaches_a_collector_behind_a_private_ca_with_client_certificates() {
    mutual_tls_through_the_collector(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_certificate_files_are_named_and_never_quoted() {
    let pki = Pki::new();
    let secret_key = std::fs::read_to_string(pki.file("client.key")).unwrap();
    let init = |b: ExporterBuilder| {
        b.with_exporters([ExporterKind::Otlp])
            .init()
            .expect_err("refused")
    };
    let base = || {
        otlp_pipeline(
            OtlpProtocol::HttpProtobuf,
            "https://127.0.0.1:4318/v1/metrics".into(),
            "bad-files",
        )
    };
    // A key given as the CA: refused, naming the file, quoting nothing of it.
    let e = init(base().with_otlp_ca_certificate(pki.file("client.key")));
    assert!(
        matches!(
            e,
            InitError::TlsFile {
                what: "CA certificate",
                ..
            }
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("client.key") && text.contains("no PEM certificate"),
        "{text}"
    );
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains(&secret_key[40..80]),
        "{text}"
    );
    // A certificate given as the key.
    let e = init(base().with_otlp_client_certificate(pki.file("client.pem"), pki.file("ca.pem")));
    assert!(e.to_string().contains("no PEM private key"), "{e}");
    // A missing file.
    let missing: &Path = &pki.file("missing.pem");
    let e = init(base().with_otlp_ca_certificate(missing));
    assert!(e.to_string().contains("missing.pem"), "{e}");
}

/// Requests so far, and the statuses to answer them with in turn.
type Script = (Arc<Mutex<usize>>, Arc<Vec<u16>>);

/// An OTLP/HTTP endpoint answering `statuses` in turn (then 200), counting requests.
async fn scripted_http(
    statuses: Vec<u16>,
) -> (SocketAddr, Arc<Mutex<usize>>, tokio::task::JoinHandle<()>) {
    let count = Arc::new(Mutex::new(0usize));
    let state = (count.clone(), Arc::new(statuses));
    let app = axum::Router::new()
        .route(
            "/v1/metrics",
            post(|State((count, statuses)): State<Script>| async move {
                let mut n = count.lock().unwrap();
                let status = statuses.get(*n).copied().unwrap_or(200);
                *n += 1;
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("retry-after", "0")],
                    "busy",
                )
            }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, count, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_answers_are_retried_and_permanent_ones_are_not() {
    // 503 then 429: retried (Retry-After: 0), the third attempt succeeds.
    let (addr, count, _server) = scripted_http(vec![503, 429]).await;
    let guard = otlp_pipeline(
        OtlpProtocol::HttpProtobuf,
        format!("http://{addr}/v1/metrics"),
        "retry",
    )
    .with_export_interval(Duration::from_secs(3600))
    .init()
    .unwrap();
    record_workload(&guard.business_metrics());
    let guard = Arc::new(guard);
    let g = guard.clone();
    tokio::task::spawn_blocking(move || g.force_flush())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*count.lock().unwrap(), 3);

    // 400: given up at once, with the collector's answer in the error.
    let (addr, count, _server) = scripted_http(vec![400]).await;
    let guard = otlp_pipeline(
        OtlpProtocol::HttpProtobuf,
        format!("http://{addr}/v1/metrics"),
        "no-retry",
    )
    .with_export_interval(Duration::from_secs(3600))
    .init()
    .unwrap();
    record_workload(&guard.business_metrics());
    let guard = Arc::new(guard);
    let g = guard.clone();
    let flushed = tokio::task::spawn_blocking(move || g.force_flush())
        .await
        .unwrap();
    assert!(flushed.is_err());
    assert_eq!(*count.lock().unwrap(), 1);
    // The guard's drop flushes again (the endpoint now answers 200); off the runtime.
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
}
