//! A collection written straight to the protobuf bytes of an OTLP
//! `ExportMetricsServiceRequest`: no intermediate messages, no copies of attribute
//! keys or values, and buffers kept from one export to the next.
//!
//! The bytes are those prost writes for the request `opentelemetry-proto` builds
//! from the same collection (`ExportMetricsServiceRequest::from`): the same fields
//! in the same order (by field number, a `oneof` at its lowest one), the same
//! defaults left out, the same conversions (an unsigned value past `i64::MAX`
//! becomes 0, as there; times are nanoseconds since the epoch, 0 before it).
//!
//! The feature `testing` re-exports the encoder for benchmarks; without it, its
//! public items are the crate's own.
#![cfg_attr(not(feature = "testing"), allow(unreachable_pub))]

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, Exemplar, ExponentialBucket, ExponentialHistogram,
    ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric, MetricData,
    ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::Resource;

use super::protobuf::{Measure, Sink, Write};

/// Encodes collections as OTLP protobuf request bodies, keeping its buffers
/// between them.
///
/// This is the encoder of the exporter's `http/protobuf` and `grpc` transports.
#[derive(Debug, Default)]
pub struct OtlpEncoder {
    /// The length of every nested message, in the order they open.
    lengths: Vec<usize>,
}

/// A collection that could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoder's two passes over the collection disagreed: a bug in this crate.
    #[error(
        "the OTLP encoder's measuring and writing passes disagreed; please report this \
         as a bug of business-metrics-exporter"
    )]
    Inconsistent,
}

impl OtlpEncoder {
    /// Appends the protobuf `ExportMetricsServiceRequest` of `metrics` to `out`.
    ///
    /// # Errors
    /// [`EncodeError::Inconsistent`] if the encoder has a bug; `out` then holds
    /// what it held before.
    pub fn encode(
        &mut self,
        metrics: &ResourceMetrics,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let mut measure = Measure::new(&mut self.lengths);
        request(&mut measure, metrics);
        let len = measure.len();
        let start = out.len();
        out.reserve(len);
        let mut write = Write::new(out, &self.lengths);
        request(&mut write, metrics);
        if write.finish() && out.len() - start == len {
            Ok(())
        } else {
            out.truncate(start);
            Err(EncodeError::Inconsistent)
        }
    }
}

/// `ExportMetricsServiceRequest`: one `ResourceMetrics`.
fn request<S: Sink>(s: &mut S, metrics: &ResourceMetrics) {
    s.message(1, |s| resource_metrics(s, metrics));
}

fn resource_metrics<S: Sink>(s: &mut S, metrics: &ResourceMetrics) {
    let resource = metrics.resource();
    s.message(1, |s| resource_fields(s, resource));
    for scope_metrics in metrics.scope_metrics() {
        s.message(2, |s| scope_metrics_fields(s, scope_metrics));
    }
    s.bytes_field(3, resource.schema_url().unwrap_or_default().as_bytes());
}

fn resource_fields<S: Sink>(s: &mut S, resource: &Resource) {
    for (key, value) in resource.iter() {
        s.message(1, |s| key_value(s, key.as_str(), value));
    }
}

fn scope_metrics_fields<S: Sink>(s: &mut S, scope_metrics: &ScopeMetrics) {
    let scope = scope_metrics.scope();
    s.message(1, |s| scope_fields(s, scope));
    for metric in scope_metrics.metrics() {
        s.message(2, |s| metric_fields(s, metric));
    }
    s.bytes_field(3, scope.schema_url().unwrap_or_default().as_bytes());
}

/// `InstrumentationScope`.
fn scope_fields<S: Sink>(s: &mut S, scope: &InstrumentationScope) {
    s.bytes_field(1, scope.name().as_bytes());
    s.bytes_field(2, scope.version().unwrap_or_default().as_bytes());
    attributes(s, 3, scope.attributes());
}

fn metric_fields<S: Sink>(s: &mut S, metric: &Metric) {
    s.bytes_field(1, metric.name().as_bytes());
    s.bytes_field(2, metric.description().as_bytes());
    s.bytes_field(3, metric.unit().as_bytes());
    match metric.data() {
        AggregatedMetrics::F64(data) => metric_data(s, data),
        AggregatedMetrics::U64(data) => metric_data(s, data),
        AggregatedMetrics::I64(data) => metric_data(s, data),
    }
}

/// The `data` of a `Metric`.
fn metric_data<S: Sink, T: Number>(s: &mut S, data: &MetricData<T>) {
    match data {
        MetricData::Gauge(gauge) => s.message(5, |s| gauge_fields(s, gauge)),
        MetricData::Sum(sum) => s.message(7, |s| sum_fields(s, sum)),
        MetricData::Histogram(histogram) => s.message(9, |s| histogram_fields(s, histogram)),
        MetricData::ExponentialHistogram(histogram) => {
            s.message(10, |s| exponential_histogram_fields(s, histogram));
        }
    }
}

fn gauge_fields<S: Sink, T: Number>(s: &mut S, gauge: &Gauge<T>) {
    let start = gauge.start_time().map_or(0, nanos);
    let time = nanos(gauge.time());
    for point in gauge.data_points() {
        s.message(1, |s| {
            number_point(
                s,
                start,
                time,
                point.value(),
                point.attributes(),
                point.exemplars(),
            );
        });
    }
}

fn sum_fields<S: Sink, T: Number>(s: &mut S, sum: &Sum<T>) {
    let (start, time) = (nanos(sum.start_time()), nanos(sum.time()));
    for point in sum.data_points() {
        s.message(1, |s| {
            number_point(
                s,
                start,
                time,
                point.value(),
                point.attributes(),
                point.exemplars(),
            );
        });
    }
    s.varint_field(2, temporality(sum.temporality()));
    s.varint_field(3, u64::from(sum.is_monotonic()));
}

/// `NumberDataPoint`.
fn number_point<'a, S: Sink, T: Number + 'a>(
    s: &mut S,
    start: u64,
    time: u64,
    value: T,
    attrs: impl Iterator<Item = &'a KeyValue>,
    exemplars: impl Iterator<Item = &'a Exemplar<T>>,
) {
    s.fixed64_field(2, start);
    s.fixed64_field(3, time);
    // `as_double` = 4, `as_int` = 6.
    value.write(s, 4, 6);
    for exemplar in exemplars {
        s.message(5, |s| exemplar_fields(s, exemplar));
    }
    attributes(s, 7, attrs);
}

fn histogram_fields<S: Sink, T: Number>(s: &mut S, histogram: &Histogram<T>) {
    let (start, time) = (nanos(histogram.start_time()), nanos(histogram.time()));
    for point in histogram.data_points() {
        s.message(1, |s| histogram_point(s, start, time, point));
    }
    s.varint_field(2, temporality(histogram.temporality()));
}

/// `HistogramDataPoint`.
fn histogram_point<S: Sink, T: Number>(
    s: &mut S,
    start: u64,
    time: u64,
    point: &HistogramDataPoint<T>,
) {
    s.fixed64_field(2, start);
    s.fixed64_field(3, time);
    s.fixed64_field(4, point.count());
    s.fixed64_always(5, point.sum().as_f64().to_bits());
    s.packed_fixed64(6, || point.bucket_counts());
    s.packed_fixed64(7, || point.bounds().map(f64::to_bits));
    for exemplar in point.exemplars() {
        s.message(8, |s| exemplar_fields(s, exemplar));
    }
    attributes(s, 9, point.attributes());
    if let Some(min) = point.min() {
        s.fixed64_always(11, min.as_f64().to_bits());
    }
    if let Some(max) = point.max() {
        s.fixed64_always(12, max.as_f64().to_bits());
    }
}

fn exponential_histogram_fields<S: Sink, T: Number>(
    s: &mut S,
    histogram: &ExponentialHistogram<T>,
) {
    let (start, time) = (nanos(histogram.start_time()), nanos(histogram.time()));
    for point in histogram.data_points() {
        s.message(1, |s| exponential_point(s, start, time, point));
    }
    s.varint_field(2, temporality(histogram.temporality()));
}

/// `ExponentialHistogramDataPoint`.
fn exponential_point<S: Sink, T: Number>(
    s: &mut S,
    start: u64,
    time: u64,
    point: &ExponentialHistogramDataPoint<T>,
) {
    attributes(s, 1, point.attributes());
    s.fixed64_field(2, start);
    s.fixed64_field(3, time);
    s.fixed64_field(4, u64::try_from(point.count()).unwrap_or(u64::MAX));
    s.fixed64_always(5, point.sum().as_f64().to_bits());
    s.sint32_field(6, i32::from(point.scale()));
    s.fixed64_field(7, point.zero_count());
    s.message(8, |s| buckets(s, point.positive_bucket()));
    s.message(9, |s| buckets(s, point.negative_bucket()));
    for exemplar in point.exemplars() {
        s.message(11, |s| exemplar_fields(s, exemplar));
    }
    if let Some(min) = point.min() {
        s.fixed64_always(12, min.as_f64().to_bits());
    }
    if let Some(max) = point.max() {
        s.fixed64_always(13, max.as_f64().to_bits());
    }
    s.double_field(14, point.zero_threshold());
}

/// `ExponentialHistogramDataPoint.Buckets`.
fn buckets<S: Sink>(s: &mut S, bucket: &ExponentialBucket) {
    s.sint32_field(1, bucket.offset());
    s.packed_varint(2, || bucket.counts());
}

fn exemplar_fields<S: Sink, T: Number>(s: &mut S, exemplar: &Exemplar<T>) {
    s.fixed64_field(2, nanos(exemplar.time()));
    // `as_double` = 3, `as_int` = 6.
    exemplar.value.write(s, 3, 6);
    s.bytes_field(4, exemplar.span_id());
    s.bytes_field(5, exemplar.trace_id());
    attributes(s, 7, exemplar.filtered_attributes());
}

/// Repeated `KeyValue` field `field`.
fn attributes<'a, S: Sink>(s: &mut S, field: u32, attrs: impl Iterator<Item = &'a KeyValue>) {
    for kv in attrs {
        s.message(field, |s| key_value(s, kv.key.as_str(), &kv.value));
    }
}

/// `KeyValue`.
fn key_value<S: Sink>(s: &mut S, key: &str, value: &Value) {
    s.bytes_field(1, key.as_bytes());
    s.message(2, |s| any_value(s, value));
}

/// `AnyValue`.
fn any_value<S: Sink>(s: &mut S, value: &Value) {
    match value {
        Value::String(v) => s.bytes_always(1, v.as_str().as_bytes()),
        Value::Bool(v) => s.varint_always(2, u64::from(*v)),
        Value::I64(v) => s.varint_always(3, v.cast_unsigned()),
        Value::F64(v) => s.fixed64_always(4, v.to_bits()),
        Value::Array(array) => s.message(5, |s| array_values(s, array)),
        // A kind of value newer than this encoder: its text.
        other => s.bytes_always(1, other.to_string().as_bytes()),
    }
}

/// `ArrayValue`: each element an `AnyValue` of field 1.
fn array_values<S: Sink>(s: &mut S, array: &Array) {
    match array {
        Array::Bool(values) => {
            for v in values {
                s.message(1, |s| s.varint_always(2, u64::from(*v)));
            }
        }
        Array::I64(values) => {
            for v in values {
                s.message(1, |s| s.varint_always(3, v.cast_unsigned()));
            }
        }
        Array::F64(values) => {
            for v in values {
                s.message(1, |s| s.fixed64_always(4, v.to_bits()));
            }
        }
        Array::String(values) => {
            for v in values {
                s.message(1, |s| s.bytes_always(1, v.as_str().as_bytes()));
            }
        }
        // A kind of array newer than this encoder: its text.
        other => s.message(1, |s| s.bytes_always(1, other.to_string().as_bytes())),
    }
}

/// `AggregationTemporality`: `DELTA` = 1, `CUMULATIVE` = 2 (also for kinds the
/// protocol lacks, as opentelemetry-proto does).
fn temporality(temporality: Temporality) -> u64 {
    match temporality {
        Temporality::Delta => 1,
        _ => 2,
    }
}

/// Nanoseconds since the epoch, modulo 2^64; 0 before the epoch.
fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| {
        d.as_secs()
            .wrapping_mul(1_000_000_000)
            .wrapping_add(u64::from(d.subsec_nanos()))
    })
}

/// A number type the SDK aggregates, as OTLP carries it.
trait Number: Copy {
    /// The value as a `double` (lossy past 2^53 for integers).
    fn as_f64(self) -> f64;
    /// The value in a `oneof` of a `double` field and an `sfixed64` field.
    fn write<S: Sink>(self, s: &mut S, double: u32, int: u32);
}

impl Number for f64 {
    fn as_f64(self) -> f64 {
        self
    }

    fn write<S: Sink>(self, s: &mut S, double: u32, _int: u32) {
        s.fixed64_always(double, self.to_bits());
    }
}

impl Number for i64 {
    #[allow(clippy::cast_precision_loss)]
    fn as_f64(self) -> f64 {
        self as f64
    }

    fn write<S: Sink>(self, s: &mut S, _double: u32, int: u32) {
        s.fixed64_always(int, self.cast_unsigned());
    }
}

impl Number for u64 {
    #[allow(clippy::cast_precision_loss)]
    fn as_f64(self) -> f64 {
        self as f64
    }

    fn write<S: Sink>(self, s: &mut S, _double: u32, int: u32) {
        // Past `i64::MAX` the protocol's signed integer cannot hold it: 0, as
        // opentelemetry-proto sends.
        let value = i64::try_from(self).unwrap_or_default();
        s.fixed64_always(int, value.cast_unsigned());
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
