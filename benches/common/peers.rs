//! The peers measured on the reference workload: the floor (pre-resolved atomics),
//! this project's API on its own exporter pipeline, raw `opentelemetry_sdk` calls with
//! per-call attribute slices, and the `prometheus` crate with `with_label_values`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use business_metrics::catalog::{self, keys};
use business_metrics::{
    BoundFunnel, BoundSale, BusinessMetrics, CheckoutStep, Dimension, FunnelContext, FunnelStep,
    LabelPolicy, Revenue,
};
use business_metrics_exporter::{ExporterKind, MetricsGuard};
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::{
    InMemoryMetricExporter, Instrument, MeterProviderBuilder, PeriodicReader, SdkMeterProvider,
    Stream,
};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use tokio::runtime::Runtime;

use super::exposition::{http_get, render_registry, serve_text};
use super::workload::{Event, Pools, CURRENCY, FUNNEL, PURCHASE, STEPS, UPDATES_PER_EVENT};

/// The cardinality limit every SDK-based peer gets on every instrument: twice the
/// largest instrument of the ~10k-series workload (5,000 revenue series), so nothing
/// overflows. The benches check that no overflow series appears.
pub const CARDINALITY_LIMIT: usize = 10_000;

/// A Tokio runtime with one worker, for the `/metrics` servers.
pub fn server_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The floor: 9 pre-resolved atomic adds, what no metrics library can beat.
#[derive(Debug, Default)]
pub struct Floor {
    cells: [AtomicU64; UPDATES_PER_EVENT],
}

impl Floor {
    #[inline]
    pub fn record(&self, ev: &Event) {
        let (revenue, rest) = self.cells.split_first().expect("9 cells");
        revenue.fetch_add(ev.amount_cents, Ordering::Relaxed);
        for cell in rest {
            cell.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// This project: `BusinessMetrics` on the exporter crate's pipeline with the
/// Prometheus bridge on a loopback port (its views, its cardinality limit).
pub struct Project {
    // Dropped in this order: the guard shuts the bridge down on the runtime.
    guard: MetricsGuard,
    metrics: BusinessMetrics,
    addr: SocketAddr,
    _runtime: Runtime,
}

impl Project {
    pub fn start() -> Self {
        let runtime = server_runtime();
        let guard = {
            let _entered = runtime.enter();
            business_metrics_exporter::builder()
                .without_env()
                .with_service_name("bench")
                .with_exporters([ExporterKind::Prometheus])
                .with_prometheus_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
                .with_cardinality_limit(CARDINALITY_LIMIT)
                .with_label_policy(label_policy())
                .init()
                .expect("the project's pipeline starts")
        };
        let metrics = guard.business_metrics();
        let addr = guard.prometheus_addr().expect("the bridge listens");
        Self {
            guard,
            metrics,
            addr,
            _runtime: runtime,
        }
    }

    /// One purchase through the checkout tracker: `checkout` (validates the context
    /// once), four steps, `purchase_completed` (order_confirmed, conversion with its
    /// time since the session start, revenue and order value).
    #[inline]
    pub fn record_tracker(&self, ev: &Event) {
        record_tracker(&self.metrics, ev);
    }

    /// One purchase as one call per update: `record_funnel_step` x5,
    /// `record_conversion`, `record_revenue`.
    #[inline]
    pub fn record_calls(&self, ev: &Event) {
        record_calls(&self.metrics, ev);
    }

    /// `GET /metrics` on the bridge.
    pub fn scrape(&self) -> String {
        http_get(self.addr)
    }

    pub fn metrics(&self) -> &BusinessMetrics {
        &self.metrics
    }

    pub fn guard(&self) -> &MetricsGuard {
        &self.guard
    }
}

/// The project's pre-resolved handles, one per funnel context and per sale
/// combination of the pools, held by the caller as a service would hold them.
pub struct Bound {
    funnels: Vec<BoundFunnel>,
    sales: Vec<BoundSale>,
}

impl Bound {
    /// Binds every combination the pools can produce, in [`Event`] index order.
    pub fn new(metrics: &BusinessMetrics, pools: &Pools) -> Self {
        let mut funnels = vec![None; pools.funnel_contexts()];
        let mut sales = vec![None; pools.sales()];
        for i in 0..pools.covering_events() {
            let ev = pools.event(i);
            if funnels[ev.funnel].is_none() {
                funnels[ev.funnel] =
                    Some(metrics.bind_funnel(&context(&ev)).expect("valid context"));
            }
            if sales[ev.sale].is_none() {
                sales[ev.sale] = Some(metrics.bind_sale(&revenue(&ev).sale()).expect("valid sale"));
            }
        }
        Self {
            funnels: funnels
                .into_iter()
                .map(|f| f.expect("every context bound"))
                .collect(),
            sales: sales
                .into_iter()
                .map(|s| s.expect("every sale bound"))
                .collect(),
        }
    }

    /// One purchase on held handles: four steps, then `purchase_completed`
    /// (order_confirmed, conversion with its time, revenue and order value).
    #[inline]
    pub fn record(&self, ev: &Event) {
        let funnel = &self.funnels[ev.funnel];
        funnel.step(CheckoutStep::CartView);
        funnel.step(CheckoutStep::ShippingInfo);
        funnel.step(CheckoutStep::PaymentInfo);
        funnel.step(CheckoutStep::OrderReview);
        funnel
            .purchase_completed(&self.sales[ev.sale], ev.amount_cents, ev.ttc_secs)
            .expect("valid purchase");
    }
}

fn context(ev: &Event) -> FunnelContext<'static> {
    FunnelContext::new(ev.source, ev.device).with_experiment_variant(ev.variant)
}

fn revenue(ev: &Event) -> Revenue<'static> {
    Revenue::new(ev.amount_cents, ev.category, ev.payment, ev.region).with_currency(CURRENCY)
}

#[inline]
pub fn record_tracker(metrics: &BusinessMetrics, ev: &Event) {
    let now = metrics.now();
    let session_start = now.checked_sub(ev.ttc).unwrap_or(now);
    let checkout = metrics
        .checkout(&context(ev), session_start)
        .expect("valid context");
    checkout.cart_view();
    checkout.shipping_info();
    checkout.payment_info();
    checkout.order_review();
    checkout
        .purchase_completed(&revenue(ev))
        .expect("valid purchase");
}

#[inline]
pub fn record_calls(metrics: &BusinessMetrics, ev: &Event) {
    let ctx = context(ev);
    for step in CheckoutStep::ALL {
        metrics
            .record_funnel_step(FunnelStep::Checkout(*step), &ctx)
            .expect("valid step");
    }
    metrics
        .record_conversion(PURCHASE, &ctx, ev.ttc_secs)
        .expect("valid conversion");
    metrics.record_revenue(&revenue(ev)).expect("valid revenue");
}

/// A meter provider builder giving every instrument [`CARDINALITY_LIMIT`].
pub fn limited_provider() -> MeterProviderBuilder {
    SdkMeterProvider::builder().with_view(|_: &Instrument| {
        Stream::builder()
            .with_cardinality_limit(CARDINALITY_LIMIT)
            .build()
            .ok()
    })
}

/// An SDK provider read by opentelemetry-prometheus into a Prometheus registry.
pub fn prometheus_provider() -> (SdkMeterProvider, Registry) {
    let registry = Registry::new();
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .expect("opentelemetry-prometheus exporter");
    (limited_provider().with_reader(exporter).build(), registry)
}

/// An SDK provider whose collections land in memory (for the OTLP encode figures).
/// The label policy of a service whose pools are the large workload's: each
/// free-form dimension's budget holds every value of its pool, so no value is
/// folded into `other` and every peer records the same 10,051 series.
pub fn label_policy() -> LabelPolicy {
    LabelPolicy::builder()
        .with_budget(Dimension::Source, 80)
        .with_budget(Dimension::ExperimentVariant, 4)
        .with_budget(Dimension::ProductCategory, 10)
        .with_budget(Dimension::PaymentMethod, 5)
        .with_budget(Dimension::Region, 100)
        .build()
        .expect("valid budgets")
}

/// The project's instance on `provider`, as the exporter builds it: the bench's
/// label policy, and counters that keep as many series as the streams' limit.
pub fn project_metrics(provider: &SdkMeterProvider) -> BusinessMetrics {
    BusinessMetrics::builder(&provider.meter_with_scope(business_metrics::instrumentation_scope()))
        .with_label_policy(label_policy())
        .with_counter_series_limit(CARDINALITY_LIMIT)
        .build()
}

pub fn in_memory_provider() -> (SdkMeterProvider, InMemoryMetricExporter) {
    let exporter = InMemoryMetricExporter::default();
    let provider = limited_provider()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    (provider, exporter)
}

/// Raw `opentelemetry_sdk` instruments as a team writes them by hand: the same
/// names, units and buckets as the catalog, and a `KeyValue` array built per call.
#[derive(Debug)]
pub struct RawSdk {
    /// Label values as reference-counted strings, as values a service reads at run
    /// time are (the SDK clones them on every collection), instead of `&'static str`.
    shared_values: bool,
    funnel: Counter<u64>,
    conversions: Counter<u64>,
    time_to_conversion: Histogram<f64>,
    revenue: Counter<u64>,
    order_value: Histogram<u64>,
}

impl RawSdk {
    pub fn new(provider: &SdkMeterProvider) -> Self {
        Self::with_values(provider, false)
    }

    pub fn with_values(provider: &SdkMeterProvider, shared_values: bool) -> Self {
        // The project's instrumentation scope, so every exposition and OTLP request
        // carries the same scope labels and the render figures compare like with like.
        let meter = provider.meter_with_scope(business_metrics::instrumentation_scope());
        let counter = |d: &'static catalog::MetricDescriptor| {
            meter
                .u64_counter(d.name)
                .with_unit(d.unit)
                .with_description(d.description)
                .build()
        };
        let ttc = &catalog::TIME_TO_CONVERSION;
        let order = &catalog::ORDER_VALUE_CENTS;
        Self {
            shared_values,
            funnel: counter(&catalog::FUNNEL_STEP),
            conversions: counter(&catalog::CONVERSIONS),
            time_to_conversion: meter
                .f64_histogram(ttc.name)
                .with_unit(ttc.unit)
                .with_description(ttc.description)
                .with_boundaries(ttc.buckets.to_vec())
                .build(),
            revenue: counter(&catalog::REVENUE_CENTS),
            order_value: meter
                .u64_histogram(order.name)
                .with_unit(order.unit)
                .with_description(order.description)
                .with_boundaries(order.buckets.to_vec())
                .build(),
        }
    }

    #[inline]
    fn value(&self, v: &'static str) -> Value {
        if self.shared_values {
            Value::String(Arc::<str>::from(v).into())
        } else {
            Value::from(v)
        }
    }

    #[inline]
    pub fn record(&self, ev: &Event) {
        let device = ev.device.as_str();
        for &step in STEPS {
            self.funnel.add(
                1,
                &[
                    KeyValue::new(keys::FUNNEL, FUNNEL),
                    KeyValue::new(keys::STEP, step),
                    KeyValue::new(keys::SOURCE, self.value(ev.source)),
                    KeyValue::new(keys::DEVICE_TYPE, device),
                    KeyValue::new(keys::EXPERIMENT_VARIANT, self.value(ev.variant)),
                ],
            );
        }
        self.conversions.add(
            1,
            &[
                KeyValue::new(keys::CONVERSION_TYPE, PURCHASE),
                KeyValue::new(keys::SOURCE, self.value(ev.source)),
                KeyValue::new(keys::DEVICE_TYPE, device),
            ],
        );
        self.time_to_conversion.record(
            ev.ttc_secs,
            &[KeyValue::new(keys::CONVERSION_TYPE, PURCHASE)],
        );
        self.revenue.add(
            ev.amount_cents,
            &[
                KeyValue::new(keys::PRODUCT_CATEGORY, self.value(ev.category)),
                KeyValue::new(keys::PAYMENT_METHOD, self.value(ev.payment)),
                KeyValue::new(keys::REGION, self.value(ev.region)),
                KeyValue::new(keys::CURRENCY, CURRENCY),
            ],
        );
        self.order_value.record(
            ev.amount_cents,
            &[
                KeyValue::new(keys::PRODUCT_CATEGORY, self.value(ev.category)),
                KeyValue::new(keys::CURRENCY, CURRENCY),
            ],
        );
    }
}

/// Raw SDK instruments on opentelemetry-prometheus, with a `/metrics` server shaped
/// like the project's bridge (axum on a one-worker runtime, gather and encode per
/// request).
pub struct RawSdkPrometheus {
    pub sdk: RawSdk,
    pub registry: Registry,
    addr: SocketAddr,
    _provider: SdkMeterProvider,
    _runtime: Runtime,
}

impl RawSdkPrometheus {
    pub fn start() -> Self {
        Self::start_with_values(false)
    }

    /// With `shared_values`, label values are reference-counted strings (see
    /// [`RawSdk`]).
    pub fn start_with_values(shared_values: bool) -> Self {
        let (provider, registry) = prometheus_provider();
        let runtime = server_runtime();
        let served = registry.clone();
        let addr = serve_text(&runtime, move || render_registry(&served));
        Self {
            sdk: RawSdk::with_values(&provider, shared_values),
            registry,
            addr,
            _provider: provider,
            _runtime: runtime,
        }
    }

    pub fn render(&self) -> Vec<u8> {
        render_registry(&self.registry)
    }

    pub fn scrape(&self) -> String {
        http_get(self.addr)
    }
}

/// The `prometheus` crate with label vectors and `with_label_values` per update,
/// served like the others.
pub struct PromCrate {
    funnel: IntCounterVec,
    conversions: IntCounterVec,
    time_to_conversion: HistogramVec,
    revenue: IntCounterVec,
    order_value: HistogramVec,
    pub registry: Registry,
    addr: SocketAddr,
    _runtime: Runtime,
}

impl PromCrate {
    pub fn start() -> Self {
        let registry = Registry::new();
        let counter = |d: &catalog::MetricDescriptor| {
            let c = IntCounterVec::new(Opts::new(d.prometheus_name, d.description), d.attributes)
                .expect("counter");
            registry.register(Box::new(c.clone())).expect("register");
            c
        };
        let histogram = |d: &catalog::MetricDescriptor| {
            let h = HistogramVec::new(
                HistogramOpts::new(d.prometheus_name, d.description).buckets(d.buckets.to_vec()),
                d.attributes,
            )
            .expect("histogram");
            registry.register(Box::new(h.clone())).expect("register");
            h
        };
        let funnel = counter(&catalog::FUNNEL_STEP);
        let conversions = counter(&catalog::CONVERSIONS);
        let time_to_conversion = histogram(&catalog::TIME_TO_CONVERSION);
        let revenue = counter(&catalog::REVENUE_CENTS);
        let order_value = histogram(&catalog::ORDER_VALUE_CENTS);
        let runtime = server_runtime();
        let served = registry.clone();
        let addr = serve_text(&runtime, move || render_registry(&served));
        Self {
            funnel,
            conversions,
            time_to_conversion,
            revenue,
            order_value,
            registry,
            addr,
            _runtime: runtime,
        }
    }

    #[inline]
    pub fn record(&self, ev: &Event) {
        let device = ev.device.as_str();
        for &step in STEPS {
            self.funnel
                .with_label_values(&[FUNNEL, step, ev.source, device, ev.variant])
                .inc();
        }
        self.conversions
            .with_label_values(&[PURCHASE, ev.source, device])
            .inc();
        self.time_to_conversion
            .with_label_values(&[PURCHASE])
            .observe(ev.ttc_secs);
        self.revenue
            .with_label_values(&[ev.category, ev.payment, ev.region, CURRENCY])
            .inc_by(ev.amount_cents);
        self.order_value
            .with_label_values(&[ev.category, CURRENCY])
            .observe(ev.amount_cents as f64);
    }

    pub fn render(&self) -> Vec<u8> {
        render_registry(&self.registry)
    }

    pub fn scrape(&self) -> String {
        http_get(self.addr)
    }
}
