//! The shipped alerting rules (every deploy/rules/*.rules.yaml): `promtool check rules`
//! accepts them and `promtool test rules` (tests/fixtures/rules/<name>.test.yaml, one per
//! rule file) shows each alert firing: the drift alert on a drift series, with the
//! resource and field in its description and the runbook linked; the list/watch error and
//! not-ready alerts on the resource at fault only. promtool is installed by .ci/run; a
//! developer machine without it skips.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::tool_available;

/// Runs promtool with `args` in `dir`, killed (by its PID) after 60 s.
fn promtool(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("promtool status").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("promtool {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("promtool output")
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every rule file of deploy/rules, by file name.
fn rule_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("deploy/rules"))
        .expect("deploy/rules")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".rules.yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    names
}

#[test]
fn promtool_checks_the_shipped_rules() {
    if !tool_available("promtool", "promtool check rules") {
        return;
    }
    for name in rule_files() {
        let output = promtool(repo(), &["check", "rules", &format!("deploy/rules/{name}")]);
        assert_success(&output, &format!("promtool check rules {name}"));
    }
}

/// Each rule file has its `promtool test rules` file, and every alert of it is tested.
#[test]
fn every_shipped_alert_fires_in_its_promtool_test() {
    for name in rule_files() {
        let stem = name.trim_end_matches(".rules.yaml");
        let test = repo().join(format!("tests/fixtures/rules/{stem}.test.yaml"));
        let test_text = std::fs::read_to_string(&test)
            .unwrap_or_else(|e| panic!("{}: {e} (every rule file needs a test)", test.display()));
        let rules: serde_json::Value = serde_norway::from_str(
            &std::fs::read_to_string(repo().join("deploy/rules").join(&name)).expect("rules"),
        )
        .expect("valid YAML");
        for group in rules["groups"].as_array().expect("groups") {
            for rule in group["rules"].as_array().expect("rules") {
                if let Some(alert) = rule["alert"].as_str() {
                    assert!(
                        test_text.contains(&format!("alertname: {alert}\n")),
                        "{}: no test for {alert}",
                        test.display()
                    );
                }
            }
        }
        if !tool_available("promtool", "promtool test rules") {
            continue;
        }
        let output = promtool(
            &repo().join("tests/fixtures/rules"),
            &["test", "rules", &format!("{stem}.test.yaml")],
        );
        assert_success(&output, &format!("promtool test rules {stem}.test.yaml"));
    }
}

#[test]
fn the_alert_queries_the_metric_the_reflector_sets_and_links_the_runbook() {
    let text = std::fs::read_to_string(repo().join("deploy/rules/schema-drift.rules.yaml"))
        .expect("the rule file");
    assert!(text.contains(&format!(
        "kube_state_exporter_{}",
        kube_state_exporter::client::metrics::SCHEMA_DRIFT
    )));
    assert!(text.contains(&format!(
        "kube_state_exporter_{}",
        kube_state_exporter::client::metrics::JSON_FALLBACK
    )));
    for label in ["resource", "field_path", "field_number", "wire_type"] {
        assert!(text.contains(&format!("$labels.{label}")), "{label}");
    }
    assert!(text.contains("runbook_url: docs/schema-drift.md"));
    assert!(repo().join("docs/schema-drift.md").is_file());
}

/// deploy/rules/sharding.rules.yaml: KSM's ShardingMismatch and ShardsMissing, on the
/// metric names the exporter registers; tests/fixtures/rules/sharding.test.yaml makes
/// each fire (a shard gone, a mismatched --total-shards) and stay quiet otherwise.
#[test]
fn promtool_checks_and_tests_the_sharding_rules() {
    let text = std::fs::read_to_string(repo().join("deploy/rules/sharding.rules.yaml"))
        .expect("the rule file");
    for name in [
        kube_state_exporter::sharding::metrics::SHARD_ORDINAL,
        kube_state_exporter::sharding::metrics::TOTAL_SHARDS,
    ] {
        assert!(text.contains(name), "{name}");
    }
    if !tool_available("promtool", "promtool check/test rules") {
        return;
    }
    let output = promtool(
        repo(),
        &["check", "rules", "deploy/rules/sharding.rules.yaml"],
    );
    assert_success(&output, "promtool check rules");
    let output = promtool(
        &repo().join("tests/fixtures/rules"),
        &["test", "rules", "sharding.test.yaml"],
    );
    assert_success(&output, "promtool test rules");
}
