//! The shop binary, run as a real process: with no address configured, its API and
//! its Prometheus bridge listen on loopback only (as the kernel reports its sockets);
//! an OTLP API key it sends never appears in anything it prints, even when the
//! collector refuses the export and echoes the key back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use business_metrics_test_support::otlp::echoing_refuser;
use support::process::ShopProcess;

const API_KEY: &str = "sk-live-shop-5e8d2c7a91";

#[test]
fn the_default_listen_address_is_loopback() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_shop"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("[env: SHOP_LISTEN=] [default: 127.0.0.1:8080]"),
        "{help}"
    );
}

#[test]
fn with_nothing_configured_the_api_and_the_bridge_listen_on_loopback_only() {
    // The bridge's port is made ephemeral; its host, and the API's address, are the
    // defaults.
    let mut shop = ShopProcess::spawn(
        &["--no-simulate"],
        &[("OTEL_EXPORTER_PROMETHEUS_PORT", "0")],
    );
    let default_api = SocketAddr::from(([127, 0, 0, 1], 8080));
    match shop.wait_listening() {
        Ok(()) => {
            assert_eq!(shop.api, default_api);
            assert_eq!(shop.metrics.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
            let mut expected = vec![shop.api, shop.metrics];
            expected.sort();
            assert_eq!(shop.listening_addresses(), expected);
        }
        // Something else holds 8080 on this machine: the refusal still names the
        // default address, and it is loopback.
        Err(out) => {
            assert!(
                out.contains(&format!("binding {default_api}")),
                "the shop did not start and did not say why:\n{out}"
            );
            eprintln!("port 8080 is taken; checked the default address from the error only");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_otlp_api_key_never_appears_in_the_shops_output() {
    let (collector, heads) = echoing_refuser().await;
    let endpoint = format!("http://{collector}");
    let headers = format!("x-api-key={API_KEY}");
    let mut shop = ShopProcess::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--no-simulate",
            "--duration",
            "3",
        ],
        &[
            ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
            ("OTEL_EXPORTER_PROMETHEUS_PORT", "0"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_HEADERS", &headers),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
            // Whatever logging the binary has, at its most verbose.
            ("RUST_LOG", "trace"),
        ],
    );
    // Something to export.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = client
        .post(format!("{}/api/sessions", shop.base()))
        .json(&serde_json::json!({
            "source": "direct", "device_type": "desktop", "user_tier": "free",
            "is_new_user": false, "entry_page": "/", "region": "eu"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    // The shop stops by itself (--duration); its last flush is refused too.
    let code = tokio::task::block_in_place(|| shop.wait_exit(Duration::from_secs(30)));
    let output = shop.output();
    assert!(code.is_some(), "the shop did not exit:\n{output}");
    let received = heads.lock().unwrap().clone();
    assert!(
        received.len() >= 2,
        "expected periodic exports and the final flush, got {}",
        received.len()
    );
    assert!(
        received.iter().all(|h| h.contains(API_KEY)),
        "an export arrived without the key: {received:?}"
    );
    assert!(
        !output.contains(API_KEY),
        "the shop printed its API key:\n{output}"
    );
    // The failure itself was reported (only the key is kept out).
    assert!(
        output.to_ascii_lowercase().contains("fail"),
        "the failed export went unreported:\n{output}"
    );
}
