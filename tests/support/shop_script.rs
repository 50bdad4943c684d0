//! A fixed script of shop traffic through the real HTTP API, and the exact totals it
//! records: what the end-to-end tests send through every export path and expect to
//! find at the other end.
//!
//! One round is five sessions: three buyers (google_ads, mobile, variant one_page,
//! pro, new users, us_west) who walk the whole checkout and pay 49.99, 120.00 and
//! 25.00 USD and search twice each; two browsers (newsletter, desktop, control, free,
//! returning, eu_central) who stop after shipping_info and use the wishlist once.
//! Every session ends. Nothing in a round depends on time but the durations, of
//! which only the counts are asserted.

use std::net::SocketAddr;

use business_metrics_exporter::{ExporterKind, MetricsGuard, OtlpProtocol};
use serde_json::{json, Value};

use super::in_process::InProcessShop;
use super::servers::Prometheus;
use super::{poll_until, Scrape};

/// The buyers' orders: (cents, category, payment method).
const ORDERS: [(u64, &str, &str); 3] = [
    (4_999, "electronics", "card"),
    (12_000, "electronics", "card"),
    (2_500, "books", "paypal"),
];

/// One exact expectation: the sum of `name` over the series whose labels include
/// `labels`, per round.
pub struct Expected {
    /// The Prometheus name.
    pub name: &'static str,
    /// Labels the summed series carry.
    pub labels: &'static [(&'static str, &'static str)],
    /// The sum after one round.
    pub per_round: f64,
}

/// What one round records, by the contract's Prometheus names.
pub const EXPECTED: &[Expected] = &[
    Expected {
        name: "business_funnel_step_total",
        labels: &[
            ("funnel", "checkout"),
            ("step", "cart_view"),
            ("source", "google_ads"),
            ("device_type", "mobile"),
            ("experiment_variant", "one_page"),
        ],
        per_round: 3.0,
    },
    Expected {
        name: "business_funnel_step_total",
        labels: &[
            ("funnel", "checkout"),
            ("step", "order_confirmed"),
            ("source", "google_ads"),
        ],
        per_round: 3.0,
    },
    Expected {
        name: "business_funnel_step_total",
        labels: &[
            ("funnel", "checkout"),
            ("step", "cart_view"),
            ("source", "newsletter"),
            ("device_type", "desktop"),
            ("experiment_variant", "control"),
        ],
        per_round: 2.0,
    },
    Expected {
        name: "business_funnel_step_total",
        labels: &[("step", "shipping_info")],
        per_round: 5.0,
    },
    Expected {
        name: "business_funnel_step_total",
        labels: &[("step", "order_confirmed"), ("source", "newsletter")],
        per_round: 0.0,
    },
    Expected {
        name: "business_conversions_total",
        labels: &[("conversion_type", "purchase"), ("source", "google_ads")],
        per_round: 3.0,
    },
    Expected {
        name: "business_revenue_cents_total",
        labels: &[
            ("product_category", "electronics"),
            ("payment_method", "card"),
            ("region", "us_west"),
            ("currency", "USD"),
        ],
        per_round: 16_999.0,
    },
    Expected {
        name: "business_revenue_cents_total",
        labels: &[("product_category", "books"), ("payment_method", "paypal")],
        per_round: 2_500.0,
    },
    Expected {
        name: "business_order_value_cents_count",
        labels: &[],
        per_round: 3.0,
    },
    Expected {
        name: "business_order_value_cents_sum",
        labels: &[],
        per_round: 19_499.0,
    },
    Expected {
        name: "business_order_value_cents_bucket",
        labels: &[("product_category", "electronics"), ("le", "5000")],
        per_round: 1.0,
    },
    Expected {
        name: "business_order_value_cents_bucket",
        labels: &[("product_category", "electronics"), ("le", "25000")],
        per_round: 2.0,
    },
    Expected {
        name: "business_time_to_conversion_seconds_count",
        labels: &[("conversion_type", "purchase")],
        per_round: 3.0,
    },
    Expected {
        name: "business_feature_usage_total",
        labels: &[
            ("feature_name", "search"),
            ("user_tier", "pro"),
            ("is_new_user", "true"),
        ],
        per_round: 6.0,
    },
    Expected {
        name: "business_feature_usage_total",
        labels: &[("feature_name", "wishlist"), ("user_tier", "free")],
        per_round: 2.0,
    },
    Expected {
        name: "business_session_duration_seconds_count",
        labels: &[("user_tier", "pro")],
        per_round: 3.0,
    },
    Expected {
        name: "business_session_duration_seconds_count",
        labels: &[("user_tier", "free"), ("entry_page", "/")],
        per_round: 2.0,
    },
];

/// `scrape` with every `le` bound written as the bridge writes it: Prometheus 3
/// stores the bounds of a scraped text exposition as floats ("5000.0"), the
/// remote-write and OTLP paths as sent ("5000").
fn with_plain_bounds(scrape: &Scrape) -> Scrape {
    let mut scrape = scrape.clone();
    for sample in &mut scrape.samples {
        if let Some(le) = sample.labels.get_mut("le") {
            if let Ok(bound) = le.parse::<f64>() {
                if bound.is_finite() {
                    *le = bound.to_string();
                }
            }
        }
    }
    scrape
}

/// Every expectation that `scrape` does not meet after `rounds` rounds, described.
pub fn unmet(scrape: &Scrape, rounds: u32) -> Vec<String> {
    let scrape = &with_plain_bounds(scrape);
    EXPECTED
        .iter()
        .filter_map(|e| {
            let want = e.per_round * f64::from(rounds);
            let got = scrape.sum(e.name, e.labels);
            // Every value is a small integer: equality is exact in f64.
            #[allow(clippy::float_cmp)]
            let met = got == want;
            (!met).then(|| format!("{}{:?} = {got}, expected {want}", e.name, e.labels))
        })
        .collect()
}

/// The shop in-process with its Prometheus bridge and an OTLP exporter to
/// `otlp_endpoint` that exports only when flushed (and at shutdown), as
/// `service_name`.
pub async fn shop_exporting_to(
    service_name: &str,
    protocol: OtlpProtocol,
    otlp_endpoint: &str,
) -> InProcessShop {
    InProcessShop::start_with(
        service_name,
        |exporter| {
            exporter
                .with_exporters([ExporterKind::Prometheus, ExporterKind::Otlp])
                .with_otlp_protocol(protocol)
                .with_otlp_endpoint(otlp_endpoint)
                .with_export_interval(std::time::Duration::from_secs(3600))
                .with_deployment_environment("e2e")
        },
        |state| state.with_payment_failure_rate(0.0),
    )
    .await
}

/// Sends requests to one shop.
pub struct ShopDriver {
    base: String,
    client: reqwest::Client,
    orders: u32,
}

impl ShopDriver {
    /// A driver for the shop API at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            orders: 0,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = &body {
            req = req.json(body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(
            status.is_success(),
            "{method} {path} {body:?}: {status} {text}"
        );
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    async fn open(&self, body: Value) -> String {
        let created = self
            .send(reqwest::Method::POST, "/api/sessions", Some(body))
            .await;
        created["session_id"].as_str().unwrap().to_owned()
    }

    async fn steps(&self, id: &str, steps: &[&str]) {
        for step in steps {
            self.send(
                reqwest::Method::POST,
                &format!("/api/sessions/{id}/steps"),
                Some(json!({ "step": step })),
            )
            .await;
        }
    }

    async fn feature(&self, id: &str, name: &str) {
        self.send(
            reqwest::Method::POST,
            &format!("/api/sessions/{id}/features"),
            Some(json!({ "feature_name": name })),
        )
        .await;
    }

    async fn end(&self, id: &str) {
        self.send(
            reqwest::Method::DELETE,
            &format!("/api/sessions/{id}"),
            None,
        )
        .await;
    }

    /// Runs one round of the script.
    pub async fn round(&mut self) {
        for (cents, category, payment) in ORDERS {
            let id = self
                .open(json!({
                    "source": "google_ads", "device_type": "mobile",
                    "experiment_variant": "one_page", "user_tier": "pro",
                    "is_new_user": true, "entry_page": "/pricing", "region": "us_west"
                }))
                .await;
            self.steps(
                &id,
                &["cart_view", "shipping_info", "payment_info", "order_review"],
            )
            .await;
            self.orders += 1;
            self.send(
                reqwest::Method::POST,
                "/api/checkout/complete",
                Some(json!({
                    "session_id": id, "order_id": format!("ord-{}", self.orders),
                    "order_value_cents": cents, "product_category": category,
                    "payment_method": payment
                })),
            )
            .await;
            self.feature(&id, "search").await;
            self.feature(&id, "search").await;
            self.end(&id).await;
        }
        for _ in 0..2 {
            let id = self
                .open(json!({
                    "source": "newsletter", "device_type": "desktop",
                    "experiment_variant": "control", "user_tier": "free",
                    "is_new_user": false, "entry_page": "/", "region": "eu_central"
                }))
                .await;
            self.steps(&id, &["cart_view", "shipping_info"]).await;
            self.feature(&id, "wishlist").await;
            self.end(&id).await;
        }
    }
}

/// Scrapes the shop's own Prometheus bridge.
pub async fn scrape_bridge(shop: &InProcessShop) -> Scrape {
    let text = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}/metrics", shop.bridge))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(&text)
}

/// Flushes the shop's OTLP exporter (one export now) off the async runtime.
pub async fn flush(telemetry: &MetricsGuard) {
    tokio::task::block_in_place(|| telemetry.force_flush()).unwrap();
}

/// Polls `prometheus` (at most 90 s) until it holds the totals of `rounds` rounds of
/// the script; returns every business series it holds.
pub async fn wait_for_rounds(prometheus: &Prometheus, rounds: u32) -> Scrape {
    poll_until(
        &format!("{rounds} round(s) of the script in Prometheus"),
        std::time::Duration::from_secs(90),
        || async move {
            let scrape = prometheus.samples(r#"{__name__=~"business_.+"}"#).await?;
            let missing = unmet(&scrape, rounds);
            if missing.is_empty() {
                Ok(scrape)
            } else {
                Err(format!("{missing:#?}"))
            }
        },
    )
    .await
}
