//! Label matchers that keep services apart: `job="checkout"`, `env!="staging"`.

use std::fmt;
use std::str::FromStr;

use crate::names::{LabelName, NameError};

/// Why a label matcher could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MatcherError {
    /// The label name is not one.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The text is not `label<op>"value"`.
    #[error(
        "invalid matcher `{input}`: {reason}; write label=\"value\" (or !=, =~, !~), \
         e.g. job=\"checkout\""
    )]
    Invalid {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// How a [`LabelMatcher`] compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`: equal.
    Equal,
    /// `!=`: not equal.
    NotEqual,
    /// `=~`: matches the regular expression (anchored, RE2 syntax).
    Regex,
    /// `!~`: does not match the regular expression.
    NotRegex,
}

impl MatchOp {
    /// The PromQL operator.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }
}

/// One PromQL label matcher, such as `job="checkout"`. The analyses add the
/// client's matchers ([`crate::PrometheusClientBuilder::with_matcher`]) to every
/// selector of the PromQL they build, so two services whose series share names are
/// never summed together.
///
/// ```
/// use business_metrics_analysis::LabelMatcher;
///
/// let job = LabelMatcher::job("checkout");
/// assert_eq!(job.to_string(), r#"job="checkout""#);
/// let env: LabelMatcher = r#"env=~"prod|canary""#.parse()?;
/// assert_eq!(env.to_string(), r#"env=~"prod|canary""#);
/// # Ok::<(), business_metrics_analysis::MatcherError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatcher {
    name: LabelName,
    op: MatchOp,
    value: String,
}

impl LabelMatcher {
    /// A matcher of `name` by `op` against `value` (any text; it is escaped when
    /// written as PromQL).
    #[must_use]
    pub fn new(name: LabelName, op: MatchOp, value: impl Into<String>) -> Self {
        Self {
            name,
            op,
            value: value.into(),
        }
    }

    /// `job="<job>"`: the series of one scrape job or OpenTelemetry `service.name`.
    #[must_use]
    pub fn job(job: impl Into<String>) -> Self {
        Self {
            name: LabelName::job(),
            op: MatchOp::Equal,
            value: job.into(),
        }
    }

    /// The label's name.
    #[must_use]
    pub fn name(&self) -> &LabelName {
        &self.name
    }

    /// The operator.
    #[must_use]
    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The value, unescaped.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for LabelMatcher {
    /// PromQL: `name<op>"value"`, the value escaped as a PromQL string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"", self.name, self.op.as_str())?;
        for c in self.value.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

impl FromStr for LabelMatcher {
    type Err = MatcherError;

    /// Reads `label="value"` with `=`, `!=`, `=~` or `!~`; the value in double quotes
    /// (with `\"` and `\\` escapes) or bare (`job=checkout`).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| MatcherError::Invalid {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let text = input.trim();
        let at = text
            .find(['=', '!'])
            .ok_or_else(|| invalid("no operator"))?;
        let (name, rest) = text.split_at(at);
        let (op, value) = [
            ("=~", MatchOp::Regex),
            ("!~", MatchOp::NotRegex),
            ("!=", MatchOp::NotEqual),
            ("=", MatchOp::Equal),
        ]
        .into_iter()
        .find_map(|(token, op)| rest.strip_prefix(token).map(|value| (op, value)))
        .ok_or_else(|| invalid("no operator"))?;
        let name = LabelName::new(name.trim())?;
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(quoted) => unquote(quoted).ok_or_else(|| invalid("unterminated quotes"))?,
            None if value.contains('"') => return Err(invalid("a quote inside a bare value")),
            None => value.to_owned(),
        };
        Ok(Self::new(name, op, value))
    }
}

/// The inside of a double-quoted string whose opening quote is gone, up to its closing
/// quote, which must end the text.
fn unquote(quoted: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return chars.as_str().is_empty().then_some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// The matchers as they continue a selector's braces: `, a="1", b="2"` (empty for none).
pub(crate) fn continue_selector(matchers: &[LabelMatcher]) -> String {
    matchers.iter().map(|m| format!(", {m}")).collect()
}

/// The matchers as a selector's braces: `{a="1", b="2"}` (empty for none).
pub(crate) fn braces(matchers: &[LabelMatcher]) -> String {
    if matchers.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = matchers.iter().map(ToString::to_string).collect();
    format!("{{{}}}", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<String, String> {
        text.parse::<LabelMatcher>()
            .map(|m| m.to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn matchers_read_every_operator_and_write_promql() {
        assert_eq!(
            parse(r#"job="checkout""#),
            Ok(r#"job="checkout""#.to_owned())
        );
        assert_eq!(parse("job=checkout"), Ok(r#"job="checkout""#.to_owned()));
        assert_eq!(parse(r#"env != "dev""#), Ok(r#"env!="dev""#.to_owned()));
        assert_eq!(parse(r#"env=~"a|b""#), Ok(r#"env=~"a|b""#.to_owned()));
        assert_eq!(parse(r#"env!~"a.*""#), Ok(r#"env!~"a.*""#.to_owned()));
        assert_eq!(parse(r#"job="""#), Ok(r#"job="""#.to_owned()));
    }

    #[test]
    fn values_are_escaped_so_they_cannot_end_the_selector() {
        let sneaky = LabelMatcher::job("a\"} or vector(1) # \\\n");
        assert_eq!(sneaky.to_string(), r#"job="a\"} or vector(1) # \\\n""#);
        assert_eq!(
            sneaky.to_string().parse::<LabelMatcher>().ok(),
            Some(sneaky)
        );
    }

    #[test]
    fn malformed_matchers_are_rejected() {
        assert_eq!(
            parse("checkout"),
            Err(
                "invalid matcher `checkout`: no operator; write label=\"value\" (or !=, \
                 =~, !~), e.g. job=\"checkout\""
                    .to_owned()
            )
        );
        for bad in [
            r#"job="checkout"#,
            r#"job="a"b""#,
            r#"job=a"b"#,
            r#"1job="a""#,
            r#"="a""#,
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn selectors_are_continued_or_opened() {
        let m = [LabelMatcher::job("a"), LabelMatcher::job("b")];
        assert_eq!(continue_selector(&m), r#", job="a", job="b""#);
        assert_eq!(braces(&m), r#"{job="a", job="b"}"#);
        assert_eq!(braces(&[]), "");
    }
}
