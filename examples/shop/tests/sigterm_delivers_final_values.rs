//! SIGTERM to the real `shop` binary while its simulator drives traffic: the shop
//! drains the simulator, exports its final values over OTLP/gRPC to an in-test
//! receiver and exits 0 within a bound. The totals received equal what the
//! simulator reports it did, to the cent.
//!
//! Periodic OTLP export is set to an hour, so the values can only arrive through the
//! flush at shutdown; the Prometheus bridge, on an ephemeral port, shows that traffic
//! is flowing before the signal is sent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use business_metrics_test_support::otlp::opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use business_metrics_test_support::otlp::opentelemetry_proto::tonic::metrics::v1::metric;
use business_metrics_test_support::otlp::{business_metrics, grpc_receiver, int_sum_points};
use business_metrics_test_support::{poll_until, ChildGuard, Lines};

/// The shop must exit this soon after SIGTERM: drain the simulator (visitors pause
/// 20 ms between requests here), stop the server, flush over loopback.
const EXIT_BOUND: Duration = Duration::from_secs(15);

fn reported(line: &str, label: &str) -> u64 {
    let (_, rest) = line
        .split_once(label)
        .unwrap_or_else(|| panic!("no {label:?} in {line:?}"));
    let token = rest.split_whitespace().next().unwrap();
    if let Some(dollars) = token.strip_prefix('$') {
        let (whole, cents) = dollars.split_once('.').unwrap();
        assert_eq!(cents.len(), 2, "{token}");
        whole.parse::<u64>().unwrap() * 100 + cents.parse::<u64>().unwrap()
    } else {
        token.parse().unwrap()
    }
}

/// The sum of a Prometheus sample family in an exposition (all label sets).
fn sum_samples(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// Totals of one export: (funnel steps by step, purchase conversions, revenue cents,
/// newest data-point time).
struct Totals {
    steps: BTreeMap<String, i64>,
    purchases: i64,
    revenue_cents: i64,
    time_unix_nano: u64,
}

fn totals(req: &ExportMetricsServiceRequest) -> Totals {
    let m = business_metrics(req);
    let mut steps = BTreeMap::new();
    for (labels, value) in int_sum_points(&m["business.funnel_step"]) {
        *steps.entry(labels["step"].clone()).or_default() += value;
    }
    let purchases = int_sum_points(&m["business.conversions"])
        .iter()
        .filter(|(l, _)| l["conversion_type"] == "purchase")
        .map(|(_, v)| v)
        .sum();
    let revenue = &m["business.revenue_cents"];
    let time_unix_nano = match &revenue.data {
        Some(metric::Data::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).max(),
        _ => None,
    }
    .unwrap_or(0);
    Totals {
        steps,
        purchases,
        revenue_cents: int_sum_points(revenue).values().sum(),
        time_unix_nano,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_simulated_load_delivers_final_totals_and_exits_zero() {
    let receiver = grpc_receiver().await;
    let mut shop = ChildGuard::spawn(
        "shop",
        Command::new(env!("CARGO_BIN_EXE_shop"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--rate",
                "50",
                "--think-time-ms",
                "20",
                "--no-incidents",
                "--payment-failure-rate",
                "0.1",
                "--seed",
                "7",
            ])
            .env_clear()
            .env("OTEL_METRICS_EXPORTER", "otlp,prometheus")
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{}", receiver.addr),
            )
            .env("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
            .env("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
            .env("OTEL_EXPORTER_PROMETHEUS_PORT", "0")
            .env("OTEL_SERVICE_NAME", "shop-sigterm")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let output = Lines::default();
    let reader = output.collect(shop.child_mut().stdout.take().unwrap());

    let bridge = poll_until("the shop to start", Duration::from_secs(30), || {
        shop.assert_running();
        let bridge = output.address_after("metrics: curl -s ");
        let listening = output.address_after("shop listening on ").is_some();
        let text = output.text();
        async move {
            bridge
                .filter(|_| listening)
                .ok_or_else(|| format!("output so far:\n{text}"))
        }
    })
    .await;

    // Load is flowing: purchases show on the bridge.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    poll_until(
        "simulated purchases on the bridge",
        Duration::from_secs(30),
        || {
            shop.assert_running();
            let request = client.get(format!("http://{bridge}/metrics")).send();
            async move {
                let body = request
                    .await
                    .map_err(|e| e.to_string())?
                    .text()
                    .await
                    .map_err(|e| e.to_string())?;
                let orders = sum_samples(&body, "business_conversions_total");
                if orders >= 20.0 {
                    Ok(())
                } else {
                    Err(format!("{orders} purchases so far"))
                }
            }
        },
    )
    .await;
    assert!(receiver.received.is_empty(), "no periodic export expected");

    let pid = shop.id().to_string();
    let signalled_at = SystemTime::now();
    let signalled = Instant::now();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let status = poll_until("the shop to exit", EXIT_BOUND, || {
        let exited = shop.child_mut().try_wait().unwrap();
        async move { exited.ok_or_else(|| "still running".to_owned()) }
    })
    .await;
    let took = signalled.elapsed();
    reader.join().unwrap();
    let stdout = output.text();
    assert!(status.success(), "exit status {status}; stdout:\n{stdout}");
    assert_eq!(status.code(), Some(0));

    let report = stdout
        .lines()
        .find_map(|l| l.strip_prefix("simulated: "))
        .unwrap_or_else(|| panic!("no simulator report in:\n{stdout}"))
        .to_owned();
    let cart_views = reported(&report, "cart views");
    let orders = reported(&report, "orders");
    let revenue_cents = reported(&report, "revenue");
    let failed_payments = reported(&report, "payment failures");
    assert_eq!(reported(&report, "http errors"), 0, "{report}");
    assert!(orders >= 20, "{report}");

    // The exporter's shutdown flushes, then shuts down: one or two exports, both with
    // the final cumulative totals. Nothing else was exported.
    let requests = receiver
        .received
        .wait_until(Duration::from_secs(5), |r| !r.is_empty())
        .await;
    eprintln!(
        "SIGTERM: shop exited 0 after {took:.2?} (bound {EXIT_BOUND:?}); simulator: {report}; \
         {} OTLP exports received",
        requests.len()
    );
    assert!((1..=2).contains(&requests.len()), "{}", requests.len());
    let signalled_nanos =
        u64::try_from(signalled_at.duration_since(UNIX_EPOCH).unwrap().as_nanos()).unwrap();
    for req in &requests {
        let t = totals(req);
        assert!(
            t.time_unix_nano >= signalled_nanos,
            "exported before the signal"
        );
        assert_eq!(t.steps["cart_view"], cart_views as i64, "{report}");
        assert_eq!(t.steps["order_confirmed"], orders as i64, "{report}");
        assert_eq!(t.purchases, orders as i64, "{report}");
        assert_eq!(t.revenue_cents, revenue_cents as i64, "{report}");
        assert_eq!(
            t.steps["checkout_error"], failed_payments as i64,
            "{report}"
        );
        // The funnel narrows step by step.
        let s = |k: &str| t.steps[k];
        assert!(s("cart_view") >= s("shipping_info"));
        assert!(s("shipping_info") >= s("payment_info"));
        assert!(s("payment_info") >= s("order_review"));
        assert!(s("order_review") >= s("order_confirmed") + s("checkout_error"));
    }
}
