//! The Prometheus text format (version 0.0.4), written straight from the SDK's
//! [`ResourceMetrics`].
//!
//! The output is the exposition `opentelemetry-prometheus` 0.33 (default options)
//! gathers through a `prometheus` 0.14 registry and its `TextEncoder`, byte for byte,
//! without the protobuf families in between. What that pipeline does, and so what
//! this module does:
//!
//! - **Names**: the instrument name with every character outside `[A-Za-z0-9_:]`
//!   after the first such character replaced by `_` (Unicode letters before it are
//!   kept), `_` in front of a leading digit, then `_` and the unit's suffix
//!   (`s` gives `seconds`, `By` gives `bytes`, `1` gives `ratio`, `m/s` gives
//!   `meters_per_second`; annotations such as `{event}` and unknown units give none),
//!   then `_total` for a monotonic sum.
//! - **Types**: monotonic sums are counters; gauges and non-monotonic sums are
//!   gauges; explicit-bucket histograms are histograms; exponential histograms are
//!   left out.
//! - **Conflicts**: the first instrument ever seen under a name fixes its type and
//!   help: a later one of another type is dropped, a later description gives way.
//! - **Labels**: attribute keys with every character outside `[A-Za-z0-9:]` replaced
//!   by `_` (no prefix for a leading digit), sorted; keys that become the same label
//!   have their values joined with `;` in the order of the original keys. Then the
//!   scope's labels: `otel_scope_name`, `otel_scope_version`,
//!   `otel_scope_schema_url` when set, and `otel_scope_<attribute>` for its
//!   attributes; an attribute whose label is one of these joins its value.
//! - **`target_info`**: a gauge of 1 labelled with the resource's attributes, unless
//!   the resource is empty.
//! - **Order**: families sorted by name; within a family, series sorted by the
//!   number of labels, then by their label values in label order (not by label
//!   names); equal ones keep the order they were collected in.
//! - **Values**: Rust's `f64` display (`100`, `0.25`, `NaN`, `inf`, `-inf`, never an
//!   exponent); histogram buckets cumulative, with a `+Inf` bucket of the count unless
//!   a bound is already `+∞`, then `_sum` and `_count`.
//! - **Escaping**: `\` and newline in help texts; `\`, newline and `"` in label
//!   values.

mod labels;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;

use opentelemetry::{InstrumentationScope, Key, KeyValue, Value};
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, HistogramDataPoint, Metric, MetricData, ResourceMetrics,
};

use labels::{escape_into, push_label_name, Labels, ScopeLabel};

/// The family that carries the resource's attributes.
const TARGET_INFO_NAME: &str = "target_info";
/// The help text of [`TARGET_INFO_NAME`].
const TARGET_INFO_HELP: &str = "Target metadata";

/// The label with the instrumentation scope's name.
const SCOPE_NAME_LABEL: &str = "otel_scope_name";
/// The label with the instrumentation scope's version.
const SCOPE_VERSION_LABEL: &str = "otel_scope_version";
/// The label with the instrumentation scope's schema URL.
const SCOPE_SCHEMA_URL_LABEL: &str = "otel_scope_schema_url";
/// The prefix of the labels made from scope attributes.
const SCOPE_ATTRIBUTE_PREFIX: &str = "otel_scope_";
/// Labels that scope attributes never produce.
const RESERVED_SCOPE_LABELS: [&str; 3] = [
    SCOPE_NAME_LABEL,
    SCOPE_VERSION_LABEL,
    SCOPE_SCHEMA_URL_LABEL,
];

/// The suffix of counter names.
const COUNTER_SUFFIX: &str = "_total";
/// The label of a histogram bucket's upper bound.
const BUCKET_LABEL: &str = "le";
/// The upper bound of the last histogram bucket.
const POSITIVE_INF: &str = "+Inf";
/// About what a sample line adds to its name and labels: braces, a space, the value
/// (integers up to 2^53 have at most 16 digits) and a newline. Only a hint for the
/// buffer's size: a longer value grows it.
const SAMPLE_VALUE_LEN: usize = 20;
/// Integral values below this are written as integers: every integer below 2^53 is
/// exact in an `f64`, and its shortest display is its digits.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Units without a plural of their own before `/`: `1/s` gives `per_second`.
const NON_APPLICABLE_ON_PER_UNIT: [&str; 8] = ["1", "d", "h", "min", "s", "ms", "us", "ns"];

/// The Prometheus metric type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A monotonic sum.
    Counter,
    /// A gauge or a non-monotonic sum.
    Gauge,
    /// An explicit-bucket histogram.
    Histogram,
}

impl Kind {
    /// The name in the `# TYPE` line.
    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// The `# HELP` and `# TYPE` lines of a family.
#[derive(Debug, Default)]
struct Header {
    /// `None` until the family's first series.
    kind: Option<Kind>,
    help: String,
    text: String,
}

impl Header {
    /// Sets the type and help, rewriting the lines only when they change.
    fn set(&mut self, name: &str, kind: Kind, help: &str) {
        if self.kind == Some(kind) && self.help == help {
            return;
        }
        self.kind = Some(kind);
        help.clone_into(&mut self.help);
        self.text.clear();
        if !help.is_empty() {
            self.text.push_str("# HELP ");
            self.text.push_str(name);
            self.text.push(' ');
            escape_into(&mut self.text, help, false);
            self.text.push('\n');
        }
        self.text.push_str("# TYPE ");
        self.text.push_str(name);
        self.text.push(' ');
        self.text.push_str(kind.as_str());
        self.text.push('\n');
    }
}

/// The series sharing one metric name, as the registry groups them.
#[derive(Debug)]
struct Family {
    name: String,
    /// The type and help of the first instrument ever seen under this name.
    declared: Option<(Kind, String)>,
    /// This scrape's header: the type and help of its first series.
    header: Header,
    /// This scrape's series.
    series: Vec<Series>,
    /// The collection-order indices of the last scrape's series, in the order they
    /// were written (see [`write_family`]).
    order: Vec<usize>,
}

impl Family {
    fn new(name: String) -> Self {
        Self {
            name,
            declared: None,
            header: Header::default(),
            series: Vec::new(),
            order: Vec::new(),
        }
    }

    /// Checks an instrument against the first one seen under this name: `false` if
    /// its type differs (it is dropped). The first one's help stays.
    fn declare(&mut self, kind: Kind, description: &str) -> bool {
        match &self.declared {
            Some((declared, _)) => *declared == kind,
            None => {
                self.declared = Some((kind, description.to_owned()));
                true
            }
        }
    }

    /// Before a series of a declared instrument: the first series of a scrape sets
    /// the header.
    fn open_declared(&mut self) {
        if self.series.is_empty() {
            if let Some((kind, help)) = &self.declared {
                self.header.set(&self.name, *kind, help);
            }
        }
    }

    /// The type the family's samples are written as.
    fn kind(&self) -> Kind {
        self.header.kind.unwrap_or(Kind::Gauge)
    }
}

/// One series: its sort key, its labels and its samples.
#[derive(Clone, Copy, Debug)]
struct Series {
    /// Its place among the family's series, in collection order.
    index: usize,
    /// The first 16 bytes of its sort key, zero-padded, as a number: comparing two
    /// prefixes orders their keys unless they are equal.
    prefix: u128,
    /// Its sort key's range (see [`Labels::key`]).
    key: (usize, usize),
    /// Its labels' range (see [`Labels::text`]).
    labels: (usize, usize),
    samples: Samples,
}

/// The sample lines of a series.
#[derive(Clone, Copy, Debug)]
enum Samples {
    /// One line with this value, written with the family (counters and gauges).
    Value(f64),
    /// Lines written already: a range in [`Scratch::lines`] (histograms).
    Lines(usize, usize),
}

/// The `le` values of a histogram's bounds, kept while the bounds stay the same.
#[derive(Debug, Default)]
struct BucketLabels {
    bits: Vec<u64>,
    text: String,
    ends: Vec<usize>,
}

impl BucketLabels {
    /// Makes the labels match the bounds of `point`.
    fn update<T>(&mut self, point: &HistogramDataPoint<T>) {
        if point
            .bounds()
            .map(f64::to_bits)
            .eq(self.bits.iter().copied())
        {
            return;
        }
        self.bits.clear();
        self.text.clear();
        self.ends.clear();
        for bound in point.bounds() {
            self.bits.push(bound.to_bits());
            let _ = write!(self.text, "{bound}");
            self.ends.push(self.text.len());
        }
    }

    /// The `le` value of bound `i`.
    fn get(&self, i: usize) -> &str {
        let start = match i.checked_sub(1) {
            Some(previous) => self.ends.get(previous).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.text.get(start..end).unwrap_or_default()
    }
}

/// Buffers reused from scrape to scrape.
#[derive(Debug, Default)]
struct Scratch {
    labels: Labels,
    /// The sample lines of every histogram series, back to back.
    lines: Vec<u8>,
    buckets: BucketLabels,
}

/// A data point's value.
#[derive(Clone, Copy, Debug)]
enum Point<'a, T> {
    Scalar(T),
    Histogram(&'a HistogramDataPoint<T>),
}

/// A number type the SDK aggregates.
trait Numeric: Copy {
    /// The value as Prometheus keeps it (lossy past 2^53 for integers).
    fn as_f64(self) -> f64;
}

impl Numeric for u64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Numeric for i64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Numeric for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}

/// Writes collected metrics as Prometheus text, remembering the first type and help
/// of each name from scrape to scrape.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    scratch: Scratch,
}

impl Exposition {
    /// Appends the text exposition of `metrics` to `out`.
    pub(crate) fn encode(&mut self, metrics: &ResourceMetrics, out: &mut Vec<u8>) {
        self.clear();
        let mut attrs = Vec::new();
        // The resource of a provider never changes: writing its family on each
        // scrape gives what a family computed on the first one would.
        let resource = metrics.resource();
        if !resource.is_empty() {
            let index = self.family_index(TARGET_INFO_NAME);
            if let Some(family) = self.families.get_mut(index) {
                if family.series.is_empty() {
                    family
                        .header
                        .set(TARGET_INFO_NAME, Kind::Gauge, TARGET_INFO_HELP);
                }
                push_series(
                    family,
                    &mut self.scratch,
                    resource.iter(),
                    &[],
                    Point::Scalar(1.0_f64),
                    &mut attrs,
                );
            }
        }
        for scope_metrics in metrics.scope_metrics() {
            let scope = scope_labels(scope_metrics.scope());
            self.scratch.labels.new_scope();
            for metric in scope_metrics.metrics() {
                self.add_metric(metric, &scope, &mut attrs);
            }
        }
        self.write(out);
    }

    /// Forgets the previous scrape's series, keeping the buffers.
    fn clear(&mut self) {
        for family in &mut self.families {
            family.series.clear();
        }
        let scratch = &mut self.scratch;
        scratch.labels.clear();
        scratch.lines.clear();
    }

    /// The index of the family named `name`, added if new.
    fn family_index(&mut self, name: &str) -> usize {
        if let Some(index) = self.by_name.get(name) {
            return *index;
        }
        let index = self.families.len();
        self.families.push(Family::new(name.to_owned()));
        self.by_name.insert(name.to_owned(), index);
        index
    }

    /// Adds the series of one instrument.
    fn add_metric<'a>(
        &mut self,
        metric: &'a Metric,
        scope: &[ScopeLabel],
        attrs: &mut Vec<(&'a str, &'a Value)>,
    ) {
        let Some((kind, name)) = kind_and_name(metric) else {
            return;
        };
        let index = self.family_index(&name);
        let Some(family) = self.families.get_mut(index) else {
            return;
        };
        if !family.declare(kind, metric.description()) {
            return;
        }
        let scratch = &mut self.scratch;
        match metric.data() {
            AggregatedMetrics::F64(data) => add_points(family, scratch, data, scope, attrs),
            AggregatedMetrics::U64(data) => add_points(family, scratch, data, scope, attrs),
            AggregatedMetrics::I64(data) => add_points(family, scratch, data, scope, attrs),
        }
    }

    /// Writes the families in name order, each one's series in label-value order.
    fn write(&mut self, out: &mut Vec<u8>) {
        let mut order: Vec<usize> = (0..self.families.len())
            .filter(|i| self.families.get(*i).is_some_and(|f| !f.series.is_empty()))
            .collect();
        let families = &mut self.families;
        order.sort_by(|a, b| {
            let name = |i: &usize| families.get(*i).map(|f| f.name.as_str());
            name(a).cmp(&name(b))
        });
        let Scratch { labels, lines, .. } = &self.scratch;
        // Each series' labels and value, its name, the histograms' lines, headers.
        let mut len = labels.len().saturating_add(lines.len());
        for family in order.iter().filter_map(|i| families.get(*i)) {
            let per_series = family.name.len().saturating_add(SAMPLE_VALUE_LEN);
            len = len
                .saturating_add(family.series.len().saturating_mul(per_series))
                .saturating_add(family.header.text.len());
        }
        out.reserve(len);
        for index in order {
            if let Some(family) = families.get_mut(index) {
                write_family(family, labels, lines, out);
            }
        }
    }
}

/// Writes a family's header and its series sorted by their keys.
///
/// Series are pushed in collection order, so their key ranges increase, and the
/// start breaks ties as a stable sort would. A collection usually lists the series
/// in the order of the last one: the last scrape's order is tried first, checked as
/// it is written, and the series are sorted only if it no longer holds.
fn write_family(family: &mut Family, labels: &Labels, lines: &[u8], out: &mut Vec<u8>) {
    let before = |a: &Series, b: &Series| {
        a.prefix
            .cmp(&b.prefix)
            .then_with(|| labels.key(a.key).cmp(labels.key(b.key)))
            .then(a.key.0.cmp(&b.key.0))
    };
    out.extend_from_slice(family.header.text.as_bytes());
    let start = out.len();
    if family.order.len() == family.series.len() {
        let mut previous: Option<&Series> = None;
        let mut sorted = true;
        for index in &family.order {
            let Some(series) = family.series.get(*index) else {
                sorted = false;
                break;
            };
            if previous.is_some_and(|p| before(p, series).is_ge()) {
                sorted = false;
                break;
            }
            write_samples(out, &family.name, labels, lines, series);
            previous = Some(series);
        }
        if sorted {
            return;
        }
        out.truncate(start);
    }
    family.series.sort_unstable_by(before);
    family.order.clear();
    family.order.extend(family.series.iter().map(|s| s.index));
    for series in &family.series {
        write_samples(out, &family.name, labels, lines, series);
    }
}

/// Writes the sample lines of one series.
fn write_samples(out: &mut Vec<u8>, name: &str, labels: &Labels, lines: &[u8], series: &Series) {
    match series.samples {
        Samples::Value(value) => {
            write_sample(out, name, "", labels.text(series.labels), None, value);
        }
        Samples::Lines(start, end) => {
            out.extend_from_slice(lines.get(start..end).unwrap_or_default());
        }
    }
}

/// Adds every data point of one instrument's data.
fn add_points<'a, T: Numeric>(
    family: &mut Family,
    scratch: &mut Scratch,
    data: &'a MetricData<T>,
    scope: &[ScopeLabel],
    attrs: &mut Vec<(&'a str, &'a Value)>,
) {
    match data {
        MetricData::Gauge(gauge) => {
            let points = gauge.data_points().map(|p| (p.attributes(), p.value()));
            add_scalars(family, scratch, points, scope, attrs);
        }
        MetricData::Sum(sum) => {
            let points = sum.data_points().map(|p| (p.attributes(), p.value()));
            add_scalars(family, scratch, points, scope, attrs);
        }
        MetricData::Histogram(histogram) => {
            for point in histogram.data_points() {
                family.open_declared();
                let kvs = point.attributes().map(|kv| (&kv.key, &kv.value));
                push_series(family, scratch, kvs, scope, Point::Histogram(point), attrs);
            }
        }
        MetricData::ExponentialHistogram(_) => {}
    }
}

/// Adds the series of a gauge's or a sum's data points.
fn add_scalars<'a, T: Numeric>(
    family: &mut Family,
    scratch: &mut Scratch,
    points: impl Iterator<Item = (impl Iterator<Item = &'a KeyValue>, T)>,
    scope: &[ScopeLabel],
    attrs: &mut Vec<(&'a str, &'a Value)>,
) {
    for (attributes, value) in points {
        family.open_declared();
        let kvs = attributes.map(|kv| (&kv.key, &kv.value));
        push_series(family, scratch, kvs, scope, Point::Scalar(value), attrs);
    }
}

/// Adds one series to `family`: its labels and its sample lines.
fn push_series<'a, T: Numeric>(
    family: &mut Family,
    scratch: &mut Scratch,
    kvs: impl Iterator<Item = (&'a Key, &'a Value)>,
    scope: &[ScopeLabel],
    point: Point<'_, T>,
    attrs: &mut Vec<(&'a str, &'a Value)>,
) {
    let (key, labels) = scratch.labels.write_series(kvs, scope, attrs);
    let samples = samples(scratch, &family.name, family.kind(), point);
    family.series.push(Series {
        index: family.series.len(),
        prefix: key_prefix(scratch.labels.key(key)),
        key,
        labels,
        samples,
    });
}

/// The first 16 bytes of a sort key, zero-padded, big-endian. A key that is shorter
/// than another and starts it sorts first, and so does its padded prefix unless
/// the longer key goes on with zeros; so comparing prefixes orders keys whenever the
/// prefixes differ.
fn key_prefix(key: &[u8]) -> u128 {
    let mut bytes = [0_u8; 16];
    for (byte, from) in bytes.iter_mut().zip(key) {
        *byte = *from;
    }
    u128::from_be_bytes(bytes)
}

/// The samples of the series whose labels were just written, as its family's type:
/// a histogram point in a gauge family is a 0, a number in a histogram family an
/// empty histogram. Histogram lines are written now, into `scratch.lines`.
fn samples<T: Numeric>(
    scratch: &mut Scratch,
    name: &str,
    kind: Kind,
    point: Point<'_, T>,
) -> Samples {
    let labels = scratch.labels.current();
    let out = &mut scratch.lines;
    let start = out.len();
    match (kind, point) {
        (Kind::Counter | Kind::Gauge, Point::Scalar(value)) => {
            return Samples::Value(value.as_f64());
        }
        (Kind::Counter | Kind::Gauge, Point::Histogram(_)) => return Samples::Value(0.0),
        (Kind::Histogram, Point::Histogram(point)) => {
            let buckets = &mut scratch.buckets;
            buckets.update(point);
            let mut cumulative = 0_u64;
            let mut inf_seen = false;
            for (i, (bound, count)) in point.bounds().zip(point.bucket_counts()).enumerate() {
                cumulative = cumulative.wrapping_add(count);
                let le = buckets.get(i);
                write_sample(out, name, "_bucket", labels, Some(le), cumulative.as_f64());
                if bound.is_sign_positive() && bound.is_infinite() {
                    inf_seen = true;
                }
            }
            let count = point.count().as_f64();
            if !inf_seen {
                write_sample(out, name, "_bucket", labels, Some(POSITIVE_INF), count);
            }
            write_sample(out, name, "_sum", labels, None, point.sum().as_f64());
            write_sample(out, name, "_count", labels, None, count);
        }
        (Kind::Histogram, Point::Scalar(_)) => {
            write_sample(out, name, "_bucket", labels, Some(POSITIVE_INF), 0.0);
            write_sample(out, name, "_sum", labels, None, 0.0);
            write_sample(out, name, "_count", labels, None, 0.0);
        }
    }
    Samples::Lines(start, out.len())
}

/// Writes one sample line; `le` is a bucket bound (never in need of escaping).
fn write_sample(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    labels: &str,
    le: Option<&str>,
    value: f64,
) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    if !labels.is_empty() || le.is_some() {
        out.push(b'{');
        out.extend_from_slice(labels.as_bytes());
        if let Some(le) = le {
            if !labels.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(BUCKET_LABEL.as_bytes());
            out.extend_from_slice(b"=\"");
            out.extend_from_slice(le.as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.push(b' ');
    write_value(out, value);
    out.push(b'\n');
}

/// Writes a sample value as `f64`'s display does.
fn write_value(out: &mut Vec<u8>, value: f64) {
    let negative_zero = value == 0.0 && value.is_sign_negative();
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGER_LIMIT && !negative_zero {
        // Exact: the value is an integer of at most 53 bits.
        #[allow(clippy::cast_possible_truncation)]
        write_integer(out, value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Writes an integer in decimal.
fn write_integer(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    let mut rest = value.unsigned_abs();
    // `u64::MAX` has 20 digits; they are filled from the end.
    let mut digits = [0_u8; 20];
    let mut len = 0;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = digits.len().saturating_sub(len);
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

/// The family type and Prometheus name of an instrument's data; `None` for data
/// that is not exported (exponential histograms).
fn kind_and_name(metric: &Metric) -> Option<(Kind, String)> {
    let kind = match metric.data() {
        AggregatedMetrics::F64(data) => data_kind(data),
        AggregatedMetrics::U64(data) => data_kind(data),
        AggregatedMetrics::I64(data) => data_kind(data),
    }?;
    let mut name = sanitize_name(metric.name());
    if let Some(suffix) = unit_suffix(metric.unit()) {
        name.push('_');
        name.push_str(&suffix);
    }
    if kind == Kind::Counter {
        name.push_str(COUNTER_SUFFIX);
    }
    Some((kind, name))
}

/// The family type of one kind of data.
fn data_kind<T>(data: &MetricData<T>) -> Option<Kind> {
    match data {
        MetricData::Gauge(_) => Some(Kind::Gauge),
        MetricData::Sum(sum) if sum.is_monotonic() => Some(Kind::Counter),
        MetricData::Sum(_) => Some(Kind::Gauge),
        MetricData::Histogram(_) => Some(Kind::Histogram),
        MetricData::ExponentialHistogram(_) => None,
    }
}

/// The labels every series of a scope carries.
fn scope_labels(scope: &InstrumentationScope) -> Vec<ScopeLabel> {
    let label = |name: &str, value: &str| ScopeLabel {
        name: name.to_owned(),
        value: value.to_owned(),
    };
    let mut labels = vec![label(SCOPE_NAME_LABEL, scope.name())];
    if let Some(version) = scope.version() {
        labels.push(label(SCOPE_VERSION_LABEL, version));
    }
    if let Some(schema_url) = scope.schema_url() {
        labels.push(label(SCOPE_SCHEMA_URL_LABEL, schema_url));
    }
    let mut attributes = BTreeMap::<String, Vec<String>>::new();
    for kv in scope.attributes() {
        if matches!(kv.key.as_str(), "name" | "version" | "schema_url") {
            continue;
        }
        let mut name = String::new();
        push_label_name(&mut name, &format!("{SCOPE_ATTRIBUTE_PREFIX}{}", kv.key));
        if RESERVED_SCOPE_LABELS.contains(&name.as_str()) {
            continue;
        }
        attributes
            .entry(name)
            .or_default()
            .push(kv.value.to_string());
    }
    labels.extend(attributes.into_iter().map(|(name, values)| ScopeLabel {
        name,
        value: values.join(";"),
    }));
    labels
}

/// An instrument name as a metric name: from the first character that is neither
/// alphanumeric (in Unicode) nor `_` nor `:` on, every character outside
/// `[A-Za-z0-9_:]` becomes `_`; a leading digit gets a `_` in front.
fn sanitize_name(name: &str) -> String {
    let mut leading_digit = false;
    let first_invalid = name.char_indices().find(|(i, c)| {
        if *i == 0 && c.is_ascii_digit() {
            leading_digit = true;
            true
        } else {
            !c.is_alphanumeric() && *c != '_' && *c != ':'
        }
    });
    let Some((index, _)) = first_invalid else {
        return name.to_owned();
    };
    let (valid, rest) = name.split_at_checked(index).unwrap_or((name, ""));
    let mut out = String::with_capacity(name.len().saturating_add(1));
    if leading_digit {
        out.push('_');
    }
    out.push_str(valid);
    out.extend(rest.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// The name suffix of a unit: `s` gives `seconds`, `m/s` `meters_per_second`,
/// `{event}` (an annotation) and unknown units none.
fn unit_suffix(unit: &str) -> Option<String> {
    if unit.is_empty() {
        return None;
    }
    if let Some(suffix) = unit_name(unit) {
        return Some(suffix.to_owned());
    }
    let (first, second) = unit.split_once('/')?;
    let per = per_unit_name(second)?;
    match (
        NON_APPLICABLE_ON_PER_UNIT.contains(&first),
        unit_name(first),
    ) {
        (false, Some(first)) => Some(format!("{first}_per_{per}")),
        _ => Some(format!("per_{per}")),
    }
}

/// The plural name of a unit.
fn unit_name(unit: &str) -> Option<&'static str> {
    Some(match unit {
        // Time
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        // Bytes
        "By" | "B" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" | "KB" => "kilobytes",
        "MBy" | "MB" => "megabytes",
        "GBy" | "GB" => "gigabytes",
        "TBy" | "TB" => "terabytes",
        // SI
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        // Misc
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "ratio",
        "%" => "percent",
        _ => return None,
    })
}

/// The singular name of a unit after `/`.
fn per_unit_name(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

#[cfg(test)]
mod matches_opentelemetry_prometheus;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exposition_remembering_earlier_scrapes_writes_what_a_fresh_one_writes() {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;

        use opentelemetry::metrics::MeterProvider as _;
        use opentelemetry_sdk::metrics::reader::MetricReader as _;
        use opentelemetry_sdk::metrics::SdkMeterProvider;

        let reader = crate::bridge::BridgeReader::new();
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        let meter = provider.meter("history");
        let requests = meter.u64_counter("requests").build();
        let round = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&round);
        // As many series each round, with other label values.
        let _gauge = meter
            .u64_observable_gauge("queue")
            .with_callback(move |o| {
                let n = seen.load(Ordering::Relaxed);
                for i in 0..20 {
                    let queue = format!("q{}", (n * 13 + i * 7) % 50);
                    o.observe(i, &[KeyValue::new("queue", queue)]);
                }
            })
            .build();
        let mut remembering = Exposition::default();
        let mut metrics = ResourceMetrics::default();
        for n in 0..6_u64 {
            round.store(n, Ordering::Relaxed);
            for i in 0..(n + 1) * 10 {
                let tenant = format!("t{}", (i * 7) % 101);
                requests.add(i + 1, &[KeyValue::new("tenant", tenant)]);
            }
            reader.collect(&mut metrics).unwrap();
            let mut ours = Vec::new();
            remembering.encode(&metrics, &mut ours);
            let mut fresh = Vec::new();
            Exposition::default().encode(&metrics, &mut fresh);
            assert_eq!(
                String::from_utf8(ours),
                String::from_utf8(fresh),
                "round {n}"
            );
        }
    }

    #[test]
    fn key_prefixes_that_differ_order_their_keys() {
        let keys: [&[u8]; 12] = [
            b"",
            b"\0",
            b"\0\0",
            b"a",
            b"a\0\x01",
            b"a\0\xff\0\x01",
            b"ab",
            b"abcdefghijklmnop",
            b"abcdefghijklmnopq",
            b"abcdefghijklmnoq",
            b"\0\0\0\x05desktop\0\x01x",
            b"\0\0\0\x05mobile\0\x01",
        ];
        for a in keys {
            for b in keys {
                let (pa, pb) = (key_prefix(a), key_prefix(b));
                if pa != pb {
                    assert_eq!(pa.cmp(&pb), a.cmp(b), "{a:?} {b:?}");
                }
            }
        }
    }

    fn value(v: f64) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_written_as_f64_display_writes_them() {
        let cases = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            100.0,
            0.25,
            1e-7,
            1e21,
            -2.5e300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            9_007_199_254_740_994.0,
            2.0_f64.powi(64),
            123_456_789_012_345_680.0,
            -4_503_599_627_370_497.0,
        ];
        for v in cases {
            assert_eq!(value(v), v.to_string(), "{v:?}");
        }
    }

    #[test]
    fn names_are_sanitized_as_opentelemetry_prometheus_does() {
        let cases = [
            ("nam€_with_3_width_rune", "nam__with_3_width_rune"),
            ("`", "_"),
            ("Avalid_23name", "Avalid_23name"),
            ("1valid_23name", "_1valid_23name"),
            ("a lid_23name", "a_lid_23name"),
            (":leading_colon", ":leading_colon"),
            ("café.prix€", "café_prix_"),
            ("business.revenue_cents", "business_revenue_cents"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize_name(input), want, "{input}");
        }
    }

    #[test]
    fn units_give_the_suffixes_opentelemetry_prometheus_gives() {
        let cases = [
            ("g", Some("grams")),
            ("s", Some("seconds")),
            ("By", Some("bytes")),
            ("1", Some("ratio")),
            ("test/y", Some("per_year")),
            ("1/y", Some("per_year")),
            ("s/m", Some("per_minute")),
            ("m/s", Some("meters_per_second")),
            ("invalid", None),
            ("invalid/invalid", None),
            ("seconds", None),
            ("", None),
            ("{request}", None),
            ("USD", None),
        ];
        for (unit, want) in cases {
            assert_eq!(unit_suffix(unit).as_deref(), want, "{unit}");
        }
    }

    #[test]
    fn escaping_matches_the_text_encoder() {
        let escape = |s: &str, quote: bool| {
            let mut out = String::new();
            escape_into(&mut out, s, quote);
            out
        };
        assert_eq!(escape("\\n\"", true), r#"\\n\""#);
        assert_eq!(escape("\\\n\"", true), r#"\\\n\""#);
        assert_eq!(escape("a\"b\n", false), "a\"b\\n");
        assert_eq!(escape("€\"é", true), "€\\\"é");
        assert_eq!(escape("plain", true), "plain");
    }

    #[test]
    fn label_names_replace_everything_outside_alphanumerics_and_colons() {
        let mut out = String::new();
        push_label_name(&mut out, "1http.method_€:x");
        assert_eq!(out, "1http_method__:x");
    }
}
