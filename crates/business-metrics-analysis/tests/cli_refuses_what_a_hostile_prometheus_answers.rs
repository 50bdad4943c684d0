//! `bizmetrics` against a server that answers like Prometheus but says what Prometheus
//! never would: NaN, infinite, negative and huge counts, amounts and samples, absurd
//! timestamps, redirects to another port, and bodies of tens of megabytes. Every
//! subcommand refuses them with its exit code and a message naming the query and the
//! series, prints no result, and reads no more than it must. `--max-lag` far beyond
//! the points is capped and said so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    clippy::suboptimal_flops
)]

mod support;

use std::process::Output;

use support::bizmetrics;
use support::hostile::{matrix, serve, vector, Answer, Request};

/// The query time every test uses (2023-11-14T22:13:20Z).
const END: &str = "1700000000";
const END_SECONDS: f64 = 1_700_000_000.0;

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
    assert!(stdout.is_empty(), "nothing is printed: {stdout}");
    assert!(!stderr.contains("NaN"), "{stderr}");
    assert!(!stderr.contains("18446744073709551615"), "{stderr}");
}

/// The values Prometheus never gives for a count or an amount, and what is said of them.
const NO_COUNTS: [(&str, &str); 4] = [
    ("NaN", "gave a value that is not a number"),
    ("+Inf", "gave an infinite value (+Inf)"),
    ("-5", "gave a negative value (-5)"),
    ("1.8e19", "gave a value above 2^53 (1.8e19)"),
];

#[test]
fn funnel_counts_that_are_no_counts_exit_5_naming_the_series() {
    for (value, reason) in NO_COUNTS {
        let server = serve(move |_| {
            Answer::Json(vector(
                END_SECONDS,
                &[
                    (&[("step", "cart_view")], "1000"),
                    (&[("step", "shipping_info")], value),
                ],
            ))
        });
        let output = bizmetrics(&[
            "funnel",
            "--prometheus",
            &server.url,
            "--range",
            "1h",
            "--end",
            END,
        ]);
        assert_fails(
            &output,
            5,
            &[
                "the funnel query `sum by (step) (increase(business_funnel_step_total{funnel=\"checkout\", step=~\"cart_view|shipping_info|payment_info|order_review|order_confirmed\"}[3600s]))`",
                reason,
                "for the series {step=\"shipping_info\"}",
                "counts are whole numbers from 0 to 2^53",
            ],
        );
    }

    // A funnel whose order is read from Prometheus: its counts are checked too, and a
    // label value with quotes is shown escaped.
    let server = serve(|_| {
        Answer::Json(vector(
            END_SECONDS,
            &[
                (&[("step", "landing_view"), ("note", "a\"b")], "-1"),
                (&[("step", "subscribed")], "10"),
            ],
        ))
    });
    let output = bizmetrics(&[
        "funnel",
        "--prometheus",
        &server.url,
        "--funnel",
        "signup",
        "--range",
        "1h",
        "--end",
        END,
    ]);
    assert_fails(
        &output,
        5,
        &[
            "the funnel order query `sum by (step) (max_over_time(business_funnel_step_total{funnel=\"signup\"}[3600s]))` gave a negative value (-1)",
            "for the series {note=\"a\\\"b\", step=\"landing_view\"}",
        ],
    );
}

#[test]
fn revenue_and_impact_refuse_what_is_no_amount_or_count() {
    let server = serve(|_| Answer::Json(vector(END_SECONDS, &[(&[("currency", "USD")], "+Inf")])));
    let output = bizmetrics(&[
        "revenue",
        "--prometheus",
        &server.url,
        "--range",
        "1h",
        "--end",
        END,
    ]);
    assert_fails(
        &output,
        5,
        &["gave an infinite value (+Inf) for the series {currency=\"USD\"}"],
    );

    // Impact reads revenue first, then entries and completions, each over the window
    // and over its baseline, every day back.
    for (bad_query, value, needles) in [
        (
            "business_revenue_cents_total",
            "NaN",
            [
                "the revenue query `sum by (currency) (increase(business_revenue_cents_total[1800s]))`",
                "gave a value that is not a number for the series {currency=\"EUR\"}",
                "amounts of money are whole minor units from 0 to 2^53",
            ],
        ),
        (
            "cart_view",
            "-3",
            [
                "the entries query `sum(increase(business_funnel_step_total{funnel=\"checkout\", step=\"cart_view\"}[1800s]))`",
                "gave a negative value (-3) for the series {}",
                "counts are whole numbers from 0 to 2^53",
            ],
        ),
        (
            "order_confirmed",
            "1e300",
            [
                "the completions query",
                "gave a value above 2^53 (1e300)",
                "counts are whole numbers",
            ],
        ),
    ] {
        let server = serve(move |request: &Request| {
            let labels: &[(&str, &str)] = if request.query.contains("currency") {
                &[("currency", "EUR")]
            } else {
                &[]
            };
            let value = if request.query.contains(bad_query) {
                value
            } else {
                "100"
            };
            Answer::Json(matrix(&[(
                labels,
                vec![(END_SECONDS - 86_400.0, "90".to_owned()), (END_SECONDS, value.to_owned())],
            )]))
        });
        let output = bizmetrics(&[
            "impact",
            "--prometheus",
            &server.url,
            "--start",
            "1699998200",
            "--end",
            END,
        ]);
        assert_fails(&output, 5, &needles);
    }
}

/// 121 one-minute samples ending at [`END`]: a varying technical series and a
/// business series falling with it.
fn two_hours(request: &Request, technical_at_60: &str) -> Answer {
    let values: Vec<(f64, String)> = (0..121_u32)
        .map(|i| {
            let t = END_SECONDS - 7_200.0 + 60.0 * f64::from(i);
            let tech = f64::from((i * 7) % 11) + 0.5;
            let value = if request.query.contains("latency") {
                if i == 60 {
                    technical_at_60.to_owned()
                } else {
                    tech.to_string()
                }
            } else {
                (100.0 - 3.0 * tech + f64::from(i % 3)).to_string()
            };
            (t, value)
        })
        .collect();
    Answer::Json(matrix(&[(&[], values)]))
}

fn correlate(url: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "correlate",
        "--prometheus",
        url,
        "--technical",
        "shop_latency_seconds",
        "--business",
        "shop_orders",
        "--range",
        "2h",
        "--step",
        "1m",
        "--end",
        END,
    ];
    args.extend_from_slice(extra);
    bizmetrics(&args)
}

#[test]
fn correlate_refuses_infinite_samples_and_caps_a_lag_beyond_the_points() {
    for (value, reason) in [
        (
            "+Inf",
            "gave an infinite value (+Inf) at 2023-11-14T21:13:20Z",
        ),
        (
            "-1e308",
            "gave a value beyond ±1e100 (-1e308) at 2023-11-14T21:13:20Z",
        ),
    ] {
        let server = serve(move |request| two_hours(request, value));
        let output = correlate(&server.url, &[]);
        assert_fails(
            &output,
            5,
            &[
                &format!("the technical query `shop_latency_seconds` {reason} for the series {{}}"),
                "a series to correlate needs finite values",
            ],
        );
    }

    // 3000 days at one-minute steps is 4 320 000 lags; 121 points allow 111.
    let server = serve(|request| two_hours(request, "NaN"));
    let output = correlate(&server.url, &["--max-lag", "3000d", "--json"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["correlogram"].as_array().unwrap().len(), 112);
    assert_eq!(report["aligned_points"], 120, "the NaN sample is a gap");
    let warnings = report["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            == "the largest lag asked for, 4320000 steps (8y11w3d), is more than the points \
                allow: every lag needs at least 10 pairs and the series span 121 points, so \
                lags 0 to 111 steps (1h51m) were searched"),
        "{warnings:?}"
    );
    // The text report says it too.
    let output = correlate(&server.url, &["--max-lag", "3000d"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout)
        .contains("warning: the largest lag asked for, 4320000 steps"));
}

#[test]
fn the_report_refuses_a_funnel_count_that_is_no_count() {
    let server = serve(|_| {
        Answer::Json(vector(
            END_SECONDS,
            &[(&[("step", "cart_view"), ("device_type", "mobile")], "NaN")],
        ))
    });
    let dir = support::TempDir::new("bizmetrics-hostile");
    let out = dir.path().join("report.html");
    let out_text = out.display().to_string();
    let output = bizmetrics(&[
        "report",
        "--prometheus",
        &server.url,
        "--out",
        &out_text,
        "--range",
        "1h",
        "--end",
        END,
    ]);
    assert_fails(
        &output,
        5,
        &["gave a value that is not a number for the series {device_type=\"mobile\", step=\"cart_view\"}"],
    );
    assert!(!out.exists(), "no page is written");
}

#[test]
fn an_answer_beyond_the_size_limit_is_refused_without_reading_it_all() {
    // 60 MB without a length: read in pieces, and dropped past the default 16 MiB.
    let server = serve(|_| Answer::Huge {
        total: 60_000_000,
        announce: false,
    });
    let output = bizmetrics(&["funnel", "--prometheus", &server.url, "--range", "1h"]);
    assert_fails(
        &output,
        4,
        &[
            &format!(
                "the answer of {}/api/v1/query is larger than 16777216 bytes, the limit",
                server.url
            ),
            "narrow the query",
            "--max-response-size",
        ],
    );
    // What the server got out before the client hung up: the limit and what the
    // sockets' buffers held, far from the 60 MB.
    let written = server.body_bytes_written();
    assert!(written < 48 * 1024 * 1024, "{written} bytes written");

    // A length announced beyond a smaller limit: refused before the body is read.
    let server = serve(|_| Answer::Huge {
        total: 60_000_000,
        announce: true,
    });
    let output = bizmetrics(&[
        "revenue",
        "--prometheus",
        &server.url,
        "--range",
        "1h",
        "--max-response-size",
        "1MiB",
    ]);
    assert_fails(&output, 4, &["is larger than 1048576 bytes, the limit"]);

    // Within the limit all is well.
    let server = serve(|_| Answer::Json(vector(END_SECONDS, &[(&[("currency", "USD")], "1499")])));
    let output = bizmetrics(&[
        "revenue",
        "--prometheus",
        &server.url,
        "--range",
        "1h",
        "--end",
        END,
        "--max-response-size",
        "1KiB",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "revenue over 1h: 14.99 USD"
    );

    // A size that is none is a usage error.
    let output = bizmetrics(&["funnel", "--range", "1h", "--max-response-size", "12XB"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown unit `XB`"));
}

#[test]
fn a_redirect_to_another_port_is_not_followed() {
    let elsewhere =
        serve(|_| Answer::Json(vector(END_SECONDS, &[(&[("step", "cart_view")], "5")])));
    let target = format!("{}/api/v1/query", elsewhere.url);
    let location = target.clone();
    let server = serve(move |_| Answer::Redirect(location.clone()));
    let output = bizmetrics(&["funnel", "--prometheus", &server.url, "--range", "1h"]);
    assert_fails(
        &output,
        4,
        &[&format!("redirects to {target}, which is not followed")],
    );
    assert_eq!(elsewhere.requests().len(), 0, "nothing was sent elsewhere");

    // On the same server (scheme, host and port) a redirect is followed.
    let server = serve(|request| {
        if request.path.starts_with("/moved/") {
            Answer::Json(vector(
                END_SECONDS,
                &[
                    (&[("step", "cart_view")], "1000"),
                    (&[("step", "order_confirmed")], "100"),
                ],
            ))
        } else {
            Answer::Redirect("/moved/api/v1/query".to_owned())
        }
    });
    let output = bizmetrics(&[
        "funnel",
        "--prometheus",
        &server.url,
        "--range",
        "1h",
        "--end",
        END,
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/v1/query", "/moved/api/v1/query"]);
}

#[test]
fn a_timestamp_that_is_no_time_is_no_prometheus_answer() {
    let server = serve(|_| Answer::Json(vector(1e300, &[(&[("step", "cart_view")], "5")])));
    let output = bizmetrics(&["funnel", "--prometheus", &server.url, "--range", "1h"]);
    assert_fails(
        &output,
        4,
        &["sample timestamp `1e300` is no time from 1970 to 9999 in Unix seconds"],
    );
}
