//! The bridge's own listener against clients that stall: a request sent halfway
//! never holds shutdown, silent connections are closed after the header timeout,
//! and the connection cap holds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
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
