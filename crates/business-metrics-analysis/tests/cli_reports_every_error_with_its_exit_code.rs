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

use support::{bizmetrics, correlate_args, free_port, funnel_args, start_prometheus};

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
}
