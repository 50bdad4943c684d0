//! `docs/METRICS.md` is exactly what the catalog renders.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use business_metrics::catalog::CATALOG;
use business_metrics::generate::{self, Provenance};
use business_metrics::Catalog;

fn provenance() -> Provenance<'static> {
    generate::BUILT_IN
}

fn render() -> String {
    business_metrics::render_metrics_markdown(
        &Catalog::built_in(),
        provenance().source,
        provenance().command,
    )
}

#[test]
fn generated_rules_tests_and_dashboards_are_current() {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../otel-collector/generated"
    ));
    let (runbooks, files): (Vec<_>, Vec<_>) = generate::files(&Catalog::built_in(), provenance())
        .into_iter()
        .filter(|f| f.path != std::path::Path::new("METRICS.md"))
        .partition(|f| f.path.starts_with("runbooks"));
    assert_eq!(
        files.len(),
        6,
        "the checkout funnel and money: rules, tests, dashboard each"
    );
    let stale = generate::stale(dir, &files);
    assert!(
        stale.is_empty(),
        "stale under otel-collector/generated: {stale:?}; run `cargo run -p business-metrics --example generate -- --write`"
    );
    let paths: Vec<_> = runbooks
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "runbooks/CheckoutConversionRateLow.md",
            "runbooks/CheckoutFunnelAbsent.md"
        ]
    );
    let docs = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs"));
    let stale = generate::stale(docs, &runbooks);
    assert!(
        stale.is_empty(),
        "stale under docs: {stale:?}; run `cargo run -p business-metrics --example generate -- --write`"
    );
}

#[test]
fn metrics_md_matches_the_catalog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/METRICS.md");
    let on_disk = std::fs::read_to_string(path).unwrap();
    assert!(
        on_disk == render(),
        "docs/METRICS.md is stale: run `cargo run -p business-metrics --example generate -- --write`"
    );
}

#[test]
fn rendered_docs_name_every_metric_with_owner_buckets_and_prometheus_series() {
    let text = render();
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
