//! Views built from the metric catalog: bucket boundaries, allowed attribute keys,
//! and a cardinality limit on every instrument.

use opentelemetry::Key;
use opentelemetry_sdk::metrics::{Aggregation, Instrument, Stream};

use business_metrics::define::Buckets;
use business_metrics::{Catalog, CatalogEntry};

/// The stream an instrument gets: for a catalog instrument of the
/// `business-metrics` scope, the catalog's buckets and attribute keys; for every
/// instrument, the cardinality limit.
///
/// Returns `None` (the SDK's default stream) only if the stream cannot be built,
/// which the catalog's own tests rule out.
pub(crate) fn stream_for(
    instrument: &Instrument,
    cardinality_limit: usize,
    catalog: &Catalog,
) -> Option<Stream> {
    let builder = Stream::builder().with_cardinality_limit(cardinality_limit);
    let builder = match catalog_entry(instrument, catalog) {
        Some(e) => {
            // The catalog's keys, and the overflow attribute of a counter's series
            // past its limit.
            let b = builder.with_allowed_attribute_keys(
                e.attributes
                    .iter()
                    .chain([&business_metrics::OVERFLOW_ATTRIBUTE])
                    .map(|k| Key::from_static_str(k)),
            );
            match e.buckets {
                Some(Buckets::Explicit(boundaries)) => {
                    b.with_aggregation(Aggregation::ExplicitBucketHistogram {
                        boundaries: boundaries.to_vec(),
                        record_min_max: true,
                    })
                }
                Some(Buckets::Exponential {
                    max_size,
                    max_scale,
                }) => b.with_aggregation(Aggregation::Base2ExponentialHistogram {
                    max_size,
                    max_scale,
                    record_min_max: true,
                }),
                _ => b,
            }
        }
        None => builder,
    };
    builder.build().ok()
}

fn catalog_entry<'a>(instrument: &Instrument, catalog: &'a Catalog) -> Option<&'a CatalogEntry> {
    if instrument.scope().name() != business_metrics::SCOPE_NAME {
        return None;
    }
    catalog.entry(instrument.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use business_metrics::catalog::{names, ORDER_VALUE_BUCKETS};
    use opentelemetry::metrics::MeterProvider;
    use opentelemetry::KeyValue;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    fn provider(limit: usize) -> (SdkMeterProvider, InMemoryMetricExporter) {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .with_view(move |i| stream_for(i, limit, &Catalog::built_in()))
            .build();
        (provider, exporter)
    }

    fn collect(
        provider: &SdkMeterProvider,
        exporter: &InMemoryMetricExporter,
    ) -> Vec<ResourceMetrics> {
        provider.force_flush().unwrap();
        exporter.get_finished_metrics().unwrap()
    }

    #[test]
    fn catalog_buckets_and_attribute_keys_apply_whatever_the_instrument_said() {
        let (provider, exporter) = provider(2000);
        let meter = provider.meter_with_scope(business_metrics::instrumentation_scope());
        let h = meter
            .u64_histogram(names::ORDER_VALUE_CENTS)
            .with_boundaries(vec![1.0, 2.0, 3.0])
            .build();
        h.record(
            4_999,
            &[
                KeyValue::new("product_category", "books"),
                KeyValue::new("user_id", "u-123"),
            ],
        );
        let rm = collect(&provider, &exporter);
        let metric = rm
            .last()
            .unwrap()
            .scope_metrics()
            .flat_map(|s| s.metrics())
            .find(|m| m.name() == names::ORDER_VALUE_CENTS)
            .unwrap();
        let AggregatedMetrics::U64(MetricData::Histogram(hist)) = metric.data() else {
            panic!("not a u64 histogram");
        };
        let point = hist.data_points().next().unwrap();
        assert_eq!(point.bounds().collect::<Vec<_>>(), ORDER_VALUE_BUCKETS);
        assert_eq!(
            point.bucket_counts().collect::<Vec<_>>(),
            [0, 0, 0, 1, 0, 0, 0, 0]
        );
        let keys: Vec<String> = point.attributes().map(|kv| kv.key.to_string()).collect();
        assert_eq!(
            keys,
            ["product_category"],
            "a key outside the catalog is dropped"
        );
    }

    #[test]
    fn catalog_bucket_overrides_apply_explicit_or_exponential() {
        let catalog = business_metrics::Catalog::builder()
            .with_buckets(names::ORDER_VALUE_CENTS, &[1_000.0, 150_000.0])
            .with_exponential_buckets(names::TIME_TO_CONVERSION, 160, 20)
            .build()
            .unwrap();
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .with_view(move |i| stream_for(i, 2000, &catalog))
            .build();
        let meter = provider.meter_with_scope(business_metrics::instrumentation_scope());
        let order = meter.u64_histogram(names::ORDER_VALUE_CENTS).build();
        order.record(149_900, &[KeyValue::new("currency", "USD")]);
        let ttc = meter.f64_histogram(names::TIME_TO_CONVERSION).build();
        // A trial that converts after six days.
        ttc.record(
            518_400.0,
            &[KeyValue::new("conversion_type", "trial_to_paid")],
        );
        let rm = collect(&provider, &exporter);
        let metrics: Vec<_> = rm
            .last()
            .unwrap()
            .scope_metrics()
            .flat_map(|s| s.metrics())
            .collect();
        let order = metrics
            .iter()
            .find(|m| m.name() == names::ORDER_VALUE_CENTS)
            .unwrap();
        let AggregatedMetrics::U64(MetricData::Histogram(hist)) = order.data() else {
            panic!("not a u64 histogram");
        };
        let point = hist.data_points().next().unwrap();
        assert_eq!(point.bounds().collect::<Vec<_>>(), [1_000.0, 150_000.0]);
        assert_eq!(
            point.bucket_counts().collect::<Vec<_>>(),
            [0, 1, 0],
            "1,499 USD is below 1,500"
        );
        let ttc = metrics
            .iter()
            .find(|m| m.name() == names::TIME_TO_CONVERSION)
            .unwrap();
        let AggregatedMetrics::F64(MetricData::ExponentialHistogram(exp)) = ttc.data() else {
            panic!("not an exponential histogram");
        };
        let point = exp.data_points().next().unwrap();
        assert_eq!(point.count(), 1);
        assert_eq!(point.max(), Some(518_400.0));
    }

    #[test]
    fn instruments_of_other_scopes_keep_their_own_buckets_but_get_the_limit() {
        let (provider, exporter) = provider(2);
        let meter = provider.meter("http");
        let h = meter
            .f64_histogram(names::ORDER_VALUE_CENTS)
            .with_boundaries(vec![1.0, 2.0])
            .build();
        for route in ["/a", "/b", "/c", "/d"] {
            h.record(1.5, &[KeyValue::new("route", route)]);
        }
        let rm = collect(&provider, &exporter);
        let metric = rm
            .last()
            .unwrap()
            .scope_metrics()
            .flat_map(|s| s.metrics())
            .next()
            .unwrap();
        let AggregatedMetrics::F64(MetricData::Histogram(hist)) = metric.data() else {
            panic!("not an f64 histogram");
        };
        let mut points: Vec<(Vec<String>, u64, Vec<f64>)> = hist
            .data_points()
            .map(|p| {
                let attrs = p
                    .attributes()
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect();
                (attrs, p.count(), p.bounds().collect())
            })
            .collect();
        points.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            points,
            [
                (
                    vec!["otel.metric.overflow=true".to_owned()],
                    2,
                    vec![1.0, 2.0]
                ),
                (vec!["route=/a".to_owned()], 1, vec![1.0, 2.0]),
                (vec!["route=/b".to_owned()], 1, vec![1.0, 2.0]),
            ]
        );
    }
}
