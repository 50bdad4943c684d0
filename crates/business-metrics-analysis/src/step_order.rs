//! Reading a funnel's step order from Prometheus when no definition gives it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::client::{InstantSeries, PrometheusClient};
use crate::definition::{FunnelName, FunnelSpec, FunnelSteps, StepName};
use crate::duration::format_promql_duration;
use crate::error::AnalysisError;
use crate::funnel::{add_counts, read_count, FUNNEL_METRIC};
use crate::matcher::{continue_selector, LabelMatcher};

/// The PromQL for every step of the funnel `name`, counted since each series
/// started, as seen over `range`:
/// `sum by (step) (max_over_time(business_funnel_step_total{funnel="name"}[range]))`.
///
/// Cumulative counts rather than the increase over the range: a window's increase
/// drops what a series counted before Prometheus first scraped it, and small
/// windows make equal counts (and so a guessed order) likelier.
#[must_use]
pub fn step_order_query(name: &FunnelName, range: Duration) -> String {
    step_order_query_matching(name, range, &[])
}

/// [`step_order_query`] with `matchers` added to its selector (`job="checkout"`, ...).
#[must_use]
pub fn step_order_query_matching(
    name: &FunnelName,
    range: Duration,
    matchers: &[LabelMatcher],
) -> String {
    format!(
        "sum by (step) (max_over_time({FUNNEL_METRIC}{{funnel=\"{name}\"{}}}[{}]))",
        continue_selector(matchers),
        format_promql_duration(range)
    )
}

/// Reads the order of the funnel `name` from its step counts over `range` ending at
/// `end` (the server's now when `None`; give [`crate::funnel`] the same `end`).
///
/// A funnel's counts never increase along it, so its steps are ordered by count,
/// largest first. Steps with equal counts cannot be told apart this way: they are
/// ordered by name, and `--steps` (a [`FunnelSpec`] from the definition) fixes it. Error steps (`…_error`) and milestones (`milestone_…`)
/// are left out. The spec says [`crate::StepsFrom::Prometheus`].
///
/// # Errors
///
/// [`AnalysisError::FunnelNotFound`] when fewer than two steps have data,
/// [`AnalysisError::InvalidStepLabel`] when a step's name is not a valid step name,
/// [`AnalysisError::InvalidCount`] when a count is NaN, infinite, negative or above
/// 2^53, or Prometheus unreachable or rejecting the query.
pub async fn discover_funnel(
    client: &PrometheusClient,
    name: FunnelName,
    range: Duration,
    end: Option<SystemTime>,
) -> Result<FunnelSpec, AnalysisError> {
    let query = step_order_query_matching(&name, range, client.matchers());
    let series = client.query(&query, end).await?;
    spec_from_counts(name, query, &series)
}

/// Orders the steps in the result of [`step_order_query`].
fn spec_from_counts(
    name: FunnelName,
    query: String,
    series: &[InstantSeries],
) -> Result<FunnelSpec, AnalysisError> {
    let mut counts: BTreeMap<StepName, u64> = BTreeMap::new();
    for s in series {
        let Some(label) = s.labels.get("step") else {
            continue;
        };
        let step = StepName::new(label).map_err(|e| AnalysisError::InvalidStepLabel {
            funnel: name.clone(),
            step: label.clone(),
            reason: e.to_string(),
        })?;
        if !step.is_error() && !step.is_milestone() {
            let count = read_count("funnel order", &query, s)?;
            let total = counts.entry(step).or_default();
            *total = add_counts(*total, count, "funnel order", &query, s)?;
        }
    }
    let mut ordered: Vec<(StepName, u64)> = counts.into_iter().collect();
    // Stable: equal counts keep the map's order, by name.
    ordered.sort_by(|(_, a), (_, b)| b.cmp(a));
    let found = ordered.len();
    // The steps are the map's keys, so unique: only too few steps can be refused.
    match FunnelSteps::new(ordered.into_iter().map(|(step, _)| step)) {
        Ok(steps) => Ok(FunnelSpec::read_from_prometheus(name, steps)),
        Err(_) => Err(AnalysisError::FunnelNotFound {
            funnel: name,
            query,
            steps_found: found,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Sample;
    use crate::definition::StepsFrom;

    fn signup() -> FunnelName {
        FunnelName::new("signup").unwrap_or_else(|e| panic!("{e}"))
    }

    fn counts(pairs: &[(&str, f64)]) -> Vec<InstantSeries> {
        pairs
            .iter()
            .map(|&(step, value)| InstantSeries {
                labels: [("step".to_owned(), step.to_owned())].into(),
                sample: Sample {
                    timestamp: 0.0,
                    value,
                },
            })
            .collect()
    }

    fn order(pairs: &[(&str, f64)]) -> Result<String, AnalysisError> {
        spec_from_counts(signup(), "q".to_owned(), &counts(pairs)).map(|spec| {
            assert_eq!(spec.steps_from(), StepsFrom::Prometheus);
            assert_eq!(spec.name(), &signup());
            spec.steps().to_string()
        })
    }

    #[test]
    fn the_order_query_sums_every_step_of_one_funnel() {
        assert_eq!(
            step_order_query(&signup(), Duration::from_secs(3600)),
            "sum by (step) (max_over_time(business_funnel_step_total{funnel=\"signup\"}[3600s]))"
        );
    }

    #[test]
    fn steps_are_ordered_by_count_largest_first_ties_by_name() {
        let ordered = order(&[
            ("subscribed", 10.0),
            ("landing_view", 1000.0),
            ("signup_started", 400.0),
            ("email_verified", 400.0),
            ("workspace_created", 99.6),
            ("first_project", 0.0),
        ]);
        assert_eq!(
            ordered.map_err(|e| e.to_string()),
            Ok("landing_view,email_verified,signup_started,workspace_created,subscribed,first_project".to_owned())
        );
    }

    #[test]
    fn error_and_milestone_steps_are_left_out() {
        let ordered = order(&[
            ("milestone_x", 5000.0),
            ("landing_view", 1000.0),
            ("signup_error", 700.0),
            ("subscribed", 10.0),
        ]);
        assert_eq!(
            ordered.map_err(|e| e.to_string()),
            Ok("landing_view,subscribed".to_owned())
        );
    }

    #[test]
    fn fewer_than_two_steps_means_no_funnel_was_found() {
        for pairs in [
            &[][..],
            &[("landing_view", 10.0), ("signup_error", 3.0)][..],
            &[("milestone_a", 10.0), ("milestone_b", 3.0)][..],
        ] {
            let error = order(pairs).map(|_| ()).map_err(|e| e.to_string());
            let found = pairs
                .iter()
                .filter(|(s, _)| !s.ends_with("_error") && !s.starts_with("milestone_"))
                .count();
            assert_eq!(
                error,
                Err(format!(
                    "no funnel `signup` found in the range: the query `q` gave {found} funnel \
                     step(s) where at least 2 are needed; check the funnel name and --range, \
                     or give the steps in order with --steps a,b,c"
                ))
            );
        }
        assert!(order(&[]).is_err_and(|e| e.is_data_problem()));
    }

    #[test]
    fn a_step_label_that_is_no_step_name_is_reported() {
        let error = order(&[("landing_view", 10.0), ("Sign Up", 3.0)]);
        assert!(
            matches!(
                &error,
                Err(AnalysisError::InvalidStepLabel { funnel, step, .. })
                    if funnel.as_str() == "signup" && step == "Sign Up"
            ),
            "{error:?}"
        );
        assert!(error.is_err_and(|e| e.is_data_problem()));
    }
}
