//! The Helm chart `deploy/helm/kube-state-exporter` with a real helm (v4): `helm lint
//! --strict` is clean and `helm template` renders for the default values and every value
//! set of the chart's `ci/`; what it renders is checked here (naming, RBAC, arguments,
//! image, rules); tests/deploy_dry_run.rs has the real apiserver accept it.
//!
//! helm comes from `$HELM` or PATH (`.ci/run` exports it from scripts/fetch-helm.sh); a
//! developer machine without it skips, CI fails.

mod helm_support;

use std::collections::{BTreeMap, BTreeSet};

use helm_support::*;
use serde_json::Value;

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|object| object["kind"] == kind)
        .collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    match of_kind(objects, kind).as_slice() {
        [object] => object,
        other => panic!("expected one {kind}, found {}", other.len()),
    }
}

fn container(objects: &[Value]) -> &Value {
    let workload = objects
        .iter()
        .find(|object| object["kind"] == "Deployment" || object["kind"] == "StatefulSet")
        .expect("a workload");
    &workload["spec"]["template"]["spec"]["containers"][0]
}

fn args(objects: &[Value]) -> Vec<String> {
    container(objects)["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|arg| arg.as_str().expect("string arg").to_string())
        .collect()
}

fn ci(name: &str) -> Option<std::path::PathBuf> {
    Some(chart_dir().join("ci").join(name))
}

#[test]
fn helm_lint_is_clean_for_every_value_set() {
    if !helm_available() {
        return;
    }
    let chart = chart_dir().to_string_lossy().into_owned();
    for values in value_sets() {
        let mut args = vec!["lint", "--strict", chart.as_str()];
        let file;
        if let Some(path) = &values {
            file = path.to_string_lossy().into_owned();
            args.extend(["--values", file.as_str()]);
        }
        let output = run_helm(&args);
        assert!(
            output.status.success(),
            "helm lint with {}:\n{}{}",
            describe(&values),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// kubernetes-mixin selects KSM's families with job="kube-state-metrics": the chart's
/// ServiceMonitor must give its targets that job without any relabelling by the user.
#[test]
fn the_service_monitor_scrapes_as_the_job_the_mixin_rules_select() {
    if !helm_available() {
        return;
    }
    let wanted = ksm_job_name();
    assert_eq!(wanted, "kube-state-metrics");
    for values in [ci("monitoring-values.yaml"), ci("autosharding-values.yaml")] {
        // A release name that shares nothing with the job name, as users pick them.
        let objects = template("observability", "monitoring", &values, &[]);
        let monitor = one(&objects, "ServiceMonitor");
        let service = one(&objects, "Service");
        let job = operator_job_name(monitor, service, &service["metadata"]["labels"]);
        assert_eq!(job, wanted, "{}", describe(&values));
        // The monitor's selector picks this Service, in its namespace.
        let selector = monitor["spec"]["selector"]["matchLabels"]
            .as_object()
            .expect("matchLabels");
        for (key, value) in selector {
            assert_eq!(&service["metadata"]["labels"][key], value, "{key}");
        }
        assert_eq!(
            monitor["spec"]["namespaceSelector"]["matchNames"][0],
            service["metadata"]["namespace"]
        );
        // The object endpoint keeps the series' own namespace/pod labels.
        let endpoints = monitor["spec"]["endpoints"].as_array().expect("endpoints");
        assert_eq!(endpoints[0]["port"], "http-metrics");
        assert_eq!(endpoints[0]["honorLabels"], true);
        assert!(
            endpoints.iter().any(|e| e["port"] == "telemetry"),
            "selfMonitor"
        );
        let ports: BTreeSet<&str> = service["spec"]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .filter_map(|port| port["name"].as_str())
            .collect();
        assert_eq!(ports, BTreeSet::from(["http-metrics", "telemetry"]));
    }
    // A different job name is one value away, and the monitor follows it.
    let objects = template(
        "observability",
        "monitoring",
        &ci("monitoring-values.yaml"),
        &["jobName=kse"],
    );
    let service = one(&objects, "Service");
    assert_eq!(
        operator_job_name(
            one(&objects, "ServiceMonitor"),
            service,
            &service["metadata"]["labels"]
        ),
        "kse"
    );
}

#[derive(serde::Deserialize)]
struct ResourcesToml {
    resource: Vec<ResourceEntry>,
}

#[derive(serde::Deserialize)]
struct ResourceEntry {
    plural: String,
    api_version: String,
}

/// (group, plural) of every resource of proto/resources.toml.
fn all_resources() -> BTreeSet<(String, String)> {
    let text =
        std::fs::read_to_string(repo().join("proto/resources.toml")).expect("resources.toml");
    let table: ResourcesToml = toml::from_str(&text).expect("valid resources.toml");
    table
        .resource
        .into_iter()
        .map(|entry| {
            let group = entry
                .api_version
                .rsplit_once('/')
                .map_or("", |(group, _)| group)
                .to_string();
            (group, entry.plural)
        })
        .collect()
}

/// (group, resource, verb) of the ClusterRole's rules.
fn cluster_role_grants(objects: &[Value]) -> BTreeSet<(String, String, String)> {
    let role = one(objects, "ClusterRole");
    let mut grants = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        for group in rule["apiGroups"].as_array().expect("apiGroups") {
            for resource in rule["resources"].as_array().expect("resources") {
                for verb in rule["verbs"].as_array().expect("verbs") {
                    let grant = (
                        group.as_str().expect("group").to_string(),
                        resource.as_str().expect("resource").to_string(),
                        verb.as_str().expect("verb").to_string(),
                    );
                    assert!(grants.insert(grant.clone()), "granted twice: {grant:?}");
                }
            }
        }
    }
    grants
}

fn list_watch(resources: &BTreeSet<(String, String)>) -> BTreeSet<(String, String, String)> {
    resources
        .iter()
        .flat_map(|(group, plural)| {
            ["list", "watch"].map(|verb| (group.clone(), plural.clone(), verb.to_string()))
        })
        .collect()
}

/// The ClusterRole grants list/watch on exactly the collectors, in the API group of
/// proto/resources.toml: the default set by default, every resource when all are named.
#[test]
fn rbac_follows_the_collectors_and_the_api_groups() {
    if !helm_available() {
        return;
    }
    let all = all_resources();
    let defaults: BTreeSet<(String, String)> = all
        .iter()
        .filter(|(_, plural)| {
            kube_state_exporter::config::DEFAULT_RESOURCES.contains(&plural.as_str())
        })
        .cloned()
        .collect();
    let objects = template("kse", "monitoring", &None, &[]);
    assert_eq!(cluster_role_grants(&objects), list_watch(&defaults));
    let resources_arg = args(&objects)
        .into_iter()
        .find_map(|arg| arg.strip_prefix("--resources=").map(str::to_string))
        .expect("--resources");
    let served: BTreeSet<&str> = resources_arg.split(',').collect();
    let default_set: BTreeSet<&str> = kube_state_exporter::config::DEFAULT_RESOURCES
        .iter()
        .copied()
        .collect();
    assert_eq!(
        served, default_set,
        "the chart's collectors are KSM's defaults"
    );

    let every: Vec<&str> = all.iter().map(|(_, plural)| plural.as_str()).collect();
    let set = format!("collectors={{{}}}", every.join(","));
    let objects = template("kse", "monitoring", &None, &[&set]);
    assert_eq!(cluster_role_grants(&objects), list_watch(&all));

    // A resource the exporter does not know is refused with its name.
    let chart = chart_dir().to_string_lossy().into_owned();
    let output = run_helm(&["template", "kse", &chart, "--set", "collectors={pods,podz}"]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("unknown resource \"podz\""), "{message}");
}

/// Value sets turn into the exporter's flags (KSM's flag names) and objects.
#[test]
fn value_sets_become_flags_and_objects() {
    if !helm_available() {
        return;
    }
    let objects = template("kse", "monitoring", &ci("opt-in-values.yaml"), &[]);
    let args = args(&objects);
    for expected in [
        "--metric-labels-allowlist=pods=[app,team],namespaces=[*]",
        "--metric-annotations-allowlist=deployments=[owner]",
        "--namespaces=default,kube-system",
    ] {
        assert!(
            args.iter().any(|arg| arg == expected),
            "{expected} not in {args:?}"
        );
    }
    let grants = cluster_role_grants(&objects);
    for grant in [
        ("rbac.authorization.k8s.io", "clusterroles", "watch"),
        ("", "endpoints", "list"),
        ("example.com", "widgets", "list"),
    ] {
        let grant = (
            grant.0.to_string(),
            grant.1.to_string(),
            grant.2.to_string(),
        );
        assert!(grants.contains(&grant), "{grant:?}");
    }

    // Autosharding: a StatefulSet whose pods learn their name and namespace from the
    // downward API and may read themselves and their StatefulSet.
    let objects = template("kse", "monitoring", &ci("autosharding-values.yaml"), &[]);
    let sts = one(&objects, "StatefulSet");
    assert!(of_kind(&objects, "Deployment").is_empty());
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(sts["spec"]["serviceName"], "kse-kube-state-exporter");
    let args = self::args(&objects);
    assert!(args.contains(&"--pod=$(POD_NAME)".to_string()), "{args:?}");
    assert!(
        args.contains(&"--pod-namespace=$(POD_NAMESPACE)".to_string()),
        "{args:?}"
    );
    let env: BTreeMap<&str, &str> = container(&objects)["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|var| {
            (
                var["name"].as_str().expect("name"),
                var["valueFrom"]["fieldRef"]["fieldPath"]
                    .as_str()
                    .expect("fieldRef"),
            )
        })
        .collect();
    assert_eq!(
        env,
        BTreeMap::from([
            ("POD_NAME", "metadata.name"),
            ("POD_NAMESPACE", "metadata.namespace")
        ])
    );
    let role = one(&objects, "Role");
    assert_eq!(
        role["rules"][1]["resourceNames"][0],
        "kse-kube-state-exporter"
    );

    // Monitoring extras.
    let objects = template("kse", "monitoring", &ci("monitoring-values.yaml"), &[]);
    for kind in [
        "ServiceMonitor",
        "PrometheusRule",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "VerticalPodAutoscaler",
    ] {
        one(&objects, kind);
    }
    let vpa = one(&objects, "VerticalPodAutoscaler");
    assert_eq!(vpa["spec"]["targetRef"]["kind"], "Deployment");
    assert_eq!(vpa["spec"]["targetRef"]["name"], "kse-kube-state-exporter");

    // Defaults: no CRD-backed object, resources from docs/sizing.md.
    let objects = template("kse", "monitoring", &None, &[]);
    for kind in ["ServiceMonitor", "PrometheusRule", "VerticalPodAutoscaler"] {
        assert!(of_kind(&objects, kind).is_empty(), "{kind} by default");
    }
    let resources = &container(&objects)["resources"];
    assert_eq!(resources["requests"]["memory"], "64Mi");
    assert_eq!(resources["limits"]["memory"], "512Mi");
    assert!(resources["limits"]["cpu"].is_null(), "no CPU limit");
}

/// `schemaOverlays` selects the image variant built with SCHEMA_OVERLAYS.
#[test]
fn schema_overlays_select_the_image_variant() {
    if !helm_available() {
        return;
    }
    let image = |objects: &[Value]| {
        container(objects)["image"]
            .as_str()
            .expect("image")
            .to_string()
    };
    assert_eq!(
        image(&template(
            "kse",
            "monitoring",
            &ci("overlays-values.yaml"),
            &[]
        )),
        "registry.example.com/platform/kube-state-exporter:0.1.0-deviceinfo"
    );
    let app_version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        image(&template("kse", "monitoring", &None, &[])),
        format!("kube-state-exporter:{app_version}")
    );
    // Every overlay named exists in overlays/.
    let objects = template("kse", "monitoring", &ci("overlays-values.yaml"), &[]);
    drop(objects);
    let values: Value = serde_norway::from_str(
        &std::fs::read_to_string(chart_dir().join("ci/overlays-values.yaml")).expect("values"),
    )
    .expect("YAML");
    for overlay in values["schemaOverlays"].as_array().expect("list") {
        let dir = repo()
            .join("overlays")
            .join(overlay.as_str().expect("name"));
        assert!(dir.join("overlay.toml").is_file(), "{}", dir.display());
    }
}

/// The chart's appVersion is the crate's version (the default image tag).
#[test]
fn chart_app_version_is_the_crate_version() {
    let chart: Value = serde_norway::from_str(
        &std::fs::read_to_string(chart_dir().join("Chart.yaml")).expect("Chart.yaml"),
    )
    .expect("YAML");
    assert_eq!(chart["appVersion"], env!("CARGO_PKG_VERSION"));
}

/// One source of truth for the alerts: the chart's rules/ holds byte-identical copies
/// of deploy/rules/*.rules.yaml (`UPDATE_GOLDEN=1` copies them), and its PrometheusRule
/// carries every group of them.
#[test]
fn chart_rules_are_the_deploy_rules() {
    let source = repo().join("deploy/rules");
    let copies = chart_dir().join("rules");
    let names = |dir: &std::path::Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .expect("rules dir")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".rules.yaml"))
            .collect()
    };
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        for stale in names(&copies).difference(&names(&source)) {
            std::fs::remove_file(copies.join(stale)).expect("remove stale copy");
        }
        for name in names(&source) {
            std::fs::copy(source.join(&name), copies.join(&name)).expect("copy rules");
        }
    }
    assert_eq!(
        names(&copies),
        names(&source),
        "run with UPDATE_GOLDEN=1 to copy"
    );
    let mut groups = Vec::new();
    for name in names(&source) {
        let text = std::fs::read_to_string(source.join(&name)).expect("rules");
        assert_eq!(
            std::fs::read_to_string(copies.join(&name)).expect("copy"),
            text,
            "{name}: the chart's copy differs (UPDATE_GOLDEN=1 copies it)"
        );
        let rules: Value = serde_norway::from_str(&text).expect("YAML");
        groups.extend(rules["groups"].as_array().expect("groups").iter().cloned());
    }
    if !helm_available() {
        return;
    }
    let objects = template("kse", "monitoring", &ci("monitoring-values.yaml"), &[]);
    let rule = one(&objects, "PrometheusRule");
    assert_eq!(rule["spec"]["groups"], Value::Array(groups));
    assert_eq!(rule["metadata"]["labels"]["release"], "prometheus");
}
