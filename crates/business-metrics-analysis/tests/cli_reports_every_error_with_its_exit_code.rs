//! Every way `bizmetrics` can fail, through the binary, with its exit code and a
//! message saying what to do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod support;

use std::process::Output;

use support::money::BROKEN;
use support::{bizmetrics, correlate_args, free_port, funnel_args, revenue_args, start_prometheus};

fn assert_fails(output: &Output, code: i32, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(code),
        "stderr: {stderr}\nstdout: {stdout}"
    );
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
    assert!(!stdout.contains("NaN") && !stderr.contains("NaN"));
}

fn correlate(url: &str, technical: &str, business: &str, range: &str, end: &str) -> Output {
    bizmetrics(&correlate_args(
        url,
        technical,
        business,
        range,
        end,
        &["--json"],
    ))
}

#[test]
fn an_unreachable_prometheus_exits_3() {
    // A port that was free a moment ago: nothing listens on it.
    let url = format!("http://127.0.0.1:{}", free_port());
    let output = bizmetrics(&["funnel", "--prometheus", &url, "--range", "1h"]);
    assert_fails(&output, 3, &["cannot reach prometheus", &url]);
    let output = correlate(&url, "a", "b", "1h", "1700000000");
    assert_fails(&output, 3, &["cannot reach prometheus"]);
    let output = bizmetrics(&revenue_args(&url, "1700000000", &["--range", "1h"]));
    assert_fails(&output, 3, &["cannot reach prometheus"]);
}

#[test]
fn bad_arguments_exit_2() {
    let output = bizmetrics(&["funnel", "--range", "1x"]);
    assert_fails(&output, 2, &["unknown unit `x`"]);
    let output = bizmetrics(&["funnel", "--range", "1h", "--by", "colour"]);
    assert_fails(&output, 2, &["colour"]);
    let output = bizmetrics(&["funnel", "--range", "1h", "--prometheus", "ftp://host"]);
    assert_fails(&output, 2, &["invalid prometheus url"]);

    // Funnel and step names: `[a-z][a-z0-9_]*`, at most 64 bytes; two steps or more, none twice.
    let output = bizmetrics(&["funnel", "--range", "1h", "--funnel", "Sign-Up"]);
    assert_fails(
        &output,
        2,
        &[
            "--funnel",
            "invalid funnel name `Sign-Up`: it starts with `S`, not a lower-case letter",
        ],
    );
    let output = bizmetrics(&["funnel", "--range", "1h", "--funnel", "sign up"]);
    assert_fails(
        &output,
        2,
        &["--funnel", "` ` at byte 4 is not a lower-case letter"],
    );
    let long = "f".repeat(65);
    let output = bizmetrics(&["funnel", "--range", "1h", "--funnel", &long]);
    assert_fails(
        &output,
        2,
        &["--funnel", "is 65 bytes long, at most 64 are allowed"],
    );
    let output = bizmetrics(&["funnel", "--range", "1h", "--funnel", ""]);
    assert_fails(&output, 2, &["--funnel", "empty funnel name"]);
    let output = bizmetrics(&["funnel", "--range", "1h", "--steps", "landing_view"]);
    assert_fails(
        &output,
        2,
        &["--steps", "a funnel needs at least 2 steps, 1 given"],
    );
    let output = bizmetrics(&["funnel", "--range", "1h", "--steps", "a,b,a"]);
    assert_fails(&output, 2, &["--steps", "step `a` is listed twice"]);
    let output = bizmetrics(&["funnel", "--range", "1h", "--steps", "a,b\"}"]);
    assert_fails(&output, 2, &["--steps", "invalid step name `b\"}`"]);
    let output = bizmetrics(&[
        "correlate",
        "--technical",
        "a",
        "--business",
        "b",
        "--range",
        "1h",
    ]);
    assert_fails(&output, 2, &["--step"]);
}

#[test]
fn bad_revenue_arguments_exit_2() {
    // Metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`; label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
    let output = bizmetrics(&["revenue", "--range", "1h", "--metric", "saas-mrr"]);
    assert_fails(
        &output,
        2,
        &[
            "--metric",
            "invalid metric name `saas-mrr`: `-` at byte 4 is not allowed",
            "[a-zA-Z_:][a-zA-Z0-9_:]*",
        ],
    );
    let output = bizmetrics(&["revenue", "--range", "1h", "--metric", "mrr{plan=\"pro\"}"]);
    assert_fails(&output, 2, &["--metric", "`{` at byte 3 is not allowed"]);
    let output = bizmetrics(&["revenue", "--range", "1h", "--metric", ""]);
    assert_fails(&output, 2, &["--metric", "empty metric name"]);
    let output = bizmetrics(&["revenue", "--range", "1h", "--by", "job:region"]);
    assert_fails(
        &output,
        2,
        &[
            "--by",
            "invalid label name `job:region`: `:` at byte 3 is not allowed",
            "[a-zA-Z_][a-zA-Z0-9_]*",
        ],
    );
    let output = bizmetrics(&["revenue", "--range", "1h", "--by", "1region"]);
    assert_fails(&output, 2, &["--by", "it starts with `1`"]);
    // Every amount is split by currency already; no request is made.
    let output = bizmetrics(&["revenue", "--range", "1h", "--by", "currency"]);
    assert_fails(
        &output,
        2,
        &["invalid segment label `currency`: every amount is split by currency already"],
    );

    // A counter needs its window; a gauge needs its metric and has no window.
    let output = bizmetrics(&["revenue"]);
    assert_fails(&output, 2, &["--range"]);
    let output = bizmetrics(&["revenue", "--range", "1x"]);
    assert_fails(&output, 2, &["unknown unit `x`"]);
    let output = bizmetrics(&["revenue", "--gauge"]);
    assert_fails(&output, 2, &["--metric"]);
    let output = bizmetrics(&[
        "revenue",
        "--gauge",
        "--metric",
        "saas_mrr_cents",
        "--range",
        "1h",
    ]);
    assert_fails(&output, 2, &["--range", "cannot be used with", "--gauge"]);
    let output = bizmetrics(&["revenue", "--range", "1h", "--end", "yesterday"]);
    assert_fails(&output, 2, &["--end", "yesterday"]);
    let output = bizmetrics(&["revenue", "--range", "1h", "--prometheus", "ftp://host"]);
    assert_fails(&output, 2, &["invalid prometheus url"]);
}

#[test]
fn query_and_data_problems_exit_4_and_5_with_advice() {
    let Some(prom) = start_prometheus() else {
        return;
    };
    let url = prom.url.as_str();
    let end = prom.window.end.to_string();
    let good = "shop_request_latency_seconds";

    // Bad PromQL: Prometheus' own message is shown.
    let output = correlate(url, "sum(", "shop_orders_per_minute", "3h", &end);
    assert_fails(
        &output,
        4,
        &[
            "prometheus rejected the query `sum(`",
            "bad_data",
            "parse error",
        ],
    );

    // Several series where one is needed: names them and suggests sum.
    let output = correlate(
        url,
        "shop_per_instance",
        "shop_orders_per_minute",
        "3h",
        &end,
    );
    assert_fails(
        &output,
        5,
        &[
            "returned 2 series",
            "instance=\"a\"",
            "instance=\"b\"",
            "sum(shop_per_instance)",
        ],
    );

    // No data.
    let output = correlate(url, good, "no_such_metric", "3h", &end);
    assert_fails(
        &output,
        5,
        &["business query `no_such_metric` returned no data"],
    );
    let output = bizmetrics(&funnel_args(url, "1000000000", &[]));
    assert_fails(&output, 5, &["funnel query", "returned no data"]);

    // A funnel Prometheus does not hold, or not in the range: its order cannot be read.
    let output = bizmetrics(&funnel_args(url, &end, &["--funnel", "nope"]));
    assert_fails(
        &output,
        5,
        &[
            "no funnel `nope` found in the range",
            "sum by (step) (max_over_time(business_funnel_step_total{funnel=\"nope\"}[3600s]))",
            "gave 0 funnel step(s) where at least 2 are needed",
            "give the steps in order with --steps a,b,c",
        ],
    );
    let output = bizmetrics(&funnel_args(url, "1000000000", &["--funnel", "signup"]));
    assert_fails(&output, 5, &["no funnel `signup` found in the range"]);
    // Given steps that have no data: the funnel query returns nothing.
    let output = bizmetrics(&funnel_args(
        url,
        &end,
        &["--funnel", "nope", "--steps", "a,b"],
    ));
    assert_fails(
        &output,
        5,
        &[
            "funnel query",
            "funnel=\"nope\", step=~\"a|b\"",
            "returned no data",
        ],
    );

    // Too few aligned points: five minutes at one-minute steps give 6 < 10.
    let output = correlate(url, good, "shop_orders_per_minute", "5m", &end);
    assert_fails(
        &output,
        5,
        &["only 6 timestamps", "at least 10 needed", "widen --range"],
    );

    // A constant series: correlation undefined, never NaN.
    let output = correlate(url, good, "shop_constant", "3h", &end);
    assert_fails(
        &output,
        5,
        &["business series `shop_constant` is constant", "undefined"],
    );
    let output = correlate(url, "shop_constant", good, "3h", &end);
    assert_fails(
        &output,
        5,
        &["technical series `shop_constant` is constant"],
    );

    // Money: no data in the range, and values that are no amount of money (never
    // printed, NaN not even named).
    let output = bizmetrics(&revenue_args(url, "1000000000", &["--range", "1h"]));
    assert_fails(
        &output,
        5,
        &[
            "revenue query `sum by (currency) (increase(business_revenue_cents_total[3600s]))` \
             returned no data",
        ],
    );
    let output = bizmetrics(&revenue_args(
        url,
        &end,
        &["--range", "1h", "--metric", "no_such_cents_total"],
    ));
    assert_fails(&output, 5, &["returned no data"]);
    let reasons = [
        "a negative value (-500)",
        "a value that is not a number",
        "an infinite value",
    ];
    for ((metric, _), reason) in BROKEN.iter().zip(reasons) {
        let output = bizmetrics(&revenue_args(
            url,
            &end,
            &["--metric", metric, "--gauge", "--json"],
        ));
        assert_fails(
            &output,
            5,
            &[
                &format!("the revenue query `sum by (currency) ({metric})` gave {reason}"),
                "for the series {currency=\"USD\"}",
                "whole minor units from 0 to 2^53",
            ],
        );
        assert!(output.stdout.is_empty(), "{metric}: nothing is printed");
    }
}
