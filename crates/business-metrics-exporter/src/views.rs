//! Views built from the metric catalog: bucket boundaries, allowed attribute keys,
//! and a cardinality limit on every instrument.

use opentelemetry::Key;
use opentelemetry_sdk::metrics::{Aggregation, Instrument, Stream};

use business_metrics::catalog::{self, MetricDescriptor};

/// The stream an instrument gets: for a catalog instrument of the
/// `business-metrics` scope, the catalog's buckets and attribute keys; for every
/// instrument, the cardinality limit.
///
/// Returns `None` (the SDK's default stream) only if the stream cannot be built,
/// which the catalog's own tests rule out.
pub(crate) fn stream_for(instrument: &Instrument, cardinality_limit: usize) -> Option<Stream> {
    let builder = Stream::builder().with_cardinality_limit(cardinality_limit);
    let builder = match catalog_entry(instrument) {
        Some(d) => {
            let b = builder
                .with_allowed_attribute_keys(d.attributes.iter().map(|k| Key::from_static_str(k)));
            if d.is_histogram() {
                b.with_aggregation(Aggregation::ExplicitBucketHistogram {
                    boundaries: d.buckets.to_vec(),
                    record_min_max: true,
                })
            } else {
                b
            }
        }
        None => builder,
    };
    builder.build().ok()
}

fn catalog_entry(instrument: &Instrument) -> Option<&'static MetricDescriptor> {
    if instrument.scope().name() != business_metrics::SCOPE_NAME {
        return None;
    }
    catalog::descriptor(instrument.name())
}
