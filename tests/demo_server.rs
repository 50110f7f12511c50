//! The whole exporter binary, as a user runs it.
//!
//! - `kube-state-exporter --demo` replays the recorded 1.28 cluster on loopback; its
//!   /metrics must pass `promtool check metrics`.
//! - Pointed (through a kubeconfig) at a replay apiserver serving the same recording's
//!   lists, its /metrics must agree with what kube-state-metrics v2.11 served at list
//!   time, family by family for every resource, except for the differences listed (and
//!   explained) below: a family KSM served that we do not is a failure too.
//!   Lists only: the demo also replays the recorded watches (node-2's Ready flapping, a
//!   pod's whole life) right after the lists, so a scrape may see a later state than
//!   KSM's capture did.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

use support::{get, recording_dir, served_prefixes, start, start_list_only_apiserver};

/// Families whose output differs from KSM v2.11 on purpose, with the reason.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "kube_deployment_status_condition",
        "KSM v2.20 adds a reason label (kubernetes/kube-state-metrics#2719, 2025); v2.11 had condition and status only",
    ),
    (
        "kube_node_info",
        "KSM v2.20 reports the constant kubeproxy_version=\"deprecated\"; v2.11 copied the node's field",
    ),
    (
        "kube_pod_status_reason",
        "KSM v2.20 emits only the reason the pod has; v2.11 emitted every known reason with 0",
    ),
    (
        "kube_pod_tolerations",
        "KSM v2.20 always writes every label, value=\"\" for an unset value; v2.11 left the label out",
    ),
    (
        "kube_persistentvolume_info",
        "KSM v2.16 added the reclaim_policy label (PR #2615); v2.11 had none",
    ),
    (
        "kube_service_info",
        "KSM v2.15 added the external_traffic_policy label (PR #2584); v2.11 had no such label",
    ),
];

fn promtool_check(exposition: &str) {
    // promtool is installed by .ci/run; a developer machine without it skips the check.
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut promtool) => {
            promtool
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(exposition.as_bytes())
                .expect("promtool reads the exposition");
            let output = promtool.wait_with_output().expect("promtool finishes");
            assert!(
                output.status.success(),
                "promtool check metrics failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("promtool not installed: skipping `promtool check metrics` (CI installs it)")
        }
        Err(error) => panic!("promtool is required in CI: {error}"),
    }
}

/// Family name → sorted sample lines with sorted labels.
fn families(text: &str, wanted: impl Fn(&str) -> bool) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        if !wanted(name) {
            continue;
        }
        let normalised = match (line.find('{'), line.rfind('}')) {
            (Some(open), Some(close)) => {
                let mut labels: Vec<&str> = line[open + 1..close].split("\",").collect();
                labels.sort_unstable();
                format!("{name}{{{}}}{}", labels.join("\","), &line[close + 1..])
            }
            _ => line.to_string(),
        };
        out.entry(name.to_string()).or_default().insert(normalised);
    }
    out
}

fn is_resource_family(name: &str) -> bool {
    name.starts_with("kube_") && !name.starts_with("kube_state_")
}

#[test]
fn demo_serves_pod_and_node_metrics_that_pass_promtool() {
    let (_exporter, port) = start(&["--demo"]);
    let (status, body) = get(port, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200);
    for family in [
        "kube_pod_info{",
        "kube_pod_status_phase{",
        "kube_node_info{",
        "kube_node_status_condition{",
    ] {
        assert!(body.contains(family), "no {family} in the demo's /metrics");
    }
    promtool_check(&body);
}

#[test]
fn recorded_lists_give_what_ksm_v2_11_served() {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let _apiserver = start_list_only_apiserver(&runtime, &kubeconfig);
    let kubeconfig = kubeconfig.to_string_lossy().into_owned();
    let (_exporter, port) = start(&["--kubeconfig", &kubeconfig]);
    let (status, ours) = get(port, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200);
    promtool_check(&ours);

    let ksm_path = recording_dir().join("ksm-v2.11.0-metrics.txt");
    let ksm_text = std::fs::read_to_string(&ksm_path).expect("the KSM v2.11 capture");
    let ksm = families(&ksm_text, is_resource_family);
    let ours = families(&ours, is_resource_family);
    let prefixes = served_prefixes();

    let known: BTreeMap<&str, &str> = KNOWN_DIFFERENCES.iter().copied().collect();
    let mut compared = 0;
    let mut unexplained = Vec::new();
    for (family, theirs) in &ksm {
        let Some(mine) = ours.get(family) else {
            if !known.contains_key(family.as_str()) {
                let served = prefixes.iter().any(|p| family.starts_with(p.as_str()));
                unexplained.push(format!(
                    "{family}: KSM served it and we do not{}",
                    if served {
                        ""
                    } else {
                        " (its resource has no metrics file)"
                    }
                ));
            }
            continue;
        };
        compared += 1;
        let same = mine == theirs;
        match (same, known.get(family.as_str())) {
            (true, Some(_)) => unexplained.push(format!(
                "{family}: listed as a known difference but now identical; remove it from the list"
            )),
            (false, None) => unexplained.push(format!(
                "{family}:\n  only ours: {:?}\n  only KSM:  {:?}",
                mine.difference(theirs).collect::<Vec<_>>(),
                theirs.difference(mine).collect::<Vec<_>>()
            )),
            _ => {}
        }
    }
    assert!(compared >= 40, "only {compared} families in common");
    eprintln!("{compared} families compared with KSM v2.11");
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}
