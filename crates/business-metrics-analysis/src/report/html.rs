//! The page around the charts: sections, the correlation in words, the impact
//! summary, and a Content-Security-Policy that allows no request at view time.

use std::fmt::Write as _;

use super::charts;
use super::svg::escape;
use super::ReportData;
use crate::explain::format_significant;
use crate::time::format_rfc3339;

/// Forbids every fetch, script and font: the page needs none.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;color:#1d232b;background:#fff;margin:24px auto;max-width:800px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #d5dbe3;padding-bottom:3px}
p.meta,p.missing{color:#5a6572}code{font-size:12px;background:#f2f4f7;padding:1px 3px;border-radius:3px;word-break:break-all}
svg.chart{display:block;margin:8px 0;max-width:100%;height:auto}
svg text{font:12px system-ui,sans-serif;fill:#1d232b}svg .tick{fill:#5a6572;font-size:11px}
svg .axis-title{font-size:12px;fill:#3b4652}svg .segment{font-weight:600}
svg .axis{stroke:#8a96a3;stroke-width:1}svg .grid{stroke:#e6eaef;stroke-width:1}
svg .bar{fill:#3b7dd8}svg .bar.refused{fill:#b9c0c8}svg .bar.chosen{fill:#d8573b}
svg .incident{fill:#f5b041;fill-opacity:.28}svg .line{fill:none;stroke:#3b7dd8;stroke-width:1.6}
svg .dot{fill:#3b7dd8;fill-opacity:.55}svg .fit{stroke:#d8573b;stroke-width:2;fill:none}
svg .interval{stroke:#1d232b;stroke-width:2;fill:none}svg .point{fill:#d8573b}
svg .reference{stroke:#5a6572;stroke-dasharray:4 3}
ul.warnings li{color:#8a4b00}table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
";

/// The report as one self-contained HTML page.
#[must_use]
pub fn render_html(data: &ReportData) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\
         <h1>{title}</h1><p class=\"meta\">Window {from} to {to} (UTC).</p>",
        title = escape(&data.title),
        from = format_rfc3339(data.window.0),
        to = format_rfc3339(data.window.1),
    );
    funnel_section(&mut out, data);
    series_section(&mut out, data);
    correlation_section(&mut out, data);
    impact_section(&mut out, data);
    out.push_str("</body></html>\n");
    out
}

fn missing(out: &mut String, what: &str) {
    let _ = write!(out, "<p class=\"missing\">{}</p>", escape(what));
}

fn funnel_section(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"funnel-section\"><h2>Funnel</h2>");
    match &data.funnel {
        Some(report) => {
            let _ = write!(
                out,
                "<p>Steps from {}: {}. Query: <code>{}</code></p>",
                report.steps_from,
                escape(
                    &report
                        .steps
                        .as_slice()
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" › ")
                ),
                escape(&report.query)
            );
            out.push_str(&charts::funnel(report));
        }
        None => missing(out, "No funnel data in the window."),
    }
    out.push_str("<h2>Experiment variants</h2>");
    match data.experiment.as_ref().and_then(charts::variants) {
        Some(chart) => out.push_str(&chart),
        None => missing(out, "No experiment variants to compare in the window."),
    }
    out.push_str("</section>");
}

fn series_section(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"series-section\"><h2>Technical and business series</h2>");
    if data.incidents.is_empty() {
        missing(out, "No incident windows given or found.");
    } else {
        out.push_str("<p>Incident windows (shaded):</p><ul>");
        for incident in &data.incidents {
            let _ = write!(
                out,
                "<li>{} ({})</li>",
                escape(&incident.to_rfc3339()),
                escape(&incident.source)
            );
        }
        out.push_str("</ul>");
    }
    for (id, role, series) in [
        ("technical-series", "technical", &data.technical),
        ("business-series", "business", &data.business),
    ] {
        match series {
            Some(s) => {
                let _ = write!(
                    out,
                    "<p>The {role} query <code>{}</code>, in {} ({}).</p>",
                    escape(&s.query),
                    escape(s.unit.label()),
                    escape(&s.unit.source)
                );
                out.push_str(&charts::series(id, role, s, data.window, &data.incidents));
            }
            None => missing(out, &format!("No {role} query given.")),
        }
    }
    out.push_str("</section>");
}

fn correlation_section(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"correlation-section\"><h2>Correlation</h2>");
    let (Some(report), Some(technical), Some(business)) =
        (&data.correlation, &data.technical, &data.business)
    else {
        missing(
            out,
            "No correlation: give a technical and a business query.",
        );
        out.push_str("</section>");
        return;
    };
    let _ = write!(out, "<p><strong>{}</strong></p>", escape(&report.summary));
    for line in &report.explanation {
        let _ = write!(out, "<p>{}</p>", escape(line));
    }
    if !report.warnings.is_empty() {
        out.push_str("<ul class=\"warnings\">");
        for warning in &report.warnings {
            let _ = write!(out, "<li>Warning: {}</li>", escape(warning));
        }
        out.push_str("</ul>");
    }
    out.push_str(&charts::scatter(report, technical, business));
    out.push_str(&charts::correlogram(report));
    let _ = write!(
        out,
        "<p class=\"meta\">r = {:.3}, 95 % interval [{:.3}, {:.3}], slope {} {}.</p>",
        report.pearson,
        report.confidence_interval.lower,
        report.confidence_interval.upper,
        escape(&format_significant(report.slope)),
        escape(&report.slope_unit)
    );
    out.push_str("</section>");
}

fn impact_section(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"impact-section\"><h2>Impact</h2>");
    match &data.impact {
        Some(impact) => {
            let _ = write!(
                out,
                "<p><strong>{}</strong></p><table>",
                escape(&impact.headline)
            );
            for (label, value) in &impact.figures {
                let _ = write!(
                    out,
                    "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                    escape(label),
                    escape(value)
                );
            }
            out.push_str("</table>");
        }
        None => missing(out, "No impact summary for this window."),
    }
    out.push_str("</section>");
}
