//! OTLP export encoding: the SDK's `ResourceMetrics` turned into the protobuf bytes
//! an OTLP exporter sends, by the project's exporter (its own encoder) or as a team
//! using opentelemetry-proto would (its transform, then prost).

use business_metrics_exporter::testing::OtlpEncoder;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
use prost::Message as _;

/// Collects once and returns what the reader exported.
pub fn collect(provider: &SdkMeterProvider, exporter: &InMemoryMetricExporter) -> ResourceMetrics {
    provider.force_flush().expect("collection");
    exporter
        .get_finished_metrics()
        .expect("exported metrics")
        .into_iter()
        .next_back()
        .expect("one collection")
}

/// The request body for one collection with opentelemetry-proto and prost.
pub fn encode(rm: &ResourceMetrics) -> Vec<u8> {
    ExportMetricsServiceRequest::from(rm).encode_to_vec()
}

/// The project's OTLP encoding as its `http/protobuf` exporter runs it: one encoder
/// and one body buffer, kept from one export to the next.
#[derive(Default)]
pub struct ExporterEncoding {
    encoder: OtlpEncoder,
    body: Vec<u8>,
}

impl ExporterEncoding {
    /// The request body the exporter sends for one collection.
    pub fn encode(&mut self, rm: &ResourceMetrics) -> &[u8] {
        self.body.clear();
        self.encoder
            .encode(rm, &mut self.body)
            .expect("the exporter encodes the collection");
        &self.body
    }
}

const PER_MINUTE: &str = "business.revenue_per_minute_cents";

fn points<T>(data: &MetricData<T>) -> Vec<Vec<String>> {
    let keys = |attrs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
        attrs.map(|kv| kv.key.to_string()).collect::<Vec<_>>()
    };
    match data {
        MetricData::Gauge(g) => g.data_points().map(|p| keys(&mut p.attributes())).collect(),
        MetricData::Sum(s) => s.data_points().map(|p| keys(&mut p.attributes())).collect(),
        MetricData::Histogram(h) => h.data_points().map(|p| keys(&mut p.attributes())).collect(),
        MetricData::ExponentialHistogram(h) => {
            h.data_points().map(|p| keys(&mut p.attributes())).collect()
        }
    }
}

/// Data points (series) of the `business.*` instruments the reference workload
/// records (not the derived `business.revenue_per_minute_cents`), failing on an
/// overflow series.
pub fn count_points(peer: &str, rm: &ResourceMetrics) -> usize {
    let mut total = 0;
    for metric in rm
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .filter(|m| m.name().starts_with("business.") && m.name() != PER_MINUTE)
    {
        let pts = match metric.data() {
            AggregatedMetrics::F64(d) => points(d),
            AggregatedMetrics::U64(d) => points(d),
            AggregatedMetrics::I64(d) => points(d),
        };
        assert!(
            pts.iter()
                .all(|keys| !keys.iter().any(|k| k == "otel.metric.overflow")),
            "{peer}: {} overflowed its cardinality limit",
            metric.name()
        );
        total += pts.len();
    }
    total
}
