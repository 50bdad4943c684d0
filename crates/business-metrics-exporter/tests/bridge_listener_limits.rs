//! The bridge's own listener against clients that stall: a request sent halfway
//! never holds shutdown, silent connections are closed after the header timeout,
//! and the connection cap holds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    clippy::cast_possible_truncation
)]

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use business_metrics_exporter::{ExporterKind, ListenerLimits, MetricsGuard};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn bridge(limits: ListenerLimits) -> MetricsGuard {
    business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Prometheus])
        .with_prometheus_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .with_prometheus_limits(limits)
        .init()
        .unwrap()
}

/// Reads until the server closes the connection (Ok(bytes read)), or `within`
/// passes (Err).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Result<usize, ()> {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Ok(total),
            Ok(Ok(n)) => total += n,
            Err(_) => return Err(()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_halfway_never_holds_shutdown() {
    let guard = bridge(ListenerLimits::default());
    let addr = guard.prometheus_addr().unwrap();
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    // Shutdown drops every connection: the stalled client sees its connection close.
    assert!(closed_within(&mut stalled, Duration::from_secs(5))
        .await
        .is_ok());
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(300);
    let guard = bridge(ListenerLimits::default().with_header_read_timeout(timeout));
    let addr = guard.prometheus_addr().unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut halfway = TcpStream::connect(addr).await.unwrap();
    halfway.write_all(b"GET /metr").await.unwrap();
    let started = Instant::now();
    closed_within(&mut silent, Duration::from_secs(10))
        .await
        .expect("a silent connection is closed");
    closed_within(&mut halfway, Duration::from_secs(10))
        .await
        .expect("a connection stalled in its headers is closed");
    assert!(started.elapsed() >= timeout, "closed before the timeout");
    // Scrapes go on.
    assert_eq!(http_get(addr, "/metrics", &[]).await.unwrap().status, 200);
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_and_frees_as_connections_close() {
    let guard = bridge(
        ListenerLimits::default()
            .with_max_connections(2)
            .with_header_read_timeout(Duration::from_secs(30)),
    );
    let addr = guard.prometheus_addr().unwrap();
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    // A third client connects (the kernel queues it) but is not served while two
    // connections are held: no answer arrives.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf))
            .await
            .is_err(),
        "served past the cap"
    );
    // One held connection closes: the third is served.
    drop(first);
    let read = closed_within(&mut third, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(read > 0);
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_limits_are_refused_by_name() {
    let e = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Prometheus])
        .with_prometheus_limits(ListenerLimits::default().with_max_connections(0))
        .resolve()
        .unwrap_err();
    assert!(e.to_string().contains("prometheus_limits"), "{e}");
}

/// A router with `/slow` (tells `started`, then answers once `release` is notified)
/// and `/never` (never answers), served by `business_metrics_exporter::serve` until
/// the returned sender fires.
async fn own_listener(
    drain: Duration,
) -> (
    SocketAddr,
    std::sync::Arc<tokio::sync::Notify>,
    std::sync::Arc<tokio::sync::Notify>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    use std::sync::Arc;
    use tokio::sync::{oneshot, Notify};

    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (s, r) = (started.clone(), release.clone());
    let app = axum::Router::new()
        .route(
            "/slow",
            axum::routing::get(move || {
                let (s, r) = (s.clone(), r.clone());
                async move {
                    s.notify_one();
                    r.notified().await;
                    "done"
                }
            }),
        )
        .route(
            "/never",
            axum::routing::get(std::future::pending::<&'static str>),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(business_metrics_exporter::serve(
        listener,
        app,
        ListenerLimits::default().with_drain_timeout(drain),
        async {
            let _ = stopped.await;
        },
    ));
    (addr, started, release, stop, server)
}

/// A service's own listener on `business_metrics_exporter::serve`: on shutdown a
/// request in flight finishes and a client stalled halfway through its request is
/// dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_lets_a_request_in_flight_finish_and_drops_a_stalled_client() {
    let (addr, started, release, stop, server) = own_listener(Duration::from_secs(30)).await;
    let slow = tokio::spawn(http_get(addr, "/slow", &[]));
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .expect("the slow request arrived");
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(b"GET /slo").await.unwrap();
    stop.send(()).unwrap();
    release.notify_one();
    let answered = slow.await.unwrap().unwrap();
    assert_eq!((answered.status, answered.body.as_str()), (200, "done"));
    assert!(closed_within(&mut stalled, Duration::from_secs(10))
        .await
        .is_ok());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returned once the request in flight finished")
        .unwrap();
}

/// A handler that never answers cannot hold the server past the drain timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_returns_within_the_drain_timeout_whatever_a_handler_does() {
    let drain = Duration::from_millis(300);
    let (addr, _started, _release, stop, server) = own_listener(drain).await;
    let mut hanging = TcpStream::connect(addr).await.unwrap();
    hanging
        .write_all(b"GET /never HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    // The request is in the handler once the server has read it; give the
    // connection a moment to be accepted by checking nothing was answered yet.
    let mut buf = [0u8; 16];
    assert!(
        tokio::time::timeout(Duration::from_millis(100), hanging.read(&mut buf))
            .await
            .is_err()
    );
    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returned")
        .unwrap();
    let took = started.elapsed();
    assert!(took >= drain, "returned before the drain timeout: {took:?}");
    assert!(took < drain + Duration::from_secs(2), "{took:?}");
    // Its connection is dropped without an answer.
    assert_eq!(
        closed_within(&mut hanging, Duration::from_secs(5)).await,
        Ok(0)
    );
}

/// The process's resident memory, from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// 150,000 series (an exposition of several MiB, more than the kernel buffers of a
/// connection), then a hundred scrapers that send their request and never read the
/// answer: the bridge holds at most a few expositions, not one per scraper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_scrapers_that_never_read_hold_a_bounded_number_of_expositions() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::KeyValue;

    const SERIES: usize = 150_000;
    const SCRAPERS: usize = 100;
    let guard = business_metrics_exporter::builder()
        .without_env()
        .with_exporters([ExporterKind::Prometheus])
        .with_prometheus_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .with_cardinality_limit(SERIES + 10)
        .with_prometheus_limits(ListenerLimits::default().with_max_connections(SCRAPERS + 10))
        .init()
        .unwrap();
    let counter = guard
        .meter_provider()
        .meter("flood")
        .u64_counter("flood_events")
        .build();
    for i in 0..SERIES {
        counter.add(1, &[KeyValue::new("id", format!("flood-{i:06}"))]);
    }
    let addr = guard.prometheus_addr().unwrap();
    // One normal scrape: the exposition's size, and the encoder's buffers allocated.
    let exposition = http_get(addr, "/metrics", &[]).await.unwrap().body.len();
    assert!(exposition > 8 << 20, "{exposition} bytes");
    let before = rss_kib();

    let mut scrapers = Vec::with_capacity(SCRAPERS);
    for _ in 0..SCRAPERS {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        scrapers.push(stream);
    }
    // Each answer has started (its first bytes wait in the scraper's buffer): every
    // response, and the exposition it holds, exists now.
    for s in &scrapers {
        let mut first = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(30), s.peek(&mut first))
            .await
            .expect("the answer started")
            .unwrap();
        assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    }
    let after = rss_kib();
    let grown = after.saturating_sub(before);
    let exposition_kib = (exposition / 1024) as u64;
    eprintln!(
        "{SCRAPERS} non-reading scrapers of a {exposition_kib} KiB exposition: VmRSS {before} -> \
         {after} KiB (+{grown} KiB; one exposition each would be +{} KiB)",
        exposition_kib * SCRAPERS as u64
    );
    // Two held expositions and the cached one, plus 64 MiB for the connections'
    // own buffers; one exposition per scraper would exceed it many times over.
    assert!(
        grown < 3 * exposition_kib + 64 * 1024,
        "grew by {grown} KiB with a {exposition_kib} KiB exposition"
    );
    drop(scrapers);
    drop(guard);
}
