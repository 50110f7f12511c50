//! The built binary's command line: defaults, one-line errors with exit code 2, the
//! `--config` file merged over the flags (KSM's precedence), kube-state-metrics' flag set,
//! one options model for the exporter, its config file and `render`, and logs on a pipe.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kube_state_exporter::api::envelope::Body;
use kube_state_exporter::api::json;
use kube_state_exporter::cli::ExporterArgs;
use kube_state_exporter::config::Options;
use kube_state_exporter::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use kube_state_exporter::reflector::Event;
use kube_state_exporter::replay::{Faults, Recording, ReplayServer};
use kube_state_exporter::store::Store;

fn exporter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args(args)
        // The log level shown by --validate-config depends on it.
        .env_remove("RUST_LOG")
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
    // One folder per call: tests run in parallel and several write the same name (a
    // `render` reading pod.json while another test rewrote it saw an empty file).
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_options")
        .join(format!("{}-{call}", std::process::id()));
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
fn the_config_file_overrides_flags_which_override_defaults() {
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

    // As in kube-state-metrics, a key in the file wins over the same flag; flags for
    // keys the file does not set still apply.
    let both = resolved(&[
        "--config",
        config,
        "--port=9100",
        "--resources=services",
        "--enable-gzip-encoding=false",
        "--metric-labels-allowlist=services=[app]",
        "--log-level=error",
        "--telemetry-host=127.0.0.1",
        "--server-read-timeout=30s",
    ]);
    assert_eq!(value(&both, "port"), "9000");
    assert_eq!(value(&both, "resources"), "nodes,pods");
    assert_eq!(value(&both, "enable-gzip-encoding"), "true");
    assert_eq!(
        value(&both, "metric-labels-allowlist"),
        "nodes=[*],pods=[app,team]",
        "the file's allowlist replaces the flag's, not merged"
    );
    assert_eq!(value(&both, "log-level"), "warn");
    assert_eq!(
        value(&both, "telemetry-host"),
        "127.0.0.1",
        "not in the file"
    );
    assert_eq!(
        value(&both, "server-read-timeout"),
        "30s",
        "not in the file"
    );
    assert_eq!(value(&both, "config"), config);
}

#[test]
fn a_missing_config_file_with_continue_without_config() {
    assert_usage_error(&["--config", "does/not/exist.yaml"], "does/not/exist.yaml");
    let output = exporter(&[
        "--validate-config",
        "--config=does/not/exist.yaml",
        "--continue-without-config",
        "--port=9300",
    ]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("port: 9300"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("continuing without it"));
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

/// A pod with two labels, as `render` and the store read it.
const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"default","uid":"uid-web-1","labels":{"app":"web","team":"blue"}},"spec":{"nodeName":"node-1","containers":[{"name":"app","image":"nginx"}]},"status":{"phase":"Running","containerStatuses":[{"name":"app","image":"nginx","imageID":"","ready":true,"restartCount":0,"state":{"running":{}}}]}}"#;

fn render(args: &[&str]) -> Output {
    let pod = temp_file("pod.json", POD);
    Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .arg("render")
        .args(args)
        .arg(&pod)
        .output()
        .expect("running render")
}

fn render_text(args: &[&str]) -> String {
    let output = render(args);
    assert!(
        output.status.success(),
        "render {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 exposition")
}

/// Resolves the exporter's options from `args` and renders the pod through a store built
/// from them, as the exporter does.
fn exporter_store_text(args: &[&str]) -> String {
    let given = ExporterArgs::parse_from(args.iter().copied()).expect("valid command line");
    let options = Options::resolve(&given).expect("valid options");
    let store = Store::new(&["pods"], &options.store_options()).expect("pods have metrics");
    let object = match json::decode(POD.as_bytes()).expect("pod JSON") {
        Body::Object(object) => object,
        _ => panic!("not a single object"),
    };
    store.apply("pods", Event::Apply(object));
    let request = RenderRequest::all(ExpositionFormat::Text);
    let mut out = Vec::new();
    store
        .write_exposition(&request, &mut out)
        .expect("writing to memory");
    String::from_utf8(out).expect("UTF-8 exposition")
}

fn labels_line(text: &str) -> &str {
    text.lines()
        .find(|line| line.starts_with("kube_pod_labels{"))
        .unwrap_or_else(|| panic!("no kube_pod_labels sample in\n{text}"))
}

#[test]
fn star_allowlist_takes_precedence_on_every_path() {
    let flag = "--metric-labels-allowlist=*=[app],pods=[team]";

    // Exporter options (what --validate-config reports as applied) ...
    let lines = resolved(&["--resources=pods,nodes", flag]);
    assert_eq!(
        value(&lines, "metric-labels-allowlist"),
        "nodes=[app],pods=[app]"
    );
    // ... and what a store built from them serves.
    let served = exporter_store_text(&[flag]);
    let line = labels_line(&served);
    assert!(
        line.contains("label_app=\"web\"") && !line.contains("label_team"),
        "{line}"
    );

    // The config file, as a mapping.
    let config = temp_file(
        "star-allowlist.yaml",
        "resources: [pods, nodes]\nmetric-labels-allowlist:\n  \"*\": [app]\n  pods: [team]\n",
    );
    let lines = resolved(&["--config", config.to_str().expect("UTF-8 path")]);
    assert_eq!(
        value(&lines, "metric-labels-allowlist"),
        "nodes=[app],pods=[app]"
    );

    // render.
    let text = render_text(&[flag]);
    let line = labels_line(&text);
    assert!(
        line.contains("label_app=\"web\"") && !line.contains("label_team"),
        "{line}"
    );
}

#[test]
fn lookaround_deny_pattern_is_validated_and_applied() {
    let flag = "--metric-denylist=kube_pod_(?!container).*";
    let lines = resolved(&[flag]);
    assert_eq!(value(&lines, "metric-denylist"), "kube_pod_(?!container).*");

    for text in [exporter_store_text(&[flag]), render_text(&[flag])] {
        assert!(!text.contains("kube_pod_info{"), "denied:\n{text}");
        assert!(!text.contains("# TYPE kube_pod_labels "), "denied:\n{text}");
        assert!(text.contains("kube_pod_container_info{"), "kept:\n{text}");
    }

    // The same pattern as an allowlist keeps exactly the other families.
    let text = exporter_store_text(&["--metric-allowlist=kube_pod_(?!container).*"]);
    assert!(text.contains("kube_pod_info{") && !text.contains("kube_pod_container_info{"));
}

#[test]
fn bad_regexes_fail_validation_naming_the_flag() {
    // RE2 has no lookarounds: the opt-in list refuses one, the allow/deny lists do not.
    assert_usage_error(
        &[
            "--validate-config",
            "--metric-opt-in-list=kube_pod_(?!container).*",
        ],
        "--metric-opt-in-list: invalid regex",
    );
    for flag in [
        "--metric-allowlist",
        "--metric-denylist",
        "--metric-opt-in-list",
    ] {
        assert_usage_error(
            &["--validate-config", &format!("{flag}=kube_(pod")],
            &format!("{flag}: invalid regex \"kube_(pod\""),
        );
    }
    let config = temp_file("bad-opt-in.yaml", "metric_opt_in_list: ['(?<=x)y']\n");
    let path = config.to_str().expect("UTF-8 path");
    assert_usage_error(
        &["--validate-config", "--config", path],
        &format!("config file {path}: key metric_opt_in_list: invalid regex"),
    );
    // render takes the same flags and fails the same way.
    let output = render(&["--metric-opt-in-list=kube_pod_(?!x)"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--metric-opt-in-list: invalid regex"));
}

/// The args the prometheus-community kube-state-metrics chart passes by default (its
/// `collectors` list as `--resources`), plus static sharding's unsharded case and klog
/// flags.
const CHART_ARGS: &[&str] = &[
    "--port=8080",
    "--resources=certificatesigningrequests,configmaps,cronjobs,daemonsets,deployments,endpoints,horizontalpodautoscalers,ingresses,jobs,leases,limitranges,mutatingwebhookconfigurations,namespaces,networkpolicies,nodes,persistentvolumeclaims,persistentvolumes,poddisruptionbudgets,pods,replicasets,replicationcontrollers,resourcequotas,secrets,services,statefulsets,storageclasses,validatingwebhookconfigurations,volumeattachments",
    "--telemetry-port=8081",
];

#[test]
fn kube_state_metrics_args_are_accepted() {
    let mut args = vec!["--validate-config"];
    args.extend_from_slice(CHART_ARGS);
    args.extend_from_slice(&[
        "--shard=0",
        "--total-shards=1",
        "-v=2",
        "--logtostderr",
        "--namespaces=default,monitoring",
        "--namespaces-denylist=kube-system",
    ]);
    let output = exporter(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("resources: certificatesigningrequests,configmaps,"));
    assert!(stdout.contains("namespaces-denylist: kube-system"));
    // One warning line per flag accepted without being implemented.
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(stdout.contains("sharding: shard 0 of 1"), "{stdout}");
    for flag in ["-v", "--logtostderr"] {
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&format!("warning: {flag}: "))),
            "{flag}: {stderr}"
        );
    }
}

#[test]
fn flags_that_would_change_what_is_served_are_refused() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--total-shards=0"],
            "--total-shards: the total number of shards must be at least 1",
        ),
        (
            &["--shard=2", "--total-shards=2"],
            "--shard: shard 2 is out of range",
        ),
        (
            &["--node=node-1"],
            "--node: resource certificatesigningrequests can't be sharded by field selector spec.nodeName",
        ),
        (
            &["--pod=ksm-0"],
            "--pod: automatic sharding needs --pod-namespace too",
        ),
        (
            &["--custom-resource-state-config-file=crs.yaml"],
            "--custom-resource-state-config-file: \"crs.yaml\" is not supported yet",
        ),
        (
            &["--tls-config=no-such-web.yaml"],
            "--tls-config: no-such-web.yaml: cannot read it",
        ),
        (
            &["--auth-filter", "--demo"],
            "--auth-filter: cannot be combined with --demo",
        ),
        (
            &["--total-shards=three"],
            "--total-shards: \"three\" is not an integer",
        ),
    ];
    for (args, needle) in cases {
        assert_usage_error(args, needle);
    }
    let config = temp_file("sharded.yaml", "total_shards: 3\nshard: 3\n");
    let path = config.to_str().expect("UTF-8 path");
    assert_usage_error(
        &["--config", path],
        &format!("config file {path}: key shard: shard 3 is out of range"),
    );
}

#[test]
fn log_level_flag_wins_over_rust_log() {
    let level = |args: &[&str], rust_log: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"));
        command
            .arg("--validate-config")
            .args(args)
            .env_remove("RUST_LOG");
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let output = command.output().expect("running the binary");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|line| line.strip_prefix("log-level: ").map(str::to_string))
            .unwrap_or_default()
    };
    assert_eq!(level(&["--log-level=warn"], Some("debug")), "warn");
    assert_eq!(level(&[], Some("debug")), "RUST_LOG=debug");
    assert_eq!(level(&[], None), "info");
}

/// The exporter with stderr on a pipe; killed (by its PID) when dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the exporter on loopback and ephemeral ports (given after `args`, so they win).
fn spawn_exporter(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-state-exporter"))
        .args(args)
        .args([
            "--host=127.0.0.1",
            "--port=0",
            "--telemetry-host=127.0.0.1",
            "--telemetry-port=0",
        ])
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the exporter");
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    Running { child, lines }
}

impl Running {
    /// Reads stderr until a line contains `needle` (or 60 s pass); returns what it read.
    fn log_until(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut logged = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            let found = line.contains(needle);
            logged.push(line);
            if found {
                break;
            }
        }
        let logged = logged.join("\n");
        assert!(logged.contains(needle), "no {needle:?} in:\n{logged}");
        logged
    }
}

/// The exporter on the embedded demo cluster with KSM's chart args, static sharding's
/// unsharded case and klog flags: what it logs until it serves.
fn exporter_stderr(extra: &[&str]) -> String {
    let mut args = CHART_ARGS.to_vec();
    args.extend_from_slice(&[
        "--shard=0",
        "--total-shards=1",
        "-v=2",
        "--logtostderr",
        "--demo",
    ]);
    args.extend_from_slice(extra);
    spawn_exporter(&args).log_until("serving")
}

#[test]
fn logs_on_a_pipe_have_no_colour_codes() {
    let logged = exporter_stderr(&[]);
    assert!(
        !logged.contains('\u{1b}'),
        "ANSI escape codes in:\n{logged}"
    );
    // KSM's unimplemented-but-harmless flags: one warning line each.
    for flag in ["-v", "--logtostderr"] {
        assert!(
            logged
                .lines()
                .any(|line| line.contains("WARN") && line.contains(&format!("{flag}: "))),
            "no warning for {flag}:\n{logged}"
        );
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    let logged = exporter_stderr(&["--log-format=json"]);
    for line in logged.lines() {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            event["level"].is_string() && event["message"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn the_namespace_denylist_reaches_the_apiserver() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let recording = Recording::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings/real-1.28-demo"),
    )
    .expect("the recording loads");
    let (addr, apiserver) = runtime
        .block_on(ReplayServer::start(&recording, Faults::default()))
        .expect("the replay apiserver starts");
    let kubeconfig = temp_file(
        "denylist-kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: replay\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: replay\n  context:\n    cluster: replay\n    user: nobody\n\
             current-context: replay\n"
        ),
    );
    let exporter = spawn_exporter(&[
        "--kubeconfig",
        kubeconfig.to_str().expect("UTF-8 path"),
        "--resources=pods,nodes",
        "--namespaces=demo,kube-system",
        "--namespaces-denylist=kube-system",
    ]);
    exporter.log_until("serving");
    // Each reflector lists first: wait (bounded) until both resources have been listed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = |requests: &[String], prefix: &str| requests.iter().any(|p| p.starts_with(prefix));
    let requests = loop {
        let requests: Vec<String> = apiserver
            .requests()
            .into_iter()
            .map(|request| request.path_and_query)
            .collect();
        let done = listed(&requests, "/api/v1/namespaces/demo/pods")
            && listed(&requests, "/api/v1/namespaces/kube-system/pods")
            && listed(&requests, "/api/v1/nodes");
        if done || Instant::now() > deadline {
            break requests;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(exporter);
    let selector = "fieldSelector=metadata.namespace%21%3Dkube-system";
    for path in &requests {
        if path.contains("/pods") {
            assert!(path.contains(selector), "{path}");
        } else if path.starts_with("/api/v1/nodes") {
            assert!(!path.contains("fieldSelector"), "{path}");
        }
    }
    assert!(
        listed(&requests, "/api/v1/namespaces/demo/pods"),
        "{requests:?}"
    );
    assert!(listed(&requests, "/api/v1/nodes"), "{requests:?}");
}
