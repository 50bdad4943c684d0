//! The checked-in `examples/saas/generated/` is exactly what the product's catalog
//! generates: METRICS.md, the signup funnel's rules, promtool tests, dashboard and
//! runbooks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use business_metrics::generate;

#[test]
fn generated_files_match_the_catalog() {
    let files = generate::files(&saas::catalog().unwrap(), saas::GENERATED);
    let names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    assert_eq!(
        names,
        [
            "METRICS.md",
            "prometheus/rules/funnel_signup.yml",
            "prometheus/tests/funnel_signup_test.yml",
            "grafana/funnel_signup.json",
            "runbooks/SignupConversionRateLow.md",
            "runbooks/SignupFunnelAbsent.md",
            "prometheus/rules/money.yml",
            "prometheus/tests/money_test.yml",
            "grafana/money.json"
        ]
    );
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/generated"));
    let stale = generate::stale(dir, &files);
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; run `cargo run -p saas --bin saas-generate -- --out examples/saas/generated`"
    );
    let metrics = &files[0].text;
    for name in ["saas_mrr_cents", "saas_seats", "business_funnel_step_total"] {
        assert!(metrics.contains(&format!("## {name}")), "{name}");
    }
    assert!(metrics.contains("Funnel `signup`: steps `landing_view` → `signup_started`"));
    let money = &files[6].text;
    assert!(
        money.contains("- record: currency:saas_mrr_cents:major"),
        "{money}"
    );
    assert!(money.contains("- record: currency:saas_invoice_amount_cents:p50_major_rate1h"));
}
