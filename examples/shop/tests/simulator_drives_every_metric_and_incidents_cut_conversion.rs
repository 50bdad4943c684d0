//! The built-in simulator, run for a bounded time against the real API, makes every
//! business metric of the contract and the HTTP duration histogram move, and an
//! injected incident visibly lowers conversion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod support;

use std::time::Duration;

use business_metrics::catalog::CATALOG;
use shop::simulator::{Simulator, SimulatorConfig};
use shop::Incident;
use support::{Scrape, TestShop};

fn conversion(before: &Scrape, after: &Scrape) -> (f64, f64) {
    let total = |s: &Scrape, step| s.sum("business_funnel_step_total", &[("step", step)]);
    let views = total(after, "cart_view") - total(before, "cart_view");
    let orders = total(after, "order_confirmed") - total(before, "order_confirmed");
    (views, orders)
}

async fn run(shop: &TestShop, seconds: u64, seed: u64) -> shop::simulator::SimReport {
    let mut config = SimulatorConfig::new(shop.base.clone());
    config.rate = 150.0;
    config.think_time = Duration::from_millis(2);
    config.duration = Some(Duration::from_secs(seconds));
    config.seed = Some(seed);
    let sim = Simulator::new(config, shop.incident.clone()).unwrap();
    sim.run(std::future::pending()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_moves_every_metric_and_an_incident_lowers_conversion() {
    let shop = TestShop::start(0.02).await;

    // Normal traffic.
    let start = shop.scrape().await;
    let normal = run(&shop, 3, 1).await;
    let mid = shop.scrape().await;

    // The same traffic during an incident: slow responses and failing payments.
    shop.incident.start(Incident {
        extra_latency: Duration::from_millis(150),
        error_rate: 0.5,
    });
    let during = run(&shop, 3, 2).await;
    shop.incident.stop();
    shop.state.refresh_active_users();
    let end = shop.scrape().await;

    assert_eq!(
        normal.http_errors + during.http_errors,
        0,
        "{normal:?} {during:?}"
    );
    for d in CATALOG
        .iter()
        .filter(|d| d.name != business_metrics::catalog::names::REJECTED_EVENTS)
    {
        let name = if d.is_histogram() {
            format!("{}_count", d.prometheus_name)
        } else {
            d.prometheus_name.to_owned()
        };
        assert!(end.has(&name), "{name} missing");
        assert!(end.sum(&name, &[]) > 0.0, "{name} did not move");
    }
    assert!(end.sum("http_server_request_duration_seconds_count", &[]) > 100.0);
    assert!(end.has("http_server_request_duration_seconds_bucket"));

    let (views_n, orders_n) = conversion(&start, &mid);
    let (views_i, orders_i) = conversion(&mid, &end);
    assert!(
        views_n > 100.0 && views_i > 50.0,
        "too little traffic: {views_n} {views_i}"
    );
    let (rate_n, rate_i) = (orders_n / views_n, orders_i / views_i);
    println!("conversion normal {rate_n:.3} ({orders_n}/{views_n}), incident {rate_i:.3} ({orders_i}/{views_i})");
    assert!(rate_n > 0.2, "normal conversion {rate_n}");
    assert!(
        rate_i < rate_n / 2.0,
        "incident conversion {rate_i} not clearly below {rate_n}"
    );
    // The simulator's own view agrees with the metrics.
    assert_eq!(normal.normal.cart_views as f64, views_n);
    assert_eq!(during.normal.orders as f64, orders_i);
    let errors = end.sum("business_funnel_step_total", &[("step", "checkout_error")])
        - mid.sum("business_funnel_step_total", &[("step", "checkout_error")]);
    assert_eq!(errors, during.normal.failed_payments as f64);
    assert!(errors > 0.0);
}
