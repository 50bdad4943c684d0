//! Label settings a deployment chooses: allowlists per free-form dimension, parsed
//! from `DIMENSION=value,value,...` (the `--allowlist` option).

use std::fmt;
use std::str::FromStr;

use business_metrics::{Dimension, LabelPolicy, PolicyError};

/// The product's `region`: a free attribute of its own instruments, which the
/// label policy treats as the built-in [`Dimension::Region`] (one allowlist
/// governs `region` on every instrument).
pub const REGION: Dimension = Dimension::Region;

/// The free-form dimensions the product records, by the name `--allowlist` takes.
pub const DIMENSIONS: [(&str, Dimension); 4] = [
    ("source", Dimension::Source),
    ("experiment_variant", Dimension::ExperimentVariant),
    ("feature_name", Dimension::FeatureName),
    ("region", REGION),
];

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
    DIMENSIONS
        .iter()
        .map(|(name, _)| *name)
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
                "expected DIMENSION=value,value,... (e.g. region=us_east,eu_central), got {s:?}"
            )));
        };
        let name = name.trim();
        let dimension = DIMENSIONS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
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
        let a: Allowlist = " region = us_east, eu_central ".parse().unwrap();
        assert_eq!(
            a,
            Allowlist {
                dimension: REGION,
                values: vec!["us_east".to_owned(), "eu_central".to_owned()],
            }
        );
        let s: Allowlist = "source=direct".parse().unwrap();
        assert_eq!(s.dimension, Dimension::Source);
    }

    #[test]
    fn bad_allowlists_say_what_to_write() {
        let e = "region".parse::<Allowlist>().unwrap_err().to_string();
        assert!(e.contains("DIMENSION=value"), "{e}");
        let e = "product_category=a"
            .parse::<Allowlist>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown dimension \"product_category\""), "{e}");
        assert!(
            e.contains("source, experiment_variant, feature_name, region"),
            "{e}"
        );
        let e = "region=eu,,us"
            .parse::<Allowlist>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty entry"), "{e}");
    }

    #[test]
    fn the_region_allowlist_applies_to_the_products_region_attribute() {
        let policy = label_policy(&["region=us_east".parse().unwrap()]).unwrap();
        assert_eq!(policy.apply(REGION, "us_east").unwrap(), "us_east");
        assert_eq!(policy.apply(REGION, "mars").unwrap(), "other");
        assert_eq!(policy.apply(Dimension::Source, "mars").unwrap(), "mars");
        let too_long = format!("region={}", "x".repeat(65)).parse().unwrap();
        assert!(label_policy(&[too_long]).is_err());
    }
}
