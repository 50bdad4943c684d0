//! A fleet, not one process: every generated rule keeps `job` (the service) and
//! `deployment_environment_name` (its deployment environment) and sums away only
//! `instance`; every dashboard query is filtered by the `$job` and `$environment`
//! variables.
//!
//! Series carry `job` and `instance` on every export path; the deployment
//! environment is a resource attribute, which Prometheus keeps in the one
//! `target_info` series of each process (the Prometheus bridge and the collector's
//! `prometheus` exporter write it; the OTLP receiver and remote write make it).
//! Rules therefore join it in by `(job, instance)`. A process that sets no
//! environment keeps its series, without the label.

/// The label of the deployment environment: the OpenTelemetry resource attribute
/// `deployment.environment.name` as Prometheus spells it.
pub const ENVIRONMENT_LABEL: &str = "deployment_environment_name";

/// The labels every rule keeps besides its own: `job, deployment_environment_name`.
pub(super) const FLEET: &str = "job, deployment_environment_name";

/// Multiplies a per-process vector by the `target_info` of its process (1), adding
/// the process's deployment environment: the info of any process seen in the last
/// `window`, so processes that stopped within a rate's window still count.
pub(super) fn with_environment(window: &str) -> String {
    format!(
        "* on (job, instance) group_left ({ENVIRONMENT_LABEL}) \
         max by (job, instance, {ENVIRONMENT_LABEL}) (last_over_time(target_info[{window}]))"
    )
}

/// `sum by (job, deployment_environment_name, <by>) (<inner> <with_environment>)`.
pub(super) fn fleet_sum(by: &str, inner: &str, window: &str) -> String {
    let by = if by.is_empty() {
        FLEET.to_owned()
    } else {
        format!("{FLEET}, {by}")
    };
    format!("sum by ({by}) ({inner} {})", with_environment(window))
}

/// The matcher a dashboard adds to every selector: the selected jobs.
pub(super) const JOB_MATCHER: &str = "job=~\"$job\"";

/// Keeps the series of a per-process vector whose process runs in a selected
/// environment, judged by the `target_info` seen within `window`.
pub(super) fn in_selected_environment(window: &str) -> String {
    format!(
        "and on (job, instance) last_over_time(target_info{{{JOB_MATCHER}, {ENVIRONMENT_LABEL}=~\"$environment\"}}[{window}])"
    )
}

/// The matchers a dashboard adds to a recording rule's selector: the selected
/// jobs and environments.
pub(super) const FLEET_MATCHERS: &str =
    "job=~\"$job\", deployment_environment_name=~\"$environment\"";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_sums_keep_job_and_environment_and_join_target_info() {
        assert_eq!(
            fleet_sum("funnel", "rate(x[5m])", "5m"),
            "sum by (job, deployment_environment_name, funnel) (rate(x[5m]) * on (job, instance) \
             group_left (deployment_environment_name) max by (job, instance, \
             deployment_environment_name) (last_over_time(target_info[5m])))"
        );
        assert!(FLEET_MATCHERS.contains(ENVIRONMENT_LABEL));
    }
}
