//! The report's charts as inline SVG. Every data mark (bar, point, line, interval)
//! carries a `data-mark` attribute naming what it shows, which the browser test
//! counts; labels pass through [`escape`](super::svg::escape).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::incidents::IncidentWindow;
use super::svg::{self, escape, px, Frame, Scale};
use super::SeriesData;
use crate::correlate::CorrelationReport;
use crate::correlogram::aligned_pairs;
use crate::explain::format_significant;
use crate::funnel::FunnelReport;
use crate::stats;
use crate::time::format_rfc3339;

const WIDTH: f64 = 760.0;

fn seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn segment_name(name: &str) -> &str {
    if name.is_empty() {
        "(none)"
    } else {
        name
    }
}

/// The funnel of each segment: a bar per step on one scale (the largest count), with
/// its count, conversion from the previous step and drop-off.
pub(crate) fn funnel(report: &FunnelReport) -> String {
    const ROW: f64 = 24.0;
    let steps = report.steps.as_slice().len();
    let largest = report
        .segments
        .iter()
        .flat_map(|s| s.steps.iter().map(|step| step.count))
        .max()
        .unwrap_or(0)
        .max(1);
    #[allow(clippy::cast_precision_loss)]
    let block = (steps as f64).mul_add(ROW, 30.0);
    #[allow(clippy::cast_precision_loss)]
    let height = (report.segments.len() as f64).mul_add(block, 50.0);
    let frame = Frame {
        width: WIDTH,
        height,
        left: 170.0,
        right: 250.0,
        top: 10.0,
        bottom: 40.0,
    };
    let by = report.by.as_deref().unwrap_or("segment");
    let mut out = String::new();
    svg::open(
        &mut out,
        "funnel",
        &frame,
        &format!("Funnel {} by {by}", report.funnel),
        &format!(
            "Entries into each step of the {} funnel over the window, one group of bars per \
             {by}; bar length is the count on one scale; the text gives the count, the share \
             of the previous step and the drop-off.",
            report.funnel
        ),
    );
    #[allow(clippy::cast_precision_loss)]
    let scale = Scale::new(0.0, largest as f64, frame.plot_left(), frame.plot_right());
    let mut y = frame.plot_top();
    for segment in &report.segments {
        let name = segment_name(&segment.segment);
        svg::text(
            &mut out,
            8.0,
            y + 16.0,
            "start",
            "segment",
            &format!("{by} = {name}"),
        );
        y += 24.0;
        for step in &segment.steps {
            #[allow(clippy::cast_precision_loss)]
            let w = scale.at(step.count as f64) - frame.plot_left();
            svg::text(
                &mut out,
                frame.plot_left() - 8.0,
                y + 15.0,
                "end",
                "label",
                step.step.as_str(),
            );
            let _ = write!(
                out,
                "<rect class=\"bar\" data-mark=\"funnel-step\" data-segment=\"{}\" data-step=\"{}\" \
                 data-count=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
                escape(name),
                escape(step.step.as_str()),
                step.count,
                px(frame.plot_left()),
                px(y + 3.0),
                px(w.max(1.0)),
                px(ROW - 6.0),
                escape(&format!("{name} {}: {}", step.step, step.count)),
            );
            let detail = match (step.step_conversion, step.drop_off) {
                (Some(c), Some(d)) => format!(
                    "{}  {:.1} % of previous, -{d} ({:.1} % drop-off)",
                    step.count,
                    c * 100.0,
                    (1.0 - c) * 100.0
                ),
                _ => format!("{} entries", step.count),
            };
            svg::text(
                &mut out,
                frame.plot_left() + w + 6.0,
                y + 15.0,
                "start",
                "value",
                &detail,
            );
            y += ROW;
        }
        y += 6.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let ticks: Vec<(f64, String)> = scale
        .ticks(5)
        .into_iter()
        .map(|t| (t, format!("{t}")))
        .collect();
    svg::x_axis(
        &mut out,
        &frame,
        &scale,
        &ticks,
        "entries over the window (count)",
    );
    svg::close(&mut out);
    out
}

/// Each variant's overall conversion with its Wilson 95 % interval, the control's
/// conversion as a dashed line, and each comparison's p-value. `None` without
/// comparisons.
pub(crate) fn variants(report: &FunnelReport) -> Option<String> {
    let control = report.comparisons.first()?.control.clone();
    let rows: Vec<(String, f64, stats::ConfidenceInterval)> = report
        .segments
        .iter()
        .filter_map(|s| {
            let first = s.steps.first()?.count;
            let last = s.steps.last()?.count.min(first);
            let interval = stats::wilson_interval(last, first).ok()?;
            #[allow(clippy::cast_precision_loss)]
            let p = last as f64 / first as f64;
            Some((s.segment.clone(), p, interval))
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    const ROW: f64 = 34.0;
    #[allow(clippy::cast_precision_loss)]
    let height = (rows.len() as f64).mul_add(ROW, 70.0);
    let frame = Frame {
        width: WIDTH,
        height,
        left: 170.0,
        right: 230.0,
        top: 20.0,
        bottom: 44.0,
    };
    let lo = rows.iter().map(|r| r.2.lower).fold(1.0, f64::min);
    let hi = rows.iter().map(|r| r.2.upper).fold(0.0, f64::max);
    let pad = (hi - lo).max(0.01) * 0.1;
    let scale = Scale::new(
        (lo - pad).max(0.0),
        (hi + pad).min(1.0),
        frame.plot_left(),
        frame.plot_right(),
    );
    let mut out = String::new();
    svg::open(
        &mut out,
        "variants",
        &frame,
        &format!(
            "Overall conversion per experiment variant, {} funnel",
            report.funnel
        ),
        &format!(
            "Each variant's conversion from the first to the last step as a dot with its 95 % \
             Wilson interval as a line; the dashed line is the control ({control}); the text \
             gives the two-proportion test's p-value against it."
        ),
    );
    let control_p = rows.iter().find(|r| r.0 == control).map(|r| r.1);
    if let Some(p) = control_p {
        let x = scale.at(p);
        let _ = write!(
            out,
            "<line class=\"reference\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>",
            px(frame.plot_top()),
            px(frame.plot_bottom()),
            x = px(x)
        );
    }
    for (i, (name, p, interval)) in rows.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = (i as f64).mul_add(ROW, frame.plot_top() + ROW / 2.0);
        let shown = segment_name(name);
        svg::text(
            &mut out,
            frame.plot_left() - 8.0,
            y + 4.0,
            "end",
            "label",
            shown,
        );
        let _ = write!(
            out,
            "<path class=\"interval\" data-mark=\"variant-interval\" data-variant=\"{}\" \
             d=\"M{} {y}H{}M{} {}V{}M{} {}V{}\"/>",
            escape(shown),
            px(scale.at(interval.lower)),
            px(scale.at(interval.upper)),
            px(scale.at(interval.lower)),
            px(y - 6.0),
            px(y + 6.0),
            px(scale.at(interval.upper)),
            px(y - 6.0),
            px(y + 6.0),
            y = px(y)
        );
        let _ = write!(
            out,
            "<circle class=\"point\" data-mark=\"variant-conversion\" data-variant=\"{}\" \
             cx=\"{}\" cy=\"{}\" r=\"5\"><title>{}</title></circle>",
            escape(shown),
            px(scale.at(*p)),
            px(y),
            escape(&format!(
                "{shown}: {:.2} % [{:.2}, {:.2}]",
                p * 100.0,
                interval.lower * 100.0,
                interval.upper * 100.0
            ))
        );
        let verdict = report
            .comparisons
            .iter()
            .find(|c| &c.variant == name)
            .map_or_else(
                || "control".to_owned(),
                |c| {
                    format!(
                        "p = {}{}",
                        format_significant(c.test.p_value),
                        if c.significant {
                            ", significant"
                        } else {
                            ", not significant"
                        }
                    )
                },
            );
        svg::text(
            &mut out,
            frame.plot_right() + 8.0,
            y + 4.0,
            "start",
            "value",
            &format!("{:.2} %  {verdict}", p * 100.0),
        );
    }
    let ticks: Vec<(f64, String)> = scale
        .ticks(5)
        .into_iter()
        .map(|t| (t, format!("{} %", format_significant(t * 100.0))))
        .collect();
    svg::x_axis(
        &mut out,
        &frame,
        &scale,
        &ticks,
        "overall conversion (%), 95 % interval",
    );
    svg::close(&mut out);
    Some(out)
}

fn time_ticks(scale: &Scale, start: f64, end: f64) -> Vec<(f64, String)> {
    let span = (end - start).max(1.0);
    let step = [
        60.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 21_600.0, 86_400.0,
    ]
    .into_iter()
    .find(|s| span / s <= 7.0)
    .unwrap_or(86_400.0);
    let _ = scale;
    let mut ticks = Vec::new();
    let mut t = (start / step).ceil() * step;
    while t <= end && ticks.len() < 12 {
        let label = UNIX_EPOCH
            .checked_add(Duration::from_secs_f64(t.max(0.0)))
            .map(format_rfc3339)
            .and_then(|s| s.get(11..16).map(str::to_owned))
            .unwrap_or_default();
        ticks.push((t, label));
        t += step;
    }
    ticks
}

/// One series over the window, incident windows shaded behind it.
pub(crate) fn series(
    id: &str,
    role: &str,
    data: &SeriesData,
    window: (SystemTime, SystemTime),
    incidents: &[IncidentWindow],
) -> String {
    let frame = Frame {
        width: WIDTH,
        height: 240.0,
        left: 80.0,
        right: 20.0,
        top: 14.0,
        bottom: 44.0,
    };
    let (start, end) = (seconds(window.0), seconds(window.1));
    let x = Scale::new(start, end, frame.plot_left(), frame.plot_right());
    let finite = || data.samples.iter().filter(|s| s.value.is_finite());
    let lo = finite().map(|s| s.value).fold(f64::INFINITY, f64::min);
    let hi = finite().map(|s| s.value).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = (hi - lo) * 0.05;
    let y = Scale::new(lo - pad, hi + pad, frame.plot_bottom(), frame.plot_top());
    let unit = data.unit.label();
    let mut out = String::new();
    svg::open(
        &mut out,
        id,
        &frame,
        &format!("{role} metric over time ({unit})"),
        &format!(
            "The {role} query {} over the window, one point per step; shaded bands are \
             incident windows.",
            data.query
        ),
    );
    for incident in incidents {
        let (a, b) = (
            seconds(incident.start).max(start),
            seconds(incident.end).min(end),
        );
        if b <= a {
            continue;
        }
        let _ = write!(
            out,
            "<rect class=\"incident\" data-incident=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>incident {} ({})</title></rect>",
            escape(&incident.to_rfc3339()),
            px(x.at(a)),
            px(frame.plot_top()),
            px(x.at(b) - x.at(a)),
            px(frame.plot_bottom() - frame.plot_top()),
            escape(&incident.to_rfc3339()),
            escape(&incident.source),
        );
    }
    svg::y_axis(&mut out, &frame, &y, unit, &|v| format_significant(v));
    svg::x_axis(
        &mut out,
        &frame,
        &x,
        &time_ticks(&x, start, end),
        "time (UTC)",
    );
    let mut d = String::new();
    let mut previous: Option<f64> = None;
    let step = data.step_seconds.max(f64::MIN_POSITIVE);
    for sample in finite() {
        let joined = previous.is_some_and(|p| sample.timestamp - p <= step * 1.5);
        let _ = write!(
            d,
            "{}{} {}",
            if joined { "L" } else { "M" },
            px(x.at(sample.timestamp)),
            px(y.at(sample.value))
        );
        previous = Some(sample.timestamp);
    }
    let _ = write!(
        out,
        "<path class=\"line\" data-mark=\"{role}-series\" data-points=\"{}\" d=\"{d}\"/>",
        finite().count()
    );
    svg::close(&mut out);
    out
}

/// The pairs at the best lag with the least-squares line.
pub(crate) fn scatter(
    report: &CorrelationReport,
    technical: &SeriesData,
    business: &SeriesData,
) -> String {
    let step = Duration::from_secs_f64(report.step_seconds.max(0.0));
    let (xs, ys) = aligned_pairs(
        &technical.samples,
        &business.samples,
        step,
        report.lag_steps,
    );
    let frame = Frame {
        width: WIDTH,
        height: 340.0,
        left: 80.0,
        right: 20.0,
        top: 14.0,
        bottom: 48.0,
    };
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo <= hi {
            let pad = (hi - lo) * 0.05;
            (lo - pad, hi + pad)
        } else {
            (0.0, 1.0)
        }
    };
    let (x0, x1) = range(&xs);
    let (y0, y1) = range(&ys);
    let x = Scale::new(x0, x1, frame.plot_left(), frame.plot_right());
    let y = Scale::new(y0, y1, frame.plot_bottom(), frame.plot_top());
    let (tu, bu) = (report.technical_unit.label(), report.business_unit.label());
    let mut out = String::new();
    svg::open(
        &mut out,
        "scatter",
        &frame,
        &format!(
            "Business against technical at the best lag ({} steps, {}s): r = {:.3}",
            report.lag_steps, report.lag_seconds, report.pearson
        ),
        &format!(
            "Each point pairs the technical value at a time with the business value {}s later; \
             the line is the least-squares fit, slope {} {}.",
            report.lag_seconds,
            format_significant(report.slope),
            report.slope_unit
        ),
    );
    svg::y_axis(&mut out, &frame, &y, &format!("business ({bu})"), &|v| {
        format_significant(v)
    });
    let ticks: Vec<(f64, String)> = x
        .ticks(6)
        .into_iter()
        .map(|t| (t, format_significant(t)))
        .collect();
    svg::x_axis(
        &mut out,
        &frame,
        &x,
        &ticks,
        &format!("technical ({tu}), {}s earlier", report.lag_seconds),
    );
    for (a, b) in xs.iter().zip(&ys) {
        let _ = write!(
            out,
            "<circle class=\"dot\" data-mark=\"pair\" cx=\"{}\" cy=\"{}\" r=\"2.5\"/>",
            px(x.at(*a)),
            px(y.at(*b))
        );
    }
    let fit = |v: f64| report.slope.mul_add(v, report.intercept);
    let _ = write!(
        out,
        "<path class=\"fit\" data-mark=\"least-squares\" d=\"M{} {}L{} {}\"/>",
        px(x.at(x0)),
        px(y.at(fit(x0)).clamp(frame.plot_top(), frame.plot_bottom())),
        px(x.at(x1)),
        px(y.at(fit(x1)).clamp(frame.plot_top(), frame.plot_bottom()))
    );
    svg::close(&mut out);
    out
}

/// r against lag: a bar per lag, refused lags hatched grey, the chosen one marked.
pub(crate) fn correlogram(report: &CorrelationReport) -> String {
    let frame = Frame {
        width: WIDTH,
        height: 260.0,
        left: 80.0,
        right: 20.0,
        top: 14.0,
        bottom: 48.0,
    };
    let lags = report.correlogram.len().max(1);
    #[allow(clippy::cast_precision_loss)]
    let x = Scale::new(
        -0.5,
        lags as f64 - 0.5,
        frame.plot_left(),
        frame.plot_right(),
    );
    let y = Scale::new(-1.0, 1.0, frame.plot_bottom(), frame.plot_top());
    let mut out = String::new();
    svg::open(
        &mut out,
        "correlogram",
        &frame,
        "Correlogram: Pearson's r against lag",
        "One bar per lag searched, the business series trailing the technical one; grey \
         bars are lags refused for lying near half a dominant period; the outlined bar is \
         the lag reported.",
    );
    svg::y_axis(&mut out, &frame, &y, "Pearson's r", &|v| format!("{v:.1}"));
    #[allow(clippy::cast_precision_loss)]
    let bar_width = ((frame.plot_right() - frame.plot_left()) / lags as f64 * 0.7).max(1.0);
    let every = (lags / 12).max(1);
    #[allow(clippy::cast_precision_loss)]
    let ticks: Vec<(f64, String)> = report
        .correlogram
        .iter()
        .filter(|c| c.lag_steps % every == 0)
        .map(|c| (c.lag_steps as f64, format!("{}", c.lag_steps)))
        .collect();
    svg::x_axis(
        &mut out,
        &frame,
        &x,
        &ticks,
        &format!("lag (steps of {}s)", report.step_seconds),
    );
    for c in &report.correlogram {
        let Some(r) = c.r else { continue };
        #[allow(clippy::cast_precision_loss)]
        let centre = x.at(c.lag_steps as f64);
        let (top, bottom) = (y.at(r.max(0.0)), y.at(r.min(0.0)));
        let class = if c.refused {
            "bar refused"
        } else if c.lag_steps == report.lag_steps {
            "bar chosen"
        } else {
            "bar"
        };
        let _ = write!(
            out,
            "<rect class=\"{class}\" data-mark=\"lag\" data-lag=\"{}\" data-r=\"{r:.4}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>lag {} ({}s): r = {r:.3}{}</title></rect>",
            c.lag_steps,
            px(centre - bar_width / 2.0),
            px(top),
            px(bar_width),
            px((bottom - top).max(1.0)),
            c.lag_steps,
            c.lag_seconds,
            if c.refused { ", refused (near half a period)" } else { "" },
        );
    }
    svg::close(&mut out);
    out
}
