//! The shipped Prometheus configs, recording rules and alerts pass `promtool`, their
//! unit tests pass `promtool test rules`, every alert is unit-tested both firing and
//! quiet, and the Alertmanager config is valid and routes each alert's team to that
//! team's receiver.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const PROMETHEUS_DIR: &str = "otel-collector/prometheus";
const ALERTMANAGER_CONFIG: &str = "otel-collector/alertmanager/alertmanager.yml";

fn yaml(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn yml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(support::repo_path(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .yml files in {dir}");
    files
}

fn rules(file: &str) -> Vec<Value> {
    let doc = yaml(&support::repo_path(&format!(
        "{PROMETHEUS_DIR}/rules/{file}"
    )));
    doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn prometheus_configs_and_rules_pass_promtool_checks() {
    let Some(promtool) = support::require_binary("promtool") else {
        return;
    };
    let dir = support::repo_path(PROMETHEUS_DIR);
    for config in ["prometheus.yml", "prometheus.docker.yml"] {
        let out = support::run_ok(
            Command::new(&promtool)
                .current_dir(&dir)
                .args(["check", "config", config]),
        );
        // A targets file (targets/*.yml) that is missing is only a warning.
        assert!(!out.contains("WARNING"), "{config}: {out}");
    }
    let out = support::run_ok(
        Command::new(&promtool)
            .arg("check")
            .arg("rules")
            .args(yml_files(&format!("{PROMETHEUS_DIR}/rules"))),
    );
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn rule_unit_tests_pass_promtool_test_rules() {
    let Some(promtool) = support::require_binary("promtool") else {
        return;
    };
    let out = support::run_ok(
        Command::new(&promtool)
            .arg("test")
            .arg("rules")
            .args(yml_files(&format!("{PROMETHEUS_DIR}/tests"))),
    );
    assert!(!out.contains("FAILED"), "{out}");
}

/// The folders the catalog generators write funnel rules and their tests to.
const GENERATED: &[&str] = &[
    "otel-collector/generated/prometheus",
    "examples/saas/generated/prometheus",
];

#[test]
fn generated_funnel_rules_pass_promtool_and_their_unit_tests() {
    let Some(promtool) = support::require_binary("promtool") else {
        return;
    };
    for dir in GENERATED {
        let rules = yml_files(&format!("{dir}/rules"));
        let tests = yml_files(&format!("{dir}/tests"));
        assert!(
            !rules.is_empty() && rules.len() == tests.len(),
            "{dir}: {rules:?} {tests:?}"
        );
        let out = support::run_ok(
            Command::new(&promtool)
                .args(["check", "rules"])
                .args(&rules),
        );
        assert!(out.contains("SUCCESS"), "{out}");
        let out = support::run_ok(Command::new(&promtool).args(["test", "rules"]).args(&tests));
        assert!(!out.contains("FAILED"), "{out}");
    }
}

/// For each alert name: (unit tests expecting it to fire, unit tests expecting it
/// quiet).
fn alert_cases() -> BTreeMap<String, (usize, usize)> {
    let mut cases: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for file in yml_files(&format!("{PROMETHEUS_DIR}/tests")) {
        let doc = yaml(&file);
        for test in doc["tests"].as_array().unwrap() {
            for case in test["alert_rule_test"].as_array().into_iter().flatten() {
                let name = case["alertname"].as_str().unwrap().to_owned();
                let fires = case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty());
                let entry = cases.entry(name).or_default();
                if fires {
                    entry.0 += 1;
                } else {
                    entry.1 += 1;
                }
            }
        }
    }
    cases
}

#[test]
fn every_alert_is_unit_tested_firing_and_quiet() {
    let alerts = rules("alerts.yml");
    assert!(alerts.len() >= 5, "{alerts:?}");
    let cases = alert_cases();
    for alert in &alerts {
        let name = alert["alert"]
            .as_str()
            .expect("alerts.yml holds alerts only");
        let (fires, quiet) = cases.get(name).copied().unwrap_or_default();
        assert!(fires > 0, "no unit test makes {name} fire");
        assert!(quiet > 0, "no unit test keeps {name} quiet");
    }
    let known: BTreeSet<&str> = alerts.iter().filter_map(|a| a["alert"].as_str()).collect();
    for name in cases.keys() {
        assert!(
            known.contains(name.as_str()),
            "unit test of unknown alert {name}"
        );
    }
}

#[test]
fn every_alert_has_severity_team_and_runbook() {
    for alert in rules("alerts.yml") {
        let name = alert["alert"].as_str().unwrap();
        let severity = alert["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        assert!(
            alert["labels"]["team"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{name}: no team"
        );
        for key in ["summary", "description", "runbook"] {
            assert!(
                alert["annotations"][key]
                    .as_str()
                    .is_some_and(|t| !t.trim().is_empty()),
                "{name}: no {key} annotation"
            );
        }
        let runbook = alert["annotations"]["runbook"].as_str().unwrap();
        assert!(
            runbook.lines().filter(|l| !l.trim().is_empty()).count() >= 3,
            "{name}: the runbook needs concrete steps"
        );
    }
}

#[test]
fn recording_rules_follow_the_naming_convention_and_are_unit_tested() {
    let tests: String = yml_files(&format!("{PROMETHEUS_DIR}/tests"))
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let records = rules("recording.yml");
    assert!(records.len() >= 5);
    for rule in records {
        let name = rule["record"]
            .as_str()
            .expect("recording.yml holds recording rules only");
        // level:metric:operations, with an empty level for full aggregation.
        let parts: Vec<&str> = name.split(':').collect();
        assert_eq!(parts.len(), 3, "{name} is not level:metric:operations");
        let valid = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        assert!(parts.iter().all(|p| valid(p)), "{name}");
        assert!(
            parts[1].starts_with("business_") && !parts[1].ends_with("_total"),
            "{name}: the metric part names the business metric, without _total"
        );
        assert!(!parts[2].is_empty(), "{name}: no operations");
        assert!(
            tests.contains(&format!("expr: {name}")) || tests.contains(&format!("({name}")),
            "{name} has no unit test"
        );
    }
}

#[test]
fn alertmanager_config_is_valid_and_routes_by_team() {
    let Some(amtool) = support::require_binary("amtool") else {
        return;
    };
    let config = support::repo_path(ALERTMANAGER_CONFIG);
    support::run_ok(Command::new(&amtool).arg("check-config").arg(&config));

    let teams: BTreeSet<String> = rules("alerts.yml")
        .iter()
        .map(|a| a["labels"]["team"].as_str().unwrap().to_owned())
        .collect();
    for alert in rules("alerts.yml") {
        let name = alert["alert"].as_str().unwrap();
        let team = alert["labels"]["team"].as_str().unwrap();
        let severity = alert["labels"]["severity"].as_str().unwrap();
        let receiver = support::run_ok(
            Command::new(&amtool)
                .args(["config", "routes", "test"])
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("alertname={name}"))
                .arg(format!("team={team}"))
                .arg(format!("severity={severity}")),
        );
        assert_eq!(
            receiver.trim(),
            team,
            "{name} (team {team}) is routed elsewhere"
        );
    }
    assert!(teams.len() >= 3, "{teams:?}");
}

/// Where `runbook_url`s point: files of this repository on its default branch.
const REPOSITORY_FILES: &str = "https://github.com/business-metrics-rs/business-metrics/blob/main/";

#[test]
fn every_alert_links_its_runbook_in_the_repository() {
    let mut files = yml_files(&format!("{PROMETHEUS_DIR}/rules"));
    for dir in GENERATED {
        files.extend(yml_files(&format!("{dir}/rules")));
    }
    let mut alerts = 0;
    for file in files {
        let doc = yaml(&file);
        for rule in doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
        {
            let Some(name) = rule["alert"].as_str() else {
                continue;
            };
            let url = rule["annotations"]["runbook_url"]
                .as_str()
                .unwrap_or_else(|| panic!("{file:?} {name}: no runbook_url"));
            let path = url
                .strip_prefix(REPOSITORY_FILES)
                .unwrap_or_else(|| panic!("{name}: {url} is not a file of the repository"));
            assert!(
                path.ends_with(&format!("runbooks/{name}.md")),
                "{name}: {url} is not its runbook"
            );
            let text = std::fs::read_to_string(support::repo_path(path))
                .unwrap_or_else(|e| panic!("{name}: {path}: {e}"));
            assert!(
                text.starts_with(&format!("# {name}\n")) || text.contains(&format!("\n# {name}\n")),
                "{path}"
            );
            for section in ["## What it means", "## How to check", "## What to do"] {
                assert!(text.contains(section), "{path}: no {section:?}");
            }
            alerts += 1;
        }
    }
    assert!(alerts >= 10, "{alerts} alerts");
}
