//! A resource whose API the apiserver does not serve must not hold `/readyz` back.
//!
//! A stock kube-apiserver 1.35 serves `admissionregistration.k8s.io/v1beta1` (where
//! MutatingAdmissionPolicies live) only when `--runtime-config` enables it, yet the
//! resource is in KSM's default set. The list is answered 404; the exporter must say
//! so once, serve everything else, and become ready.

mod support;

use std::time::{Duration, Instant};

use support::realk8s::{kubectl_available, RealK8s};
use support::ExporterProcess;

#[test]
fn an_api_the_server_does_not_serve_is_reported_and_not_waited_for() {
    if !kubectl_available() {
        return;
    }
    let Some(k8s) = RealK8s::start() else { return };
    // Precondition: this server really does not serve the resource (else the test
    // would prove nothing).
    let resources = k8s.kubectl(&["api-resources", "-o", "name"], None);
    let served = String::from_utf8_lossy(&resources.stdout).to_string();
    assert!(resources.status.success(), "kubectl api-resources failed");
    if served
        .lines()
        .any(|line| line.starts_with("mutatingadmissionpolicies."))
    {
        eprintln!("skipped: this apiserver serves mutatingadmissionpolicies");
        return;
    }
    k8s.kubectl(&["create", "configmap", "present", "-n", "default"], None);

    let dir = tempfile::tempdir().expect("temp dir");
    let exporter = ExporterProcess::start(
        &k8s.kubeconfig(),
        &["--resources=configmaps,mutatingadmissionpolicies"],
        dir.path().join("exporter.log"),
    );

    let line = exporter.wait_for_log_line(
        &[
            "mutatingadmissionpolicies",
            "does not serve this resource (HTTP 404)",
            "admissionregistration.k8s.io/v1beta1",
        ],
        Duration::from_secs(60),
    );
    assert!(line.contains("WARN"), "a warning, not an error: {line}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let readyz = loop {
        let answer = exporter.get_telemetry("/readyz");
        if let Some((200, body)) = answer {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never became ready: {answer:?}\nlog:\n{}",
            exporter.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!readyz.is_empty());
    let metrics = exporter.metrics().expect("/metrics answers");
    assert!(
        metrics.contains(r#"kube_configmap_info{namespace="default",configmap="present"} 1"#),
        "the served resource is exported"
    );
    assert!(
        exporter.self_metric(
            r#"kube_state_metrics_list_total{resource="mutatingadmissionpolicies",result="error"}"#
        ) >= 1.0,
        "the failed list is counted"
    );
    let warnings = exporter
        .log_text()
        .lines()
        .filter(|l| l.contains("does not serve this resource"))
        .count();
    assert_eq!(warnings, 1, "said once, retries at debug");
}
