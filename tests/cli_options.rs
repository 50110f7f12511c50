//! The built binary's command line: defaults, one-line errors with exit code 2, and the
//! `--config` file merged under the flags.

use std::path::PathBuf;
use std::process::{Command, Output};

fn exporter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args(args)
        .output()
        .expect("running the binary")
}

/// Runs with `--validate-config` and returns the printed `key: value` lines.
fn resolved(args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["--validate-config"];
    all.extend_from_slice(args);
    let output = exporter(&all);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .filter_map(|line| {
            line.split_once(": ")
                .or_else(|| line.strip_suffix(':').map(|key| (key, "")))
        })
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn value<'a>(lines: &'a [(String, String)], key: &str) -> &'a str {
    lines
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("no {key}"))
}

/// Asserts exit code 2 and exactly one stderr line containing `needle`.
fn assert_usage_error(args: &[&str], needle: &str) {
    let output = exporter(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: stderr {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: expected one line, got {stderr:?}"
    );
    assert!(lines[0].starts_with("error: "), "{args:?}: {stderr}");
    assert!(
        lines[0].contains(needle),
        "{args:?}: {:?} lacks {needle:?}",
        lines[0]
    );
    assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_options");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("writing the temp file");
    path
}

#[test]
fn defaults_are_kube_state_metrics_defaults() {
    let lines = resolved(&[]);
    assert_eq!(value(&lines, "host"), "::");
    assert_eq!(value(&lines, "port"), "8080");
    assert_eq!(value(&lines, "telemetry-host"), "::");
    assert_eq!(value(&lines, "telemetry-port"), "8081");
    assert_eq!(value(&lines, "server-read-header-timeout"), "5s");
    assert_eq!(value(&lines, "server-read-timeout"), "1m0s");
    assert_eq!(value(&lines, "server-write-timeout"), "1m0s");
    assert_eq!(value(&lines, "server-idle-timeout"), "5m0s");
    assert_eq!(value(&lines, "enable-gzip-encoding"), "false");
    assert_eq!(value(&lines, "use-apiserver-cache"), "false");
    assert_eq!(value(&lines, "content-type"), "auto");
    assert_eq!(value(&lines, "log-level"), "info");
    let resources: Vec<&str> = value(&lines, "resources").split(',').collect();
    assert_eq!(resources.len(), 32);
    assert!(
        resources.contains(&"pods")
            && resources.contains(&"nodes")
            && resources.contains(&"endpointslices")
    );
    assert!(
        !resources.contains(&"endpoints") && !resources.contains(&"roles"),
        "not KSM defaults"
    );
}

#[test]
fn flags_are_parsed() {
    let lines = resolved(&[
        "--port=9090",
        "--resources",
        "pods, nodes,pods",
        "--namespaces=kube-system,default",
        "--metric-labels-allowlist=pods=[app,team],nodes=[*]",
        "--metric-denylist=kube_pod_info,^kube_node_",
        "--enable-gzip-encoding",
        "--server-write-timeout=90s",
        "--content-type=json",
        "--log-level=debug",
        "--apiserver=https://10.0.0.1:6443",
    ]);
    assert_eq!(value(&lines, "port"), "9090");
    assert_eq!(
        value(&lines, "resources"),
        "nodes,pods",
        "sorted and deduplicated"
    );
    assert_eq!(value(&lines, "namespaces"), "kube-system,default");
    assert_eq!(
        value(&lines, "metric-labels-allowlist"),
        "nodes=[*],pods=[app,team]"
    );
    assert_eq!(
        value(&lines, "metric-denylist"),
        "kube_pod_info,^kube_node_"
    );
    assert_eq!(value(&lines, "enable-gzip-encoding"), "true");
    assert_eq!(value(&lines, "server-write-timeout"), "1m30s");
    assert_eq!(value(&lines, "content-type"), "json");
    assert_eq!(value(&lines, "log-level"), "debug");
    assert_eq!(value(&lines, "apiserver"), "https://10.0.0.1:6443");
}

#[test]
fn each_bad_flag_value_is_one_line_and_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["--port", "abc"], "--port"),
        (&["--port", "70000"], "--port"),
        (&["--telemetry-port=-1"], "--telemetry-port"),
        (&["--resources", "pods,podz"], "unknown resource \"podz\""),
        (&["--resources", ","], "--resources"),
        (&["--namespaces", "Bad_Namespace"], "--namespaces"),
        (
            &["--namespaces", "a", "--namespaces-denylist", "b"],
            "cannot be combined with --namespaces",
        ),
        (
            &["--metric-allowlist", "a", "--metric-denylist", "b"],
            "cannot be combined with --metric-denylist",
        ),
        (&["--metric-allowlist", "kube_(pod"], "--metric-allowlist"),
        (&["--metric-opt-in-list", "[x"], "--metric-opt-in-list"),
        (
            &["--metric-labels-allowlist", "pods=app"],
            "--metric-labels-allowlist",
        ),
        (
            &["--metric-labels-allowlist", "pods=[a*b*]"],
            "at most one '*'",
        ),
        (
            &["--metric-annotations-allowlist", "podz=[a]"],
            "unknown resource \"podz\"",
        ),
        (&["--server-read-timeout", "5"], "--server-read-timeout"),
        (&["--server-idle-timeout", "soon"], "--server-idle-timeout"),
        (&["--content-type", "xml"], "--content-type"),
        (&["--log-level", "loud"], "--log-level"),
        (&["--apiserver", "localhost:6443"], "--apiserver"),
        (&["--kubeconfig", "does/not/exist.yaml"], "--kubeconfig"),
        (&["--enable-gzip-encoding=maybe"], "--enable-gzip-encoding"),
        (
            &["--config", "does/not/exist.yaml"],
            "config file does/not/exist.yaml",
        ),
        (&["--no-such-flag"], "--no-such-flag"),
        (&["--prot", "1"], "--port"),
    ];
    for (args, needle) in cases {
        assert_usage_error(args, needle);
    }
}

#[test]
fn config_file_errors_name_the_file_and_the_key() {
    let unknown = temp_file("unknown-key.yaml", "port: 9000\nprot: 1\n");
    assert_usage_error(
        &["--config", unknown.to_str().expect("UTF-8 path")],
        "unknown key \"prot\"",
    );

    let cases = [
        ("bad-port.yaml", "port: ninety\n", "key port"),
        (
            "bad-resources.yaml",
            "resources: [pods, podz]\n",
            "key resources: unknown resource \"podz\"",
        ),
        (
            "bad-duration.yaml",
            "server_idle_timeout: 5\n",
            "key server_idle_timeout",
        ),
        (
            "bad-bool.yaml",
            "enable-gzip-encoding: sometimes\n",
            "key enable-gzip-encoding",
        ),
        (
            "bad-allowlist.yaml",
            "metric-labels-allowlist: {podz: [app]}\n",
            "key metric-labels-allowlist",
        ),
        ("bad-enum.yaml", "log-level: loud\n", "key log-level"),
        ("not-a-map.yaml", "- port\n", "expected a mapping"),
        ("bad-yaml.yaml", "port: [8080\n", "invalid YAML"),
        (
            "both-spellings.yaml",
            "telemetry-port: 1\ntelemetry_port: 2\n",
            "set the same option",
        ),
        (
            "both-lists.yaml",
            "metric-allowlist: [a]\nmetric_denylist: [b]\n",
            "cannot be combined",
        ),
    ];
    for (name, contents, needle) in cases {
        let path = temp_file(name, contents);
        let path = path.to_str().expect("UTF-8 path");
        assert_usage_error(&["--config", path], needle);
        if needle.starts_with("key ") {
            assert_usage_error(
                &["--config", path],
                &format!("config file {path}: {needle}"),
            );
        }
    }
}

#[test]
fn flags_override_the_config_file_which_overrides_defaults() {
    let config = temp_file(
        "precedence.yaml",
        "# every spelling the file accepts\n\
         port: 9000\n\
         telemetry_port: \"9001\"\n\
         resources: [pods, nodes]\n\
         enable-gzip-encoding: true\n\
         labels_allow_list:\n  pods: [app, team]\n  nodes: ['*']\n\
         metric-annotations-allowlist: \"pods=[owner]\"\n\
         namespaces: kube-system,monitoring\n\
         server-write-timeout: 2m\n\
         log_level: warn\n",
    );
    let config = config.to_str().expect("UTF-8 path");

    let from_file = resolved(&["--config", config]);
    assert_eq!(value(&from_file, "port"), "9000");
    assert_eq!(value(&from_file, "telemetry-port"), "9001");
    assert_eq!(value(&from_file, "resources"), "nodes,pods");
    assert_eq!(value(&from_file, "enable-gzip-encoding"), "true");
    assert_eq!(
        value(&from_file, "metric-labels-allowlist"),
        "nodes=[*],pods=[app,team]"
    );
    assert_eq!(
        value(&from_file, "metric-annotations-allowlist"),
        "pods=[owner]"
    );
    assert_eq!(value(&from_file, "namespaces"), "kube-system,monitoring");
    assert_eq!(value(&from_file, "server-write-timeout"), "2m0s");
    assert_eq!(
        value(&from_file, "server-read-timeout"),
        "1m0s",
        "unset keys keep their defaults"
    );
    assert_eq!(value(&from_file, "log-level"), "warn");
    assert_eq!(value(&from_file, "host"), "::");

    let overridden = resolved(&[
        "--config",
        config,
        "--port=9100",
        "--resources=services",
        "--enable-gzip-encoding=false",
        "--metric-labels-allowlist=services=[app]",
        "--log-level=error",
    ]);
    assert_eq!(value(&overridden, "port"), "9100");
    assert_eq!(
        value(&overridden, "telemetry-port"),
        "9001",
        "not overridden: from the file"
    );
    assert_eq!(value(&overridden, "resources"), "services");
    assert_eq!(value(&overridden, "enable-gzip-encoding"), "false");
    assert_eq!(
        value(&overridden, "metric-labels-allowlist"),
        "services=[app]"
    );
    assert_eq!(value(&overridden, "log-level"), "error");
    assert_eq!(value(&overridden, "config"), config);
}

#[test]
fn an_empty_config_file_means_defaults() {
    let empty = temp_file("empty.yaml", "");
    let lines = resolved(&["--config", empty.to_str().expect("UTF-8 path")]);
    assert_eq!(value(&lines, "port"), "8080");
}

#[test]
fn help_and_version_exit_zero() {
    let help = exporter(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--metric-labels-allowlist"));
    let version = exporter(&["version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}
