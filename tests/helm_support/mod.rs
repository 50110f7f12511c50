//! The Helm chart of `deploy/helm/kube-state-exporter` for tests: the `helm` binary
//! (`$HELM`, else `helm` on PATH; `.ci/run` exports the helm v4 of
//! `scripts/fetch-helm.sh`), `helm template` for a value set, the value sets the tests
//! render (the default values and every `ci/*-values.yaml` of the chart), and the job
//! names the kubernetes-mixin rules select.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn chart_dir() -> PathBuf {
    repo().join("deploy/helm/kube-state-exporter")
}

pub fn helm() -> PathBuf {
    crate::support::program_path("HELM", "helm")
}

/// Whether helm runs; in CI its absence is a failure, elsewhere a skip.
pub fn helm_available() -> bool {
    crate::support::program_runs(
        &helm(),
        &["version"],
        "helm (set HELM or put it on PATH; scripts/fetch-helm.sh fetches it)",
    )
}

/// Runs helm with `args`, killed (by its PID) after 60 s.
pub fn run_helm(args: &[&str]) -> Output {
    let mut child = Command::new(helm())
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("helm starts");
    // Read the pipes on threads so a large output cannot block helm.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut text).map(|_| text)
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut text).map(|_| text)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("helm status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("helm {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("reader").expect("stdout"),
        stderr: err.join().expect("reader").expect("stderr"),
    }
}

/// `None` for the default values, else the file under the chart's `ci/`.
pub fn value_sets() -> Vec<Option<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart_dir().join("ci"))
        .expect("the chart's ci/ value sets")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().ends_with("-values.yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    std::iter::once(None)
        .chain(files.into_iter().map(Some))
        .collect()
}

pub fn describe(values: &Option<PathBuf>) -> String {
    values
        .as_ref()
        .map_or("default values".to_string(), |path| {
            path.display().to_string()
        })
}

/// `helm template` of the chart as release `release` in `namespace`, with `values` and
/// `--set` pairs; panics with helm's message when it fails.
pub fn template_text(
    release: &str,
    namespace: &str,
    values: &Option<PathBuf>,
    set: &[&str],
) -> String {
    let chart = chart_dir();
    let chart = chart.to_string_lossy();
    let mut args = vec![
        "template",
        release,
        chart.as_ref(),
        "--namespace",
        namespace,
    ];
    let file;
    if let Some(path) = values {
        file = path.to_string_lossy().into_owned();
        args.extend(["--values", file.as_str()]);
    }
    for pair in set {
        args.extend(["--set", pair]);
    }
    let output = run_helm(&args);
    assert!(
        output.status.success(),
        "helm template with {} failed:\n{}",
        describe(values),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 manifests")
}

/// The rendered objects, as JSON values.
pub fn template(
    release: &str,
    namespace: &str,
    values: &Option<PathBuf>,
    set: &[&str],
) -> Vec<serde_json::Value> {
    parse_documents(&template_text(release, namespace, values, set))
}

pub fn parse_documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(text)
        .map(|document| serde_json::Value::deserialize(document).expect("valid YAML document"))
        .filter(|value| !value.is_null())
        .collect()
}

/// The job every selector of a KSM family (`kube_…{…}`) in the consumer rules matches on
/// (kubernetes-mixin and KSM's own alerts, as kube-prometheus ships them): the job name a
/// drop-in must be scraped as. Fails unless there is exactly one.
pub fn ksm_job_name() -> String {
    let selector = regex::Regex::new(r"\b(kube_[a-z_]+)\{([^}]*)\}").expect("regex");
    let job = regex::Regex::new(r#"job="([^"]*)""#).expect("regex");
    let mut jobs = BTreeSet::new();
    let mut selectors = 0;
    for file in [
        "kubernetesControlPlane-rules.yaml",
        "kubeStateMetrics-rules.yaml",
    ] {
        let text = std::fs::read_to_string(repo().join("tests/fixtures/consumers").join(file))
            .expect("consumer rules");
        let rules: serde_json::Value = serde_norway::from_str(&text).expect("valid rules");
        for group in rules["groups"].as_array().expect("groups") {
            for rule in group["rules"].as_array().expect("rules") {
                let expr = rule["expr"].as_str().expect("expr");
                for capture in selector.captures_iter(expr) {
                    selectors += 1;
                    if let Some(matched) = job.captures(&capture[2]) {
                        jobs.insert(matched[1].to_string());
                    }
                }
            }
        }
    }
    assert!(selectors > 50, "only {selectors} KSM selectors found");
    assert_eq!(
        jobs.len(),
        1,
        "the rules select KSM's families under jobs {jobs:?}"
    );
    jobs.into_iter().next().expect("one job")
}

/// The job name the Prometheus Operator gives the targets of a ServiceMonitor (or
/// PodMonitor): the value of the label `spec.jobLabel` names on the Service (pod), else
/// the Service's name (for a PodMonitor: namespace/name of the monitor).
pub fn operator_job_name(
    monitor: &serde_json::Value,
    target: &serde_json::Value,
    target_labels: &serde_json::Value,
) -> String {
    match monitor["spec"]["jobLabel"].as_str() {
        Some(label) if !label.is_empty() => target_labels[label]
            .as_str()
            .unwrap_or_else(|| {
                panic!(
                    "jobLabel {label:?} is not a label of {}",
                    target["metadata"]["name"]
                )
            })
            .to_string(),
        _ if monitor["kind"] == "PodMonitor" => format!(
            "{}/{}",
            monitor["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default(),
            monitor["metadata"]["name"].as_str().unwrap_or_default()
        ),
        _ => target["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}
