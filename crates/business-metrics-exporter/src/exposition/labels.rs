//! The labels of a series, as text and as the key the series are sorted by.
//!
//! Which labels an attribute set gives, and in which order, depends on its keys
//! alone: a [`Plan`] made for the first series with given keys serves the next
//! ones, so each further series only writes its values. A few plans are kept: the
//! SDK hands an attribute set over in the order it was recorded with or sorted by
//! key, whichever its hash map lists first.

use std::fmt::Write as _;

use opentelemetry::{Key, Value};

/// A label that every series of a scope carries.
#[derive(Debug)]
pub(super) struct ScopeLabel {
    pub(super) name: String,
    pub(super) value: String,
}

/// Where a label's value comes from.
#[derive(Clone, Copy, Debug)]
enum Member {
    /// The value of the series' attribute at this position.
    Attribute(usize),
    /// The value of the scope label at this position.
    Scope(usize),
}

/// One label of a plan.
#[derive(Clone, Copy, Debug)]
struct PlannedLabel {
    /// The label name's range in [`Plan::names`].
    name: (usize, usize),
    /// What precedes its value in the text (`,name="`, no comma for the first
    /// label): a range in [`Plan::prefixes`].
    prefix: (usize, usize),
    /// The values joined with `;`: a range in [`Plan::members`].
    members: (usize, usize),
}

/// The labels of series whose attributes have given keys, in the order the SDK
/// gives them: sanitized attribute keys in order, values of keys that became the
/// same label joined with `;` in the order of the original keys, then the scope's
/// labels.
#[derive(Debug, Default)]
struct Plan {
    /// Whether the plan holds the labels of `keys` (it is made lazily).
    valid: bool,
    /// When it was last used (see [`Plans::clock`]).
    used: u64,
    /// The address and length of each attribute key it was made for. Keys are
    /// borrowed from the collection being written, so while one collection is
    /// written, an equal address and length mean an equal key (a key elsewhere
    /// with the same text only misses the plan).
    keys: Vec<(usize, usize)>,
    names: String,
    prefixes: String,
    labels: Vec<PlannedLabel>,
    members: Vec<Member>,
    /// The number of labels, big-endian at the start of a sort key.
    count: u32,
    /// The labels from here on are the scope's own, the same for every series:
    /// written once, in [`Plan::suffix`].
    suffix_from: usize,
    suffix: Suffix,
}

/// Labels written once for every series of a plan: their text (with a leading
/// comma after other labels) and their part of the sort key.
#[derive(Debug, Default)]
struct Suffix {
    text: String,
    key: Vec<u8>,
}

/// An attribute on its way into a plan.
#[derive(Debug)]
struct Planned<'a> {
    /// Its position in the series' attributes.
    position: usize,
    key: &'a str,
    /// The sanitized key's range in [`Plan::names`].
    name: (usize, usize),
    /// The scope label the sanitized key equals, if any.
    scope: Option<usize>,
}

impl Plan {
    /// Whether the plan was made for attributes with these keys.
    fn fits(&self, attrs: &[(&str, &Value)]) -> bool {
        self.valid
            && self.keys.len() == attrs.len()
            && self
                .keys
                .iter()
                .zip(attrs)
                .all(|(&(addr, len), (key, _))| key.as_ptr().addr() == addr && key.len() == len)
    }

    /// Makes the plan of attributes with the keys of `attrs`.
    fn make(&mut self, attrs: &[(&str, &Value)], scope: &[ScopeLabel]) {
        self.keys.clear();
        self.names.clear();
        self.prefixes.clear();
        self.labels.clear();
        self.members.clear();
        let mut planned: Vec<Planned<'_>> = Vec::with_capacity(attrs.len());
        for (position, (key, _)) in attrs.iter().enumerate() {
            self.keys.push((key.as_ptr().addr(), key.len()));
            let start = self.names.len();
            push_label_name(&mut self.names, key);
            let name = self.names.get(start..).unwrap_or_default();
            planned.push(Planned {
                position,
                key,
                name: (start, self.names.len()),
                scope: scope.iter().position(|label| label.name == name),
            });
        }
        let names = &self.names;
        let name_of = |a: &Planned<'_>| names.get(a.name.0..a.name.1).unwrap_or_default();
        // Stable, as the registry's own sort: equal keys keep their order.
        planned.sort_by(|a, b| {
            a.scope
                .cmp(&b.scope)
                .then_with(|| name_of(a).cmp(name_of(b)))
                .then_with(|| a.key.cmp(b.key))
        });

        let mut rest = planned.as_slice();
        while let Some((first, _)) = rest.split_first() {
            if first.scope.is_some() {
                break;
            }
            let name = name_of(first);
            let count = rest
                .iter()
                .take_while(|a| a.scope.is_none() && name_of(a) == name)
                .count();
            let (group, tail) = rest.split_at_checked(count).unwrap_or((rest, &[]));
            let start = self.members.len();
            self.members
                .extend(group.iter().map(|a| Member::Attribute(a.position)));
            self.labels.push(PlannedLabel {
                name: first.name,
                prefix: (0, 0),
                members: (start, self.members.len()),
            });
            rest = tail;
        }

        for (index, label) in scope.iter().enumerate() {
            let count = rest.iter().take_while(|a| a.scope == Some(index)).count();
            let (group, tail) = rest.split_at_checked(count).unwrap_or((rest, &[]));
            let start = self.members.len();
            let mut own_written = false;
            for attr in group {
                // The scope's own value sorts by its label name among the
                // attributes' original keys, ahead of an equal key.
                if !own_written && attr.key >= label.name.as_str() {
                    self.members.push(Member::Scope(index));
                    own_written = true;
                }
                self.members.push(Member::Attribute(attr.position));
            }
            if !own_written {
                self.members.push(Member::Scope(index));
            }
            let name_start = self.names.len();
            self.names.push_str(&label.name);
            self.labels.push(PlannedLabel {
                name: (name_start, self.names.len()),
                prefix: (0, 0),
                members: (start, self.members.len()),
            });
            rest = tail;
        }

        for (i, label) in self.labels.iter_mut().enumerate() {
            let start = self.prefixes.len();
            if i > 0 {
                self.prefixes.push(',');
            }
            let name = self.names.get(label.name.0..label.name.1);
            self.prefixes.push_str(name.unwrap_or_default());
            self.prefixes.push_str("=\"");
            label.prefix = (start, self.prefixes.len());
        }

        // The trailing labels that are the scope's own values alone.
        let members = &self.members;
        let own = |label: &PlannedLabel| match members.get(label.members.0..label.members.1) {
            Some([Member::Scope(i)]) => scope.get(*i),
            _ => None,
        };
        let shared = self
            .labels
            .iter()
            .rev()
            .take_while(|l| own(l).is_some())
            .count();
        self.suffix_from = self.labels.len() - shared;
        let suffix = &mut self.suffix;
        suffix.text.clear();
        suffix.key.clear();
        for scope_label in self.labels.iter().skip(self.suffix_from).filter_map(own) {
            if !suffix.text.is_empty() || self.suffix_from > 0 {
                suffix.text.push(',');
            }
            suffix.text.push_str(&scope_label.name);
            suffix.text.push_str("=\"");
            push_value(&mut suffix.text, &mut suffix.key, &scope_label.value);
        }
        self.count = u32::try_from(self.labels.len()).unwrap_or(u32::MAX);
        self.valid = true;
    }
}

/// The latest plans made, each reused while it fits.
#[derive(Debug, Default)]
struct Plans {
    plans: [Plan; PLANS],
    /// Counts the series, to find the least recently used plan.
    clock: u64,
}

/// How many plans [`Plans`] keeps.
const PLANS: usize = 4;

impl Plans {
    /// Forgets the plans: their keys may not outlive the collection, or the scope,
    /// they were made for.
    fn invalidate(&mut self) {
        for plan in &mut self.plans {
            plan.valid = false;
        }
    }

    /// A plan for the keys of `attrs`: one that fits, or one made in place of the
    /// least recently used.
    fn plan_for(&mut self, attrs: &[(&str, &Value)], scope: &[ScopeLabel]) -> &Plan {
        self.clock = self.clock.wrapping_add(1);
        let fitting = self.plans.iter().position(|p| p.fits(attrs));
        let chosen = fitting.or_else(|| {
            let oldest = self.plans.iter().enumerate().min_by_key(|(_, p)| p.used);
            oldest.map(|(i, _)| i)
        });
        if let Some(i) = chosen {
            self.plans.swap(0, i);
        }
        let [first, ..] = &mut self.plans;
        if fitting.is_none() {
            first.make(attrs, scope);
        }
        first.used = self.clock;
        first
    }
}

/// The labels of the series: every series' labels as text, and every series' sort
/// key.
///
/// A series' key is its label count (4 bytes, big-endian), then each label value
/// with `0x00` written as `0x00 0xFF` and followed by `0x00 0x01`. Comparing two keys
/// byte for byte orders the series as the registry does: by label count, then by
/// the values in label order (a value sorts before any longer value it starts).
#[derive(Debug, Default)]
pub(super) struct Labels {
    written: Written,
    plans: Plans,
}

/// What the labels of the series are written to.
#[derive(Debug, Default)]
struct Written {
    /// The labels of every series, as text without braces, back to back.
    text: String,
    /// Where the current series' labels start in `text`.
    text_start: usize,
    /// A label's value made of several values.
    value: String,
    /// The sort keys of every series, back to back.
    keys: Vec<u8>,
}

impl Labels {
    /// Forgets every series (and the plans), keeping the buffers.
    pub(super) fn clear(&mut self) {
        self.written.text.clear();
        self.written.keys.clear();
        self.plans.invalidate();
    }

    /// Before the series of another scope: the plans no longer hold.
    pub(super) fn new_scope(&mut self) {
        self.plans.invalidate();
    }

    /// Writes the labels of a series with attributes `kvs` in `scope` (`attrs` is a
    /// buffer); returns the ranges of its key and of its text.
    pub(super) fn write_series<'a>(
        &mut self,
        kvs: impl Iterator<Item = (&'a Key, &'a Value)>,
        scope: &[ScopeLabel],
        attrs: &mut Vec<(&'a str, &'a Value)>,
    ) -> ((usize, usize), (usize, usize)) {
        attrs.clear();
        attrs.extend(kvs.map(|(key, value)| (key.as_str(), value)));
        let plan = self.plans.plan_for(attrs, scope);
        let out = &mut self.written;
        out.text_start = out.text.len();
        let key_start = out.keys.len();
        out.keys.extend_from_slice(&plan.count.to_be_bytes());
        for label in plan.labels.iter().take(plan.suffix_from) {
            let prefix = plan.prefixes.get(label.prefix.0..label.prefix.1);
            let members = plan.members.get(label.members.0..label.members.1);
            out.label(
                prefix.unwrap_or_default(),
                members.unwrap_or_default(),
                attrs,
                scope,
            );
        }
        out.text.push_str(&plan.suffix.text);
        out.keys.extend_from_slice(&plan.suffix.key);
        (
            (key_start, out.keys.len()),
            (out.text_start, out.text.len()),
        )
    }

    /// The labels of the series being written.
    pub(super) fn current(&self) -> &str {
        let out = &self.written;
        out.text.get(out.text_start..).unwrap_or_default()
    }

    /// A sort key, by its range.
    pub(super) fn key(&self, range: (usize, usize)) -> &[u8] {
        self.written.keys.get(range.0..range.1).unwrap_or_default()
    }

    /// Labels, by their range.
    pub(super) fn text(&self, range: (usize, usize)) -> &str {
        self.written.text.get(range.0..range.1).unwrap_or_default()
    }

    /// The length of every series' labels.
    pub(super) fn len(&self) -> usize {
        self.written.text.len()
    }
}

impl Written {
    /// Writes one label after its prefix (see [`PlannedLabel::prefix`]).
    fn label(
        &mut self,
        prefix: &str,
        members: &[Member],
        attrs: &[(&str, &Value)],
        scope: &[ScopeLabel],
    ) {
        let value_of = |member: &Member| match *member {
            Member::Attribute(i) => attrs.get(i).map(|(_, value)| Text::Value(value)),
            Member::Scope(i) => scope.get(i).map(|label| Text::Str(&label.value)),
        };
        self.text.push_str(prefix);
        let single = match members {
            [one] => value_of(one),
            _ => None,
        };
        match single {
            Some(Text::Value(Value::String(s))) => {
                push_value(&mut self.text, &mut self.keys, s.as_str());
            }
            Some(Text::Str(s)) => push_value(&mut self.text, &mut self.keys, s),
            _ => {
                // Several values joined with `;`, or one that is not a string.
                let mut value = std::mem::take(&mut self.value);
                value.clear();
                for (i, text) in members.iter().filter_map(value_of).enumerate() {
                    if i > 0 {
                        value.push(';');
                    }
                    text.push_to(&mut value);
                }
                push_value(&mut self.text, &mut self.keys, &value);
                self.value = value;
            }
        }
    }
}

/// Ends a label with `value`: escaped and closed in `text`, and in `key`.
fn push_value(text: &mut String, key: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if bytes.iter().any(|b| matches!(b, b'\\' | b'\n' | b'"' | 0)) {
        escape_into(text, value, true);
        for byte in bytes {
            key.push(*byte);
            if *byte == 0 {
                key.push(0xFF);
            }
        }
    } else {
        text.push_str(value);
        key.extend_from_slice(bytes);
    }
    text.push('"');
    key.push(0x00);
    key.push(0x01);
}

/// A value on its way into a label.
#[derive(Clone, Copy, Debug)]
enum Text<'a> {
    Value(&'a Value),
    Str(&'a str),
}

impl Text<'_> {
    fn push_to(self, out: &mut String) {
        match self {
            Self::Value(Value::String(s)) => out.push_str(s.as_str()),
            Self::Value(other) => {
                let _ = write!(out, "{other}");
            }
            Self::Str(s) => out.push_str(s),
        }
    }
}

/// Appends an attribute key as a label name: every character outside
/// `[A-Za-z0-9:]` becomes `_`.
pub(super) fn push_label_name(out: &mut String, key: &str) {
    // `_` stays `_`.
    if key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'_')
    {
        out.push_str(key);
        return;
    }
    out.extend(key.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == ':' {
            c
        } else {
            '_'
        }
    }));
}

/// Appends `text` with `\` as `\\`, newline as `\n`, and, in label values, `"` as
/// `\"`.
pub(super) fn escape_into(out: &mut String, text: &str, quote: bool) {
    // The special characters are ASCII: a byte position is a character boundary.
    let special = |b: &u8| *b == b'\\' || *b == b'\n' || (quote && *b == b'"');
    let mut rest = text;
    while let Some(index) = rest.bytes().position(|b| special(&b)) {
        let (head, tail) = rest.split_at_checked(index).unwrap_or((rest, ""));
        out.push_str(head);
        let mut chars = tail.chars();
        match chars.next() {
            Some('\n') => out.push_str("\\n"),
            Some(c) => {
                out.push('\\');
                out.push(c);
            }
            None => {}
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
}
