//! What users apply, accepted by the real kube-apiserver 1.35 of `../shared/realk8s`
//! with a server-side dry run (`kubectl apply --dry-run=server`: admission, defaulting,
//! strict field validation, nothing stored): every kustomization under deploy/, the
//! opt-in and static-pod manifests, and the Helm chart rendered (`helm template`) with its
//! default values and every value set of its `ci/`.
//!
//! The Prometheus Operator's and the VPA's CRDs (ServiceMonitor, PodMonitor,
//! PrometheusRule, VerticalPodAutoscaler) are not part of a bare apiserver: the test
//! installs stand-ins first (tests/fixtures/crds/operator-crds.yaml: same group, version,
//! kind and scope; a schema that keeps every field), so those objects are checked for
//! kind, apiVersion, names and namespace by the apiserver, and for their fields by
//! tests/deploy_manifests.rs and tests/helm_chart.rs.
//!
//! Needs kubectl and helm (`.ci/run` exports both); skips without ../shared/realk8s.

mod helm_support;
mod support;

use helm_support::{chart_dir, describe, helm_available, template_text, value_sets};
use support::realk8s::{kubectl_available, RealK8s};

/// Objects reported by kubectl as accepted in a server-side dry run.
fn accepted(output: &std::process::Output) -> usize {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.ends_with("(server dry run)"))
        .count()
}

#[test]
fn the_real_apiserver_accepts_the_kustomizations_and_every_chart_rendering() {
    if !kubectl_available() || !helm_available() {
        return;
    }
    let Some(k8s) = RealK8s::start() else {
        return;
    };
    let repo = helm_support::repo();
    let path = |relative: &str| repo.join(relative).to_string_lossy().into_owned();

    k8s.kubectl(
        &[
            "apply",
            "-f",
            &path("tests/fixtures/crds/operator-crds.yaml"),
        ],
        None,
    );
    k8s.kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/servicemonitors.monitoring.coreos.com",
            "crd/podmonitors.monitoring.coreos.com",
            "crd/prometheusrules.monitoring.coreos.com",
            "crd/verticalpodautoscalers.autoscaling.k8s.io",
        ],
        None,
    );
    k8s.kubectl(&["create", "namespace", "monitoring"], None);

    // Kustomize: (directory, objects it holds).
    for (dir, objects) in [
        ("deploy", 5),
        ("deploy/monitors", 1),
        ("deploy/monitors/pod-monitor", 1),
        ("deploy/prometheus-rule", 1),
    ] {
        let output = k8s.kubectl(&["apply", "--dry-run=server", "-k", &path(dir)], None);
        assert_eq!(
            accepted(&output),
            objects,
            "{dir}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    for dir in ["deploy/opt-in", "deploy/static-pod"] {
        let output = k8s.kubectl(&["apply", "--dry-run=server", "-f", &path(dir)], None);
        assert!(
            accepted(&output) >= 2,
            "{dir}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }

    // The chart, every value set.
    for values in value_sets() {
        let manifests = template_text("kse", "monitoring", &values, &[]);
        let objects = helm_support::parse_documents(&manifests).len();
        let output = k8s.kubectl(&["apply", "--dry-run=server", "-f", "-"], Some(&manifests));
        assert_eq!(
            accepted(&output),
            objects,
            "{} ({}): {}",
            describe(&values),
            chart_dir().display(),
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
