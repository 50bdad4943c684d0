//! `docs/METRICS.md` is exactly what the catalog renders.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use business_metrics::catalog::CATALOG;

#[test]
fn metrics_md_matches_the_catalog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/METRICS.md");
    let on_disk = std::fs::read_to_string(path).unwrap();
    assert!(
        on_disk == business_metrics::render_metrics_markdown(),
        "docs/METRICS.md is stale: run `cargo run -p business-metrics --example metrics_doc -- --write`"
    );
}

#[test]
fn rendered_docs_name_every_metric_with_owner_buckets_and_prometheus_series() {
    let text = business_metrics::render_metrics_markdown();
    for d in CATALOG {
        let section = text
            .split("\n## ")
            .find(|s| s.starts_with(&format!("{}\n", d.prometheus_name)))
            .unwrap_or_else(|| panic!("no section for {}", d.prometheus_name));
        assert!(section.contains(&format!("- OpenTelemetry instrument: `{}`", d.name)));
        assert!(section.contains(&format!("- Unit: `{}`", d.unit)));
        assert!(section.contains(&format!("- Owner: {}", d.owner)));
        assert!(section.contains(d.alert_threshold.unwrap_or("Alert threshold: none")));
        for key in d.attributes {
            assert!(section.contains(&format!("`{key}`")), "{} {key}", d.name);
        }
        if d.is_histogram() {
            let buckets: Vec<String> = d.buckets.iter().map(ToString::to_string).collect();
            assert!(section.contains(&format!("- Buckets: {}", buckets.join(", "))));
            assert!(section.contains(&format!("`{}_bucket`", d.prometheus_name)));
        }
    }
}
