//! Label settings a deployment chooses: allowlists per free-form dimension, parsed
//! from `DIMENSION=value,value,...` (the `--allowlist` option).

use std::fmt;
use std::str::FromStr;

use business_metrics::{Dimension, LabelPolicy, PolicyError};

/// The values one free-form dimension may take; everything else is recorded as
/// `other`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowlist {
    /// The dimension restricted.
    pub dimension: Dimension,
    /// The values kept as they are.
    pub values: Vec<String>,
}

/// Why an `--allowlist` value cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowlistParseError(String);

impl fmt::Display for AllowlistParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AllowlistParseError {}

fn dimension_names() -> String {
    Dimension::ALL
        .iter()
        .map(|d| d.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Allowlist {
    type Err = AllowlistParseError;

    /// Parses `source=google_ads,direct`: a dimension name, `=`, and a comma list of
    /// values (surrounding white space is ignored; empty entries are refused).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((name, list)) = s.split_once('=') else {
            return Err(AllowlistParseError(format!(
                "expected DIMENSION=value,value,... (e.g. source=google_ads,direct), got {s:?}"
            )));
        };
        let name = name.trim();
        let dimension = Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == name)
            .ok_or_else(|| {
                AllowlistParseError(format!(
                    "unknown dimension {name:?}; choose one of {}",
                    dimension_names()
                ))
            })?;
        let values: Vec<String> = list.split(',').map(|v| v.trim().to_owned()).collect();
        if values.iter().any(String::is_empty) {
            return Err(AllowlistParseError(format!(
                "the allowlist of {name} has an empty entry; list non-empty values separated by commas"
            )));
        }
        Ok(Self { dimension, values })
    }
}

/// The label policy with these allowlists (several for one dimension add up).
///
/// # Errors
/// [`PolicyError::InvalidConfig`] when an allowlisted value is longer than a label
/// value may be.
pub fn label_policy(allowlists: &[Allowlist]) -> Result<LabelPolicy, PolicyError> {
    allowlists
        .iter()
        .fold(LabelPolicy::builder(), |b, list| {
            b.with_allowlist(list.dimension, list.values.iter().cloned())
        })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists_parse_dimension_and_values() {
        let a: Allowlist = " source = google_ads, direct ".parse().unwrap();
        assert_eq!(
            a,
            Allowlist {
                dimension: Dimension::Source,
                values: vec!["google_ads".to_owned(), "direct".to_owned()],
            }
        );
        let m: Allowlist = "milestone=first_export".parse().unwrap();
        assert_eq!(m.dimension, Dimension::Milestone);
    }

    #[test]
    fn bad_allowlists_say_what_to_write() {
        let e = "source".parse::<Allowlist>().unwrap_err().to_string();
        assert!(e.contains("DIMENSION=value"), "{e}");
        let e = "user_id=1,2".parse::<Allowlist>().unwrap_err().to_string();
        assert!(e.contains("unknown dimension \"user_id\""), "{e}");
        assert!(e.contains("source, experiment_variant"), "{e}");
        let e = "region=eu,,us"
            .parse::<Allowlist>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty entry"), "{e}");
    }

    #[test]
    fn the_policy_maps_values_outside_the_allowlists_to_other() {
        let policy = label_policy(&[
            "source=google_ads".parse().unwrap(),
            "source=direct".parse().unwrap(),
            "region=eu".parse().unwrap(),
        ])
        .unwrap();
        assert_eq!(policy.apply(Dimension::Source, "direct").unwrap(), "direct");
        assert_eq!(policy.apply(Dimension::Source, "tiktok").unwrap(), "other");
        assert_eq!(policy.apply(Dimension::Region, "us").unwrap(), "other");
        assert_eq!(
            policy.apply(Dimension::FeatureName, "export").unwrap(),
            "export"
        );
        let too_long = format!("source={}", "x".repeat(65)).parse().unwrap();
        assert!(label_policy(&[too_long]).is_err());
    }
}
