//! What one purchase event costs on the request's hot path, and what ~10k series
//! cost to export, for this project and its peers.
//!
//! A purchase event is 9 instrument updates: 5 funnel steps (cart_view ..
//! order_confirmed), 1 conversion, 1 time-to-conversion observation, 1 revenue
//! increment and 1 order-value observation, with label values from fixed pools
//! chosen by a counter (see `common/workload.rs`).
//!
//! Groups (criterion ids `group/peer`):
//! - `purchase_event`: one thread, small pools (198 series); time per event.
//! - `purchase_event_2_threads`: two threads sharing the instruments, each recording
//!   one event per iteration; time per iteration (2 events).
//! - `one_update`, `one_update_2_threads`: one update on a shared series, one and
//!   two threads: a counter step on the project's held funnel handle, and an
//!   observation on the SDK's bound histogram.
//! - `render_10k`: Prometheus text at 10,051 business series: in-process render, and
//!   a scrape (`GET /metrics` on loopback) of the bridge or an equivalent server.
//! - `otlp_encode_10k`: `ResourceMetrics` to OTLP protobuf bytes at 10,051 series:
//!   the project's exporter's own encoder (buffers kept between exports), and
//!   opentelemetry-proto's transform with prost for the raw SDK.
//!
//! Run with `scripts/bench.sh` (which also runs the peak-RSS and Node peers and
//! writes BENCHMARKS.md), or alone: `cargo bench --bench purchase`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout,
    missing_docs
)]

mod common;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use business_metrics::{CheckoutStep, DeviceType, FunnelContext};
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use serde_json::json;

use common::exposition::{check_series, count_series};
use common::peers::{
    in_memory_provider, project_metrics, record_calls, Bound, Floor, Project, PromCrate, RawSdk,
    RawSdkPrometheus,
};
use common::workload::{Event, EventCycle, Pools, PURCHASE};
use common::{otlp, write_result};

/// Measurement time per benchmark, in seconds (`BENCH_MEASUREMENT_SECS`, default 3).
fn measurement_time() -> Duration {
    let secs = std::env::var("BENCH_MEASUREMENT_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

fn group<'a>(c: &'a mut Criterion, name: &str, elements: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(elements))
        .measurement_time(measurement_time())
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30);
    g
}

fn one_thread(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    events: &[Event],
    record: impl Fn(&Event),
) {
    g.bench_function(id, |b| {
        let mut cycle = EventCycle::new(events, 0);
        b.iter(|| record(black_box(cycle.next())));
    });
}

/// Two threads record `iters` events each on the same instruments, starting
/// together; the time is from the first start to the last finish.
fn two_threads(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    events: &[Event],
    record: impl Fn(&Event) + Sync,
) {
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let barrier = Barrier::new(2);
            let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..2)
                    .map(|t| {
                        let (barrier, record) = (&barrier, &record);
                        s.spawn(move || {
                            let mut cycle = EventCycle::new(events, t * events.len() / 2);
                            barrier.wait();
                            let start = Instant::now();
                            for _ in 0..iters {
                                record(black_box(cycle.next()));
                            }
                            (start, Instant::now())
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let start = spans.iter().map(|s| s.0).min().unwrap();
            let end = spans.iter().map(|s| s.1).max().unwrap();
            end - start
        });
    });
}

fn hot_path(c: &mut Criterion) {
    let pools = Pools::small();
    let events = pools.cycle();
    let floor = Floor::default();
    let project = Project::start();
    let raw = RawSdkPrometheus::start();
    let prom = PromCrate::start();
    let bound = Bound::new(project.metrics(), &pools);
    // One cycle through every path first, so the series exist whichever benches a
    // filter selects, and the check below holds for any selection.
    for ev in &events {
        floor.record(ev);
        project.record_tracker(ev);
        project.record_calls(ev);
        bound.record(ev);
        raw.sdk.record(ev);
        prom.record(ev);
    }

    let mut g = group(c, "purchase_event", 1);
    one_thread(&mut g, "floor", &events, |ev| floor.record(ev));
    one_thread(&mut g, "project_tracker", &events, |ev| {
        project.record_tracker(ev);
    });
    one_thread(&mut g, "project_calls", &events, |ev| {
        project.record_calls(ev);
    });
    one_thread(&mut g, "project_bound", &events, |ev| bound.record(ev));
    one_thread(&mut g, "raw_sdk", &events, |ev| raw.sdk.record(ev));
    one_thread(&mut g, "prometheus", &events, |ev| prom.record(ev));
    g.finish();

    let mut g = group(c, "purchase_event_2_threads", 2);
    two_threads(&mut g, "floor", &events, |ev| floor.record(ev));
    two_threads(&mut g, "project_tracker", &events, |ev| {
        project.record_tracker(ev);
    });
    two_threads(&mut g, "project_calls", &events, |ev| {
        project.record_calls(ev);
    });
    two_threads(&mut g, "project_bound", &events, |ev| bound.record(ev));
    two_threads(&mut g, "raw_sdk", &events, |ev| raw.sdk.record(ev));
    two_threads(&mut g, "prometheus", &events, |ev| prom.record(ev));
    g.finish();

    // Every event landed in the series the small pools allow, and nothing overflowed.
    // The tracker also creates each context's `checkout_error` series at 0.
    let expected = pools.expected_series();
    let project_series = check_series(
        "project",
        &project.scrape(),
        expected + pools.funnel_contexts(),
    );
    let raw_series = check_series("raw_sdk", &raw.scrape(), expected);
    let prom_series = check_series("prometheus", &prom.scrape(), expected);
    write_result(
        "small_series",
        &json!({
            "expected_business_series": expected,
            "project": project_series.series,
            "raw_sdk": raw_series.series,
            "prometheus": prom_series.series,
        }),
    );
}

/// One update on a series both threads share, beside the purchase event: a
/// counter step on the project's held funnel handle (one striped cell), and an
/// observation on `opentelemetry_sdk`'s bound histogram, what each histogram
/// observation of a purchase costs.
fn one_update(c: &mut Criterion) {
    let events = Pools::small().cycle();
    let project = Project::start();
    let funnel = project
        .metrics()
        .bind_funnel(&FunnelContext::new("direct", DeviceType::Mobile))
        .expect("valid context");
    let (provider, _exporter) = in_memory_provider();
    let histogram = provider
        .meter("bench")
        .f64_histogram("bench.observation")
        .build()
        .bind(&[KeyValue::new("conversion_type", PURCHASE)]);

    let mut g = group(c, "one_update", 1);
    one_thread(&mut g, "project_counter", &events, |_| {
        funnel.step(CheckoutStep::CartView);
    });
    one_thread(&mut g, "sdk_bound_histogram", &events, |ev| {
        histogram.record(ev.ttc_secs);
    });
    g.finish();

    let mut g = group(c, "one_update_2_threads", 2);
    two_threads(&mut g, "project_counter", &events, |_| {
        funnel.step(CheckoutStep::CartView);
    });
    two_threads(&mut g, "sdk_bound_histogram", &events, |ev| {
        histogram.record(ev.ttc_secs);
    });
    g.finish();
}

fn slow_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat)
        .measurement_time(measurement_time())
        .warm_up_time(Duration::from_secs(1))
        .sample_size(10);
    g
}

fn populate(pools: &Pools, record: impl Fn(&Event)) {
    for i in 0..pools.covering_events() {
        record(&pools.event(i));
    }
}

fn render_10k(c: &mut Criterion) {
    let pools = Pools::large();
    let expected = pools.expected_series();
    let project = Project::start();
    populate(&pools, |ev| project.record_calls(ev));
    let project_text = project.scrape();
    let project_count = check_series("project", &project_text, expected);

    let raw = RawSdkPrometheus::start();
    populate(&pools, |ev| raw.sdk.record(ev));
    let raw_text = raw.scrape();
    let raw_count = check_series("raw_sdk", &raw_text, expected);
    assert_eq!(
        count_series(&String::from_utf8(raw.render()).unwrap()),
        raw_count
    );

    let raw_shared = RawSdkPrometheus::start_with_values(true);
    populate(&pools, |ev| raw_shared.sdk.record(ev));
    check_series("raw_sdk_shared_values", &raw_shared.scrape(), expected);

    let prom = PromCrate::start();
    populate(&pools, |ev| prom.record(ev));
    let prom_text = prom.scrape();
    let prom_count = check_series("prometheus", &prom_text, expected);

    write_result(
        "large_series",
        &json!({
            "expected_business_series": expected,
            "project": {"series": project_count.series, "revenue_per_minute_series": project_count.per_minute, "samples": project_count.samples, "bytes": project_text.len()},
            "raw_sdk": {"series": raw_count.series, "samples": raw_count.samples, "bytes": raw_text.len()},
            "prometheus": {"series": prom_count.series, "samples": prom_count.samples, "bytes": prom_text.len()},
        }),
    );

    let mut g = slow_group(c, "render_10k");
    g.bench_function("project_scrape", |b| b.iter(|| project.scrape()));
    g.bench_function("raw_sdk_render", |b| b.iter(|| raw.render()));
    g.bench_function("raw_sdk_scrape", |b| b.iter(|| raw.scrape()));
    g.bench_function("raw_sdk_shared_values_scrape", |b| {
        b.iter(|| raw_shared.scrape());
    });
    g.bench_function("prometheus_render", |b| b.iter(|| prom.render()));
    g.bench_function("prometheus_scrape", |b| b.iter(|| prom.scrape()));
    g.finish();
}

fn otlp_encode_10k(c: &mut Criterion) {
    let pools = Pools::large();
    let expected = pools.expected_series();

    let (project_provider, project_exporter) = in_memory_provider();
    let metrics = project_metrics(&project_provider);
    populate(&pools, |ev| record_calls(&metrics, ev));
    let project_rm = otlp::collect(&project_provider, &project_exporter);
    let project_points = otlp::count_points("project", &project_rm);
    assert_eq!(project_points, expected);

    let (raw_provider, raw_exporter) = in_memory_provider();
    let raw = RawSdk::new(&raw_provider);
    populate(&pools, |ev| raw.record(ev));
    let raw_rm = otlp::collect(&raw_provider, &raw_exporter);
    let raw_points = otlp::count_points("raw_sdk", &raw_rm);
    assert_eq!(raw_points, expected);

    // The exporter sends the bytes prost writes for opentelemetry-proto's request.
    let mut exporter = otlp::ExporterEncoding::default();
    let project_bytes = exporter.encode(&project_rm).len();
    assert!(exporter.encode(&project_rm) == otlp::encode(&project_rm).as_slice());

    write_result(
        "otlp",
        &json!({
            "project": {"points": project_points, "bytes": project_bytes},
            "raw_sdk": {"points": raw_points, "bytes": otlp::encode(&raw_rm).len()},
        }),
    );

    let mut g = slow_group(c, "otlp_encode_10k");
    g.bench_function("project", |b| {
        b.iter(|| exporter.encode(&project_rm).len());
    });
    g.bench_function("raw_sdk", |b| b.iter(|| otlp::encode(&raw_rm)));
    g.finish();
}

criterion_group!(benches, hot_path, one_update, render_10k, otlp_encode_10k);
criterion_main!(benches);
