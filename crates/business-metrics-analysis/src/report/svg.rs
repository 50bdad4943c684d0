//! SVG building blocks: escaping, linear scales, ticks, axes and the accessible
//! frame every chart shares.

use std::fmt::Write as _;

/// Text escaped for HTML and SVG, in element content and in quoted attributes alike.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate, rounded to a tenth of a pixel.
pub(crate) fn px(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.1}")
    } else {
        "0".to_owned()
    }
}

/// A linear map from a data domain onto a pixel range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    /// Maps `[d0, d1]` onto `[r0, r1]`; an empty domain is widened around its value.
    pub(crate) fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Self {
        let (d0, d1) = if (d1 - d0).abs() > f64::EPSILON * d0.abs().max(1.0) {
            (d0, d1)
        } else {
            (
                d0 - 0.5_f64.max(d0.abs() * 0.1),
                d1 + 0.5_f64.max(d1.abs() * 0.1),
            )
        };
        Self { d0, d1, r0, r1 }
    }

    /// The pixel of `value`.
    pub(crate) fn at(&self, value: f64) -> f64 {
        ((value - self.d0) / (self.d1 - self.d0)).mul_add(self.r1 - self.r0, self.r0)
    }

    /// Round tick values inside the domain, about `count` of them.
    pub(crate) fn ticks(&self, count: usize) -> Vec<f64> {
        let (lo, hi) = (self.d0.min(self.d1), self.d0.max(self.d1));
        #[allow(clippy::cast_precision_loss)]
        let raw = (hi - lo) / count.max(1) as f64;
        if !raw.is_finite() || raw <= 0.0 {
            return vec![lo];
        }
        let magnitude = 10_f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * magnitude);
        let mut ticks = Vec::new();
        let mut tick = (lo / step).ceil() * step;
        while tick <= hi + step * 1e-9 && ticks.len() < 50 {
            ticks.push(if tick.abs() < step * 1e-9 { 0.0 } else { tick });
            tick += step;
        }
        ticks
    }
}

/// A chart's size and the margins around its plotting area.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) width: f64,
    pub(crate) height: f64,
    pub(crate) left: f64,
    pub(crate) right: f64,
    pub(crate) top: f64,
    pub(crate) bottom: f64,
}

impl Frame {
    pub(crate) fn plot_left(&self) -> f64 {
        self.left
    }
    pub(crate) fn plot_right(&self) -> f64 {
        self.width - self.right
    }
    pub(crate) fn plot_top(&self) -> f64 {
        self.top
    }
    pub(crate) fn plot_bottom(&self) -> f64 {
        self.height - self.bottom
    }
}

/// Opens an `<svg>` chart with its title and description (read by screen readers and
/// shown as a tooltip); `id` must be unique in the page.
pub(crate) fn open(out: &mut String, id: &str, frame: &Frame, title: &str, description: &str) {
    let _ = write!(
        out,
        "<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{description}</desc>",
        w = px(frame.width),
        h = px(frame.height),
        title = escape(title),
        description = escape(description),
    );
}

/// Closes a chart.
pub(crate) fn close(out: &mut String) {
    out.push_str("</svg>");
}

/// A text element; `anchor` is `start`, `middle` or `end`.
pub(crate) fn text(out: &mut String, x: f64, y: f64, anchor: &str, class: &str, content: &str) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"{class}\">{}</text>",
        px(x),
        px(y),
        escape(content)
    );
}

/// A left axis with ticks labelled by `label_of` and a rotated axis title.
pub(crate) fn y_axis(
    out: &mut String,
    frame: &Frame,
    scale: &Scale,
    title: &str,
    label_of: &dyn Fn(f64) -> String,
) {
    let x = frame.plot_left();
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>",
        px(frame.plot_top()),
        px(frame.plot_bottom()),
        x = px(x)
    );
    for tick in scale.ticks(5) {
        let y = scale.at(tick);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>",
            px(x),
            px(frame.plot_right()),
            y = px(y)
        );
        text(out, x - 6.0, y + 4.0, "end", "tick", &label_of(tick));
    }
    let middle = (frame.plot_top() + frame.plot_bottom()) / 2.0;
    let _ = write!(
        out,
        "<text class=\"axis-title\" text-anchor=\"middle\" transform=\"translate(14 {}) rotate(-90)\">{}</text>",
        px(middle),
        escape(title)
    );
}

/// A bottom axis with ticks at `ticks` (value, label) and an axis title.
pub(crate) fn x_axis(
    out: &mut String,
    frame: &Frame,
    scale: &Scale,
    ticks: &[(f64, String)],
    title: &str,
) {
    let y = frame.plot_bottom();
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>",
        px(frame.plot_left()),
        px(frame.plot_right()),
        y = px(y)
    );
    for (value, label) in ticks {
        let x = scale.at(*value);
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>",
            px(y),
            px(y + 4.0),
            x = px(x)
        );
        text(out, x, y + 16.0, "middle", "tick", label);
    }
    text(
        out,
        (frame.plot_left() + frame.plot_right()) / 2.0,
        frame.height - 6.0,
        "middle",
        "axis-title",
        title,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[test]
    fn ticks_are_round_numbers_inside_the_domain() {
        let scale = Scale::new(0.13, 0.97, 0.0, 100.0);
        assert_eq!(scale.ticks(5), [0.2, 0.4, 0.6000000000000001, 0.8]);
        let scale = Scale::new(-1.0, 1.0, 0.0, 100.0);
        assert_eq!(scale.ticks(4), [-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert!((Scale::new(2.0, 2.0, 0.0, 10.0).at(2.0) - 5.0).abs() < 1e-9);
    }
}
