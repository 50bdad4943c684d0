//! The real `shop` binary against clients that stall and a collector that is away:
//! SIGTERM with a client stalled halfway through its request still ends the process
//! promptly with the final flush, and export failures and the recovery are logged on
//! stderr without the API key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use std::io::Write as _;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use business_metrics_test_support::otlp::grpc_receiver;
use business_metrics_test_support::{free_port, poll_until, ChildGuard, Lines};

fn shop(env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shop"));
    cmd.args(["--listen", "127.0.0.1:0", "--no-simulate"])
        .env_clear()
        .env("OTEL_EXPORTER_PROMETHEUS_PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_client_stalled_mid_request_exits_promptly_and_flushes() {
    let receiver = grpc_receiver().await;
    let mut shop = ChildGuard::spawn(
        "shop",
        &mut shop(&[
            ("OTEL_METRICS_EXPORTER", "otlp".into()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{}", receiver.addr),
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL", "3600000".into()),
        ]),
    );
    let stdout = Lines::default();
    let reader = stdout.collect(shop.child_mut().stdout.take().unwrap());
    let _stderr = Lines::default().collect(shop.child_mut().stderr.take().unwrap());
    let api = poll_until("the shop to listen", Duration::from_secs(30), || {
        shop.assert_running();
        let addr = stdout.address_after("shop listening on ");
        let text = stdout.text();
        async move { addr.ok_or_else(|| format!("stdout so far:\n{text}")) }
    })
    .await;

    // Half a request, never finished.
    let mut stalled = TcpStream::connect(api).unwrap();
    stalled
        .write_all(b"POST /api/cart/view HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        .unwrap();

    let signalled = Instant::now();
    let pid = shop.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    // The stalled connection is no request in flight: dropped at once, so the exit
    // is bounded by the flush, far below the drain timeout (5 s) plus the flush
    // bound (10 s).
    let status = poll_until("the shop to exit", Duration::from_secs(15), || {
        let exited = shop.child_mut().try_wait().unwrap();
        async move { exited.ok_or_else(|| "still running".to_owned()) }
    })
    .await;
    let took = signalled.elapsed();
    reader.join().unwrap();
    eprintln!("SIGTERM with a stalled client: exited {status} after {took:.2?}");
    assert_eq!(status.code(), Some(0), "stdout:\n{}", stdout.text());
    // The final flush reached the collector.
    receiver
        .received
        .wait_until(Duration::from_secs(5), |r| !r.is_empty())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_failures_and_the_recovery_are_logged_on_stderr_without_the_key() {
    const KEY: &str = "sk-live-0123456789abcdef";
    let port = free_port();
    let mut shop = ChildGuard::spawn(
        "shop",
        &mut shop(&[
            ("OTEL_METRICS_EXPORTER", "otlp".into()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{port}"),
            ),
            ("OTEL_EXPORTER_OTLP_HEADERS", format!("x-api-key={KEY}")),
            ("OTEL_METRIC_EXPORT_INTERVAL", "200".into()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500".into()),
        ]),
    );
    let stdout = Lines::default();
    let _out = stdout.collect(shop.child_mut().stdout.take().unwrap());
    let stderr = Lines::default();
    let _err = stderr.collect(shop.child_mut().stderr.take().unwrap());
    let endpoint = format!("127.0.0.1:{port}");

    // Nothing listens: the first failure is logged at WARN, naming the endpoint.
    poll_until(
        "the first failure on stderr",
        Duration::from_secs(30),
        || {
            shop.assert_running();
            let text = stderr.text();
            let needle = format!("metrics export to {endpoint} failed");
            async move {
                if text.contains(&needle) {
                    Ok(())
                } else {
                    Err(format!("stderr so far:\n{text}"))
                }
            }
        },
    )
    .await;

    // A collector appears on that port: the recovery is logged at INFO.
    let receiver = {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let app = axum_free_receiver();
        tokio::spawn(async move {
            let _ = hyper_serve(listener, app).await;
        })
    };
    poll_until("the recovery on stderr", Duration::from_secs(30), || {
        shop.assert_running();
        let text = stderr.text();
        let needle = format!("metrics export to {endpoint} recovered after");
        async move {
            if text.contains(&needle) {
                Ok(())
            } else {
                Err(format!("stderr so far:\n{text}"))
            }
        }
    })
    .await;
    receiver.abort();
    let text = stderr.text();
    assert!(
        text.lines()
            .any(|l| l.contains(" WARN ") && l.contains("failed")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains(" INFO ") && l.contains("recovered")),
        "{text}"
    );
    assert!(!text.contains(KEY), "the API key reached stderr:\n{text}");
    assert!(!stdout.text().contains(KEY));
}

/// A minimal OTLP/HTTP endpoint: `POST /v1/metrics` answers 200 with an empty
/// protobuf response (zero bytes).
fn axum_free_receiver() -> (&'static str, &'static [u8]) {
    ("/v1/metrics", b"")
}

/// Serves [`axum_free_receiver`] over raw HTTP/1.1: every request gets 200 and an
/// empty body, whatever it carries.
async fn hyper_serve(
    listener: tokio::net::TcpListener,
    _app: (&'static str, &'static [u8]),
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let (mut stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 20];
            let mut have = 0;
            loop {
                let Ok(n) = stream.read(&mut buf[have..]).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                have += n;
                // Headers end, then Content-Length bytes of body.
                let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if have < end + 4 + len {
                    continue;
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
                    )
                    .await;
                buf.copy_within(end + 4 + len..have, 0);
                have -= end + 4 + len;
            }
        });
    }
}
