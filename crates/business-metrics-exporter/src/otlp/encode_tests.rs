//! The encoder against opentelemetry-proto's transform and prost, on a collection
//! holding every kind of data the SDK gives an exporter.

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::{
    Aggregation, InMemoryMetricExporterBuilder, Instrument, PeriodicReader, SdkMeterProvider,
    Stream, Temporality,
};
use opentelemetry_sdk::Resource;
use prost::Message as _;

use super::OtlpEncoder;

/// One attribute of every kind of value, arrays of each kind included.
fn every_kind_of_value(prefix: &str) -> Vec<KeyValue> {
    vec![
        KeyValue::new(format!("{prefix}.string"), "a \"quoted\" value\n€"),
        KeyValue::new(format!("{prefix}.empty"), ""),
        KeyValue::new(format!("{prefix}.true"), true),
        KeyValue::new(format!("{prefix}.false"), false),
        KeyValue::new(format!("{prefix}.int"), 42_i64),
        KeyValue::new(format!("{prefix}.negative"), -7_i64),
        KeyValue::new(format!("{prefix}.zero"), 0_i64),
        KeyValue::new(format!("{prefix}.double"), 2.5_f64),
        KeyValue::new(format!("{prefix}.double_zero"), 0.0_f64),
        KeyValue::new(
            format!("{prefix}.strings"),
            Value::Array(Array::String(vec![
                StringValue::from("a"),
                StringValue::from(""),
                StringValue::from("c".repeat(300)),
            ])),
        ),
        KeyValue::new(
            format!("{prefix}.bools"),
            Value::Array(Array::Bool(vec![true, false])),
        ),
        KeyValue::new(
            format!("{prefix}.ints"),
            Value::Array(Array::I64(vec![i64::MIN, 0, i64::MAX])),
        ),
        KeyValue::new(
            format!("{prefix}.doubles"),
            Value::Array(Array::F64(vec![-1.5, 0.0, f64::MAX])),
        ),
        KeyValue::new(
            format!("{prefix}.no_ints"),
            Value::Array(Array::I64(vec![])),
        ),
    ]
}

/// Histograms without min and max, and exponential ones, by instrument name.
fn view(instrument: &Instrument) -> Option<Stream> {
    let aggregation = match instrument.name() {
        name if name.ends_with(".no_min_max") => Aggregation::ExplicitBucketHistogram {
            boundaries: vec![0.5, 10.0, 1_000.0],
            record_min_max: false,
        },
        name if name.ends_with(".exponential") => Aggregation::Base2ExponentialHistogram {
            max_size: 160,
            max_scale: 20,
            record_min_max: true,
        },
        _ => return None,
    };
    Stream::builder().with_aggregation(aggregation).build().ok()
}

/// A collection of every instrument kind, with `temporality`.
fn collection(temporality: Temporality) -> ResourceMetrics {
    let exporter = InMemoryMetricExporterBuilder::new()
        .with_temporality(temporality)
        .build();
    let resource = Resource::builder_empty()
        .with_schema_url(
            every_kind_of_value("resource"),
            "https://opentelemetry.io/schemas/1.30.0",
        )
        .build();
    let provider = SdkMeterProvider::builder()
        .with_resource(resource)
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .with_view(view)
        .build();
    let scope = InstrumentationScope::builder("business-metrics")
        .with_version("0.1.0")
        .with_schema_url("https://example.com/schema")
        .with_attributes(every_kind_of_value("scope"))
        .build();
    let meter = provider.meter_with_scope(scope);
    // A scope without version, schema or attributes.
    let bare = provider.meter("bare");

    let attrs = every_kind_of_value("point");
    let one = [KeyValue::new("region", "eu")];
    let counter = meter
        .u64_counter("business.funnel_step")
        .with_unit("{step}")
        .with_description("Steps")
        .build();
    counter.add(3, &attrs);
    counter.add(1, &one);
    counter.add(0, &[]);
    // Past `i64::MAX`, which OTLP's signed integer cannot carry.
    meter.u64_counter("huge").build().add(u64::MAX, &one);
    let f64_counter = meter.f64_counter("f64_counter").with_unit("s").build();
    f64_counter.add(0.25, &attrs);
    f64_counter.add(1e300, &one);
    let up_down = meter.i64_up_down_counter("i64_up_down").build();
    up_down.add(-5, &attrs);
    up_down.add(i64::MIN, &one);
    meter
        .f64_up_down_counter("f64_up_down")
        .build()
        .add(-0.5, &one);
    meter.u64_gauge("u64_gauge").build().record(7, &attrs);
    meter.i64_gauge("i64_gauge").build().record(-7, &one);
    meter.f64_gauge("f64_gauge").build().record(-0.0, &one);
    let _observable = meter
        .u64_observable_counter("observable_counter")
        .with_callback(|o| o.observe(12, &[KeyValue::new("region", "us")]))
        .build();
    let _observable_gauge = meter
        .f64_observable_gauge("observable_gauge")
        .with_callback(|o| o.observe(0.125, &[]))
        .build();

    let histogram = meter
        .f64_histogram("business.time_to_conversion")
        .with_unit("s")
        .with_boundaries(vec![30.0, 60.0, 120.0])
        .build();
    histogram.record(45.5, &attrs);
    histogram.record(1e9, &attrs);
    histogram.record(-3.0, &one);
    let u64_histogram = meter.u64_histogram("u64_histogram.no_min_max").build();
    u64_histogram.record(5, &attrs);
    u64_histogram.record(5_000, &one);
    meter
        .f64_histogram("f64_histogram.exponential")
        .build()
        .record(3.5, &attrs);
    let exponential = meter.u64_histogram("u64_histogram.exponential").build();
    for v in [0, 1, 2, 1_000, 1_000_000] {
        exponential.record(v, &one);
    }
    bare.u64_counter("bare_counter").build().add(1, &[]);
    // Declared, never recorded.
    let _silent = meter.u64_counter("silent").build();

    provider.force_flush().expect("a collection");
    let collected = exporter
        .get_finished_metrics()
        .expect("exported metrics")
        .into_iter()
        .next_back()
        .expect("one collection");
    provider.shutdown().expect("shutdown");
    collected
}

fn encoded(encoder: &mut OtlpEncoder, metrics: &ResourceMetrics) -> Vec<u8> {
    let mut out = Vec::new();
    encoder.encode(metrics, &mut out).expect("encoded");
    out
}

#[test]
fn the_encoding_decodes_to_the_request_opentelemetry_proto_builds() {
    let mut encoder = OtlpEncoder::default();
    for temporality in [Temporality::Cumulative, Temporality::Delta] {
        let metrics = collection(temporality);
        let expected = ExportMetricsServiceRequest::from(&metrics);
        let sent = encoded(&mut encoder, &metrics);
        let decoded = ExportMetricsServiceRequest::decode(sent.as_slice()).expect("decodable");
        let from_prost =
            ExportMetricsServiceRequest::decode(expected.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, from_prost, "{temporality:?}");
        assert_eq!(decoded, expected, "{temporality:?}");

        // Every kind of data is there.
        let scopes = &decoded.resource_metrics[0].scope_metrics;
        assert_eq!(scopes.len(), 2);
        let data = |name: &str| {
            let metric = scopes
                .iter()
                .flat_map(|s| &s.metrics)
                .find(|m| m.name == name)
                .expect(name);
            metric.data.clone().expect("data")
        };
        use opentelemetry_proto::tonic::metrics::v1::metric::Data;
        assert!(matches!(data("huge"), Data::Sum(s) if s.is_monotonic));
        assert!(matches!(data("f64_up_down"), Data::Sum(s) if !s.is_monotonic));
        assert!(matches!(data("u64_gauge"), Data::Gauge(_)));
        assert!(matches!(
            data("u64_histogram.no_min_max"),
            Data::Histogram(h) if h.data_points.iter().all(|p| p.min.is_none())
        ));
        assert!(matches!(
            data("business.time_to_conversion"),
            Data::Histogram(h) if h.data_points.iter().all(|p| p.min.is_some())
        ));
        assert!(matches!(
            data("u64_histogram.exponential"),
            Data::ExponentialHistogram(_)
        ));
    }
}

#[test]
fn the_bytes_are_those_prost_writes_for_opentelemetry_protos_request() {
    let mut encoder = OtlpEncoder::default();
    for temporality in [Temporality::Cumulative, Temporality::Delta] {
        let metrics = collection(temporality);
        let expected = ExportMetricsServiceRequest::from(&metrics).encode_to_vec();
        assert!(
            encoded(&mut encoder, &metrics) == expected,
            "{temporality:?}: the bytes differ"
        );
    }
}

#[test]
fn an_empty_collection_is_a_request_with_its_resource() {
    let metrics = ResourceMetrics::default();
    let expected = ExportMetricsServiceRequest::from(&metrics).encode_to_vec();
    assert_eq!(encoded(&mut OtlpEncoder::default(), &metrics), expected);
}

#[test]
fn encoding_appends_and_reuses_the_encoders_buffers() {
    let metrics = collection(Temporality::Cumulative);
    let mut encoder = OtlpEncoder::default();
    let once = encoded(&mut encoder, &metrics);
    let mut out = b"kept".to_vec();
    encoder.encode(&metrics, &mut out).unwrap();
    encoder.encode(&metrics, &mut out).unwrap();
    assert_eq!(&out[..4], b"kept");
    assert_eq!(&out[4..], [once.as_slice(), once.as_slice()].concat());
}
