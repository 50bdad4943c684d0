//! `bizmetrics report --out FILE.html` against a real Prometheus holding backfilled
//! history, opened in headless Chromium: the page loads with no error (a collector
//! script, inserted ahead of the page's Content-Security-Policy, records uncaught
//! errors, `console.error` calls, failed loads and policy violations, and writes them
//! with every chart's mark count into the DOM that `--dump-dom` prints), and every
//! chart has drawn marks (marks whose bounding box the browser computed as non-empty).
//! A screenshot is saved under `target/bizmetrics-report/` and its path printed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

#[path = "support/history.rs"]
mod history;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{bizmetrics, require_binary, start_prometheus, TempDir};

/// Runs in the page before its Content-Security-Policy applies; after `load` it
/// appends `<pre id="browser-check">{errors, charts}</pre>`.
const COLLECTOR: &str = r"<script>(function(){var errors=[];
window.addEventListener('error',function(e){errors.push('error: '+(e.message||(e.target&&e.target.outerHTML)||e.type))},true);
window.addEventListener('unhandledrejection',function(e){errors.push('rejection: '+e.reason)});
document.addEventListener('securitypolicyviolation',function(e){errors.push('csp: '+e.violatedDirective+' '+e.blockedURI)});
var ce=console.error;console.error=function(){errors.push('console.error: '+Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments)};
window.addEventListener('load',function(){
var charts=Array.prototype.map.call(document.querySelectorAll('svg.chart'),function(svg){
var marks=svg.querySelectorAll('[data-mark]');var drawn=0;
Array.prototype.forEach.call(marks,function(m){var b=m.getBBox();if(b.width>0||b.height>0){drawn++}});
return {id:svg.id,marks:marks.length,drawn:drawn,title:svg.querySelector('title').textContent}});
var pre=document.createElement('pre');pre.id='browser-check';
pre.textContent=JSON.stringify({errors:errors,charts:charts});document.body.appendChild(pre)})})();</script>";

/// `target/`, from the test binary's path (`target/debug/deps/<test>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn chromium(binary: &Path, profile: &Path, extra: &[String]) -> std::process::Output {
    Command::new(binary)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .output()
        .expect("run chromium")
}

#[test]
fn every_chart_draws_in_headless_chromium_without_errors() {
    let Some(chromium_binary) = require_binary("chromium") else {
        return;
    };
    let Some(prom) = start_prometheus() else {
        return;
    };
    let dir = TempDir::new("bizmetrics-report");
    let out_dir = target_dir().join("bizmetrics-report");
    std::fs::create_dir_all(&out_dir).unwrap();
    let html_path = out_dir.join("report.html");
    let (start, end) = (prom.window.start, prom.window.end);
    let end_text = end.to_string();
    // Two incidents inside the window, one given in RFC 3339 form.
    let first = format!("{}/{}", start + 1_800, start + 2_400);
    let second = format!("{}/{}", end - 3_000, end - 2_400);
    let html_arg = html_path.display().to_string();
    let output = bizmetrics(&[
        "report",
        "--prometheus",
        &prom.url,
        "--out",
        &html_arg,
        "--range",
        "3h",
        "--end",
        &end_text,
        "--technical",
        "shop_request_latency_seconds",
        "--business",
        "shop_orders_per_minute",
        "--business-unit",
        "orders/min",
        "--max-lag",
        "10m",
        "--incident",
        &first,
        "--incident",
        &second,
        "--title",
        "Shop <b>\"report\"</b> & co",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.trim(), format!("report written to {html_arg}"));
    let html = std::fs::read_to_string(&html_path).unwrap();

    // Self-contained: nothing fetched (the policy forbids it), labels escaped.
    assert!(
        html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';")
    );
    let without_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_namespace.contains("http://") && !without_namespace.contains("https://"));
    assert!(!html.contains("<script"));
    assert!(html.contains("<title>Shop &lt;b&gt;&quot;report&quot;&lt;/b&gt; &amp; co</title>"));
    assert!(!html.contains("<b>"));
    assert_eq!(
        html.matches("class=\"incident\"").count(),
        4,
        "two windows on two series"
    );
    let impact = html
        .split("<section id=\"impact-section\">")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap();
    // The impact of each incident window: this data set has no earlier days, so the
    // history is too short for an expectation, and says so; the figures are there.
    assert!(
        impact.contains(
            "(history too short for an expectation: 0 of 10 earlier windows have data, 4 \
             needed)"
        ),
        "{impact}"
    );
    assert_eq!(impact.matches("Between ").count(), 2, "{impact}");
    assert_eq!(
        impact.matches("<th scope=\"row\">").count(),
        2 * 8,
        "{impact}"
    );
    for (label, value) in [
        ("Revenue (JPY)", "JPY "),
        ("Revenue (KWD)", "KWD "),
        ("Revenue (USD)", "USD "),
        ("Revenue (XBT)", ""),
        (
            "Checkout completions (order_confirmed)",
            "552 (history too short",
        ),
        ("Checkout entries (cart_view)", "5,000 (history too short"),
        (
            "Checkout conversion (cart_view to order_confirmed)",
            "11.0% against 11.0% in the hour before",
        ),
        (
            "Expectation",
            "No expectation: fewer than 4 of the 10 earlier windows have data.",
        ),
    ] {
        let cell = format!(": {label}</th><td>{value}");
        assert_eq!(impact.matches(&cell).count(), 2, "`{cell}` in {impact}");
    }

    // Open it in Chromium with the collector ahead of the page's policy.
    let checked = dir.path().join("checked.html");
    std::fs::write(
        &checked,
        html.replacen("<head>", &format!("<head>{COLLECTOR}"), 1),
    )
    .unwrap();
    let profile = dir.path().join("profile");
    let url = format!("file://{}", checked.display());
    let dumped = chromium(&chromium_binary, &profile, &["--dump-dom".to_owned(), url]);
    let dom = String::from_utf8_lossy(&dumped.stdout);
    let log = String::from_utf8_lossy(&dumped.stderr);
    assert!(dumped.status.success(), "chromium failed: {log}");
    for line in log.lines() {
        assert!(
            !line.contains("Uncaught") && !line.contains(":CONSOLE"),
            "browser console: {line}"
        );
    }
    let json = dom
        .split("<pre id=\"browser-check\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no browser check in the DOM:\n{dom}\n{log}"))
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let check: Value = serde_json::from_str(&json).unwrap();
    eprintln!("browser check: {check:#}");
    assert_eq!(check["errors"], Value::Array(Vec::new()));
    let charts: Vec<(String, u64, u64)> = check["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["marks"].as_u64().unwrap(),
                c["drawn"].as_u64().unwrap(),
            )
        })
        .collect();
    // Funnel: 2 devices × 5 steps; variants: 3 × (interval, point); one line per
    // series; 178 pairs at lag 3 and the fitted line; 11 lags.
    let expected = [
        ("funnel", 10),
        ("variants", 6),
        ("technical-series", 1),
        ("business-series", 1),
        ("scatter", 179),
        ("correlogram", 11),
    ];
    assert_eq!(
        charts,
        expected
            .iter()
            .map(|&(id, n)| (id.to_owned(), n, n))
            .collect::<Vec<_>>()
    );
    for chart in check["charts"].as_array().unwrap() {
        assert!(!chart["title"].as_str().unwrap().is_empty());
    }

    // The screenshot, part of the test's output.
    let png = out_dir.join("report.png");
    let _ = std::fs::remove_file(&png);
    let shot = chromium(
        &chromium_binary,
        &profile,
        &[
            "--window-size=900,3200".to_owned(),
            format!("--screenshot={}", png.display()),
            format!("file://{}", html_path.display()),
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000);
    eprintln!("screenshot: {}", png.display());
    eprintln!("report: {}", html_path.display());
}

/// The report of the incident in five weeks of backfilled shop history (see
/// `support/history.rs`): its impact section holds `bizmetrics impact`'s paragraph
/// for the incident window and its key figures (a loss in USD and JPY, EUR too new
/// for an expectation, fewer completions, conversion down to about 4 %), and draws
/// in Chromium without an error.
#[test]
fn the_impact_section_shows_what_the_incident_cost() {
    let Some(chromium_binary) = require_binary("chromium") else {
        return;
    };
    let incident = (history::INCIDENT_START, history::INCIDENT_END);
    let (text, _) = history::openmetrics(incident);
    let Some(prom) = history::serve(&text) else {
        return;
    };
    let dir = TempDir::new("bizmetrics-report-impact");
    let html_path = dir.path().join("report.html");
    let html_arg = html_path.display().to_string();
    let (start, end) = (incident.0.to_string(), incident.1.to_string());
    let (from, to) = (
        (incident.0 - 1_800).to_string(),
        (incident.1 + 300).to_string(),
    );
    let window = format!("{start}/{end}");
    let output = bizmetrics(&[
        "report",
        "--prometheus",
        &prom.url,
        "--out",
        &html_arg,
        "--start",
        &from,
        "--end",
        &to,
        "--incident",
        &window,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    let impact = html
        .split("<section id=\"impact-section\">")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap();
    eprintln!("{impact}");

    // The headline is the paragraph `bizmetrics impact` prints for the window.
    let sentence = bizmetrics(&[
        "impact",
        "--prometheus",
        &prom.url,
        "--start",
        &start,
        "--end",
        &end,
    ]);
    assert!(sentence.status.success());
    let sentence = String::from_utf8_lossy(&sentence.stdout).trim().to_owned();
    assert!(sentence.starts_with("Between 2026-03-11 15:05 and 15:35 UTC, revenue was EUR "));
    assert!(
        impact.starts_with(&format!(
            "<h2>Impact</h2><p><strong>{sentence}</strong></p>"
        )),
        "{impact}"
    );
    // Its key figures, one row each.
    let row = |label: &str| {
        impact
            .split(&format!("<th scope=\"row\">{label}</th><td>"))
            .nth(1)
            .and_then(|rest| rest.split("</td>").next())
            .unwrap_or_else(|| panic!("no row `{label}` in {impact}"))
    };
    for code in ["USD", "JPY"] {
        let value = row(&format!("Revenue ({code})"));
        assert!(value.starts_with(&format!("{code} ")), "{value}");
        assert!(
            value.contains(&format!(": a loss of about {code} ")),
            "{value}"
        );
    }
    assert!(row("Revenue (EUR)").ends_with(
        "(history too short for an expectation: 2 of 10 earlier windows have data, 4 needed)"
    ));
    let completions = row("Checkout completions (order_confirmed)");
    assert!(
        completions.contains(" expected (") && completions.contains(" fewer ("),
        "{completions}"
    );
    assert!(row("Checkout entries (cart_view)").contains(" expected ("));
    assert!(row("Checkout conversion (cart_view to order_confirmed)").starts_with("4."));
    assert_eq!(
        row("Expectation"),
        "Expectation from the same window on 6 of the last 6 days and 4 of the last 4 weeks, \
         scaled by the hour before."
    );

    // The page, impact section included, loads in Chromium without an error.
    let checked = dir.path().join("checked.html");
    std::fs::write(
        &checked,
        html.replacen("<head>", &format!("<head>{COLLECTOR}"), 1),
    )
    .unwrap();
    let profile = dir.path().join("profile");
    let dumped = chromium(
        &chromium_binary,
        &profile,
        &[
            "--dump-dom".to_owned(),
            format!("file://{}", checked.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&dumped.stdout);
    assert!(dumped.status.success());
    assert!(dom.contains("<section id=\"impact-section\"><h2>Impact</h2>"));
    assert!(dom.contains("<th scope=\"row\">Revenue (USD)</th>"));
    let check = dom
        .split("<pre id=\"browser-check\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no browser check in the DOM:\n{dom}"))
        .replace("&quot;", "\"");
    let check: Value = serde_json::from_str(&check).unwrap();
    assert_eq!(check["errors"], Value::Array(Vec::new()), "{check:#}");
}
