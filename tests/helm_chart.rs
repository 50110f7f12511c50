//! The Helm chart `deploy/helm/kube-state-exporter` with a real helm (v4): `helm lint
//! --strict` is clean and `helm template` renders for the default values and every value
//! set of the chart's `ci/`; what it renders is checked here (naming, RBAC, arguments,
//! image, rules, daemonset sharding, the auth filter, TLS), every workload's flags pass the
//! built exporter's `--validate-config`; tests/deploy_dry_run.rs has the real apiserver
//! accept it.
//!
//! helm comes from `$HELM` or PATH (`.ci/run` exports it from scripts/fetch-helm.sh); a
//! developer machine without it skips, CI fails.

mod helm_support;
mod support;

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
        assert_serves_both_ports(service);
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
    role_grants(one(objects, "ClusterRole"))
}

/// (group, resource, verb) of a role's resource rules.
fn role_grants(role: &Value) -> BTreeSet<(String, String, String)> {
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

/// The workloads (Deployment, StatefulSet, DaemonSet) of a rendering.
fn workloads(objects: &[Value]) -> Vec<&Value> {
    objects
        .iter()
        .filter(|object| {
            matches!(
                object["kind"].as_str(),
                Some("Deployment" | "StatefulSet" | "DaemonSet")
            )
        })
        .collect()
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|object| object["kind"] == kind && object["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn describe_object(object: &Value) -> String {
    format!(
        "{} {}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

fn workload_container(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]
}

fn workload_args(workload: &Value) -> Vec<String> {
    workload_container(workload)["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|arg| arg.as_str().expect("string arg").to_string())
        .collect()
}

/// The resources of `--resources=`.
fn served(args: &[String]) -> Vec<String> {
    args.iter()
        .find_map(|arg| arg.strip_prefix("--resources="))
        .expect("--resources")
        .split(',')
        .map(str::to_string)
        .collect()
}

/// (variable, fieldPath) of the container's downward-API environment.
fn downward(workload: &Value) -> BTreeMap<String, String> {
    workload_container(workload)["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|var| {
            Some((
                var["name"].as_str()?.to_string(),
                var["valueFrom"]["fieldRef"]["fieldPath"]
                    .as_str()?
                    .to_string(),
            ))
        })
        .collect()
}

fn pod_labels(workload: &Value) -> &Value {
    &workload["spec"]["template"]["metadata"]["labels"]
}

/// Whether a label selector selects `labels`: a workload's or NetworkPolicy's
/// (`matchLabels` and `matchExpressions`) or a Service's (a plain map).
fn selects(selector: &Value, labels: &Value) -> bool {
    let structured =
        selector.get("matchLabels").is_some() || selector.get("matchExpressions").is_some();
    let match_labels = if structured {
        &selector["matchLabels"]
    } else {
        selector
    };
    let equal = match_labels
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| &labels[key] == value);
    let expressions = if structured {
        selector["matchExpressions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    equal
        && expressions.iter().all(|expression| {
            let value = &labels[expression["key"].as_str().expect("key")];
            let values = expression["values"].as_array().cloned().unwrap_or_default();
            match expression["operator"].as_str().expect("operator") {
                "In" => values.contains(value),
                "NotIn" => !values.contains(value),
                "Exists" => !value.is_null(),
                "DoesNotExist" => value.is_null(),
                other => panic!("operator {other}"),
            }
        })
}

const NODE_ARG: &str = "--node=$(NODE_NAME)";
const UNSCHEDULED_ARG: &str = "--track-unscheduled-pods";

/// `daemonsetSharding` is KSM's daemonset sharding as deploy/sharding/daemonset lays it
/// out: pods per node from a DaemonSet, pods of no node from one more Deployment, every
/// other resource from the main Deployment; no workload selects another's pods, and every
/// pod is scraped once, as the job the mixin selects.
#[test]
fn daemonset_sharding_serves_pods_per_node_like_ksm() {
    if !helm_available() {
        return;
    }
    let objects = template(
        "kse",
        "monitoring",
        &ci("daemonset-sharding-values.yaml"),
        &[],
    );
    assert!(of_kind(&objects, "StatefulSet").is_empty());

    let daemonset = one(&objects, "DaemonSet");
    assert_eq!(
        daemonset["metadata"]["name"],
        "kse-kube-state-exporter-pods-per-node"
    );
    let args = workload_args(daemonset);
    assert_eq!(served(&args), ["pods"]);
    assert!(args.iter().any(|arg| arg == NODE_ARG), "{args:?}");
    assert!(!args.iter().any(|arg| arg == UNSCHEDULED_ARG), "{args:?}");
    assert_eq!(
        downward(daemonset),
        BTreeMap::from([("NODE_NAME".to_string(), "spec.nodeName".to_string())])
    );
    // Every taint tolerated by default, so every node's pods have an exporter.
    assert_eq!(
        daemonset["spec"]["template"]["spec"]["tolerations"],
        serde_json::json!([{"operator": "Exists"}])
    );

    let unscheduled = named(
        &objects,
        "Deployment",
        "kse-kube-state-exporter-unscheduled-pods",
    );
    assert_eq!(unscheduled["spec"]["replicas"], 1);
    let args = workload_args(unscheduled);
    assert_eq!(served(&args), ["pods"]);
    assert!(args.iter().any(|arg| arg == UNSCHEDULED_ARG), "{args:?}");
    assert!(
        !args.iter().any(|arg| arg.starts_with("--node")),
        "{args:?}"
    );

    let main = named(&objects, "Deployment", "kse-kube-state-exporter");
    let args = workload_args(main);
    assert!(
        !args
            .iter()
            .any(|arg| arg.starts_with("--node") || arg == UNSCHEDULED_ARG),
        "{args:?}"
    );
    let main_resources = served(&args);
    assert!(!main_resources.iter().any(|r| r == "pods"), "{args:?}");
    // The main and the unscheduled-pods instances together serve each default resource
    // once (the DaemonSet's pods the same pods by node).
    let mut all_served = main_resources.clone();
    all_served.extend(served(&workload_args(unscheduled)));
    all_served.sort();
    let mut defaults: Vec<String> = kube_state_exporter::config::DEFAULT_RESOURCES
        .iter()
        .map(|r| r.to_string())
        .collect();
    defaults.sort();
    assert_eq!(all_served, defaults);

    // Each workload selects its own pods and nobody else's.
    let workloads = workloads(&objects);
    assert_eq!(workloads.len(), 3);
    for (i, owner) in workloads.iter().enumerate() {
        for (j, pods) in workloads.iter().enumerate() {
            assert_eq!(
                selects(&owner["spec"]["selector"], pod_labels(pods)),
                i == j,
                "the selector of {} and the pods of {}",
                describe_object(owner),
                describe_object(pods)
            );
        }
    }

    // Prometheus scrapes every pod once: one Service selects each workload's pods, the
    // ServiceMonitor selects every Service, each as the job the mixin rules select.
    let monitor = one(&objects, "ServiceMonitor");
    let services = of_kind(&objects, "Service");
    assert_eq!(services.len(), 3);
    for workload in &workloads {
        let serving = services
            .iter()
            .filter(|service| selects(&service["spec"]["selector"], pod_labels(workload)))
            .count();
        assert_eq!(serving, 1, "Services of {}", describe_object(workload));
    }
    let job = ksm_job_name();
    for service in &services {
        let labels = &service["metadata"]["labels"];
        assert!(
            selects(&monitor["spec"]["selector"], labels),
            "{}",
            describe_object(service)
        );
        assert_eq!(operator_job_name(monitor, service, labels), job);
        assert_serves_both_ports(service);
    }
    assert_eq!(
        monitor["spec"]["namespaceSelector"]["matchNames"],
        serde_json::json!(["monitoring"])
    );

    // The NetworkPolicy admits scrapes of every pod; the PDB (maxUnavailable, which a
    // DaemonSet's pods cannot honour) covers the main Deployment's pods only.
    let policy = one(&objects, "NetworkPolicy");
    let pdb = one(&objects, "PodDisruptionBudget");
    for workload in &workloads {
        assert!(
            selects(&policy["spec"]["podSelector"], pod_labels(workload)),
            "{}",
            describe_object(workload)
        );
        assert_eq!(
            selects(&pdb["spec"]["selector"], pod_labels(workload)),
            std::ptr::eq(*workload, main),
            "{}",
            describe_object(workload)
        );
    }

    // One identity for all three, which may list and watch pods.
    let grants = cluster_role_grants(&objects);
    for verb in ["list", "watch"] {
        assert!(grants.contains(&(String::new(), "pods".to_string(), verb.to_string())));
    }
    let subject = &one(&objects, "ClusterRoleBinding")["subjects"][0];
    for workload in &workloads {
        assert_eq!(
            workload["spec"]["template"]["spec"]["serviceAccountName"],
            subject["name"]
        );
    }

    // Off by default: one Deployment serving pods too.
    let objects = template("kse", "monitoring", &None, &[]);
    assert!(served(&args_of_only(&objects)).iter().any(|r| r == "pods"));

    // Combinations that cannot work are refused with what to change.
    let chart = chart_dir().to_string_lossy().into_owned();
    for (set, message) in [
        (
            "autosharding.enabled=true,daemonsetSharding.enabled=true",
            "autosharding.enabled and daemonsetSharding.enabled are mutually exclusive",
        ),
        (
            "daemonsetSharding.enabled=true,collectors={nodes,namespaces}",
            "collectors must include pods",
        ),
        (
            "daemonsetSharding.enabled=true,collectors={pods}",
            "nothing but pods",
        ),
        (
            "daemonsetSharding.enabled=true,hostNetwork=true",
            "with hostNetwork",
        ),
    ] {
        assert_refused(&chart, set, message);
    }
}

fn args_of_only(objects: &[Value]) -> Vec<String> {
    match workloads(objects).as_slice() {
        [workload] => workload_args(workload),
        other => panic!("{} workloads", other.len()),
    }
}

/// NOTES.txt as `helm install --dry-run=client` prints it (no cluster contacted).
fn notes(values: &Option<std::path::PathBuf>, set: &[&str]) -> String {
    let chart = chart_dir().to_string_lossy().into_owned();
    let mut command = std::process::Command::new(helm());
    command
        .args(["install", "kse", &chart, "--dry-run=client"])
        .args(["--namespace", "monitoring"])
        .env("KUBECONFIG", "/dev/null");
    if let Some(path) = values {
        command.arg("--values").arg(path);
    }
    for pair in set {
        command.args(["--set", pair]);
    }
    let output = command.output().expect("helm runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    text.split_once("NOTES:")
        .map(|(_, notes)| notes.to_string())
        .expect("NOTES")
}

const TOKEN_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// `authFilter.enabled` adds `--auth-filter` to every workload, `create` on TokenReviews
/// and SubjectAccessReviews (what the filter asks the apiserver, src/server/security.rs)
/// to the ClusterRole, Prometheus' token to every ServiceMonitor endpoint, and the
/// `get /metrics` role Prometheus needs when its ServiceAccount is named; none of it when
/// off.
#[test]
fn auth_filter_adds_the_flag_the_review_rbac_and_the_scrape_token() {
    if !helm_available() {
        return;
    }
    let reviews: BTreeSet<(String, String, String)> = [
        ("authentication.k8s.io", "tokenreviews", "create"),
        ("authorization.k8s.io", "subjectaccessreviews", "create"),
    ]
    .into_iter()
    .map(|(g, r, v)| (g.to_string(), r.to_string(), v.to_string()))
    .collect();
    let main_role = "kse-kube-state-exporter";
    let reader = "kse-kube-state-exporter-metrics-reader";

    // Off: no flag, no review rights, no token, nothing in the notes.
    for values in [
        None,
        ci("monitoring-values.yaml"),
        ci("daemonset-sharding-values.yaml"),
    ] {
        let objects = template("kse", "monitoring", &values, &[]);
        for workload in workloads(&objects) {
            let args = workload_args(workload);
            assert!(!args.iter().any(|arg| arg.starts_with("--auth-filter")));
        }
        assert!(reviews.is_disjoint(&cluster_role_grants(&objects)));
        for monitor in of_kind(&objects, "ServiceMonitor") {
            for endpoint in monitor["spec"]["endpoints"].as_array().expect("endpoints") {
                assert!(
                    endpoint["bearerTokenFile"].is_null(),
                    "{}",
                    describe(&values)
                );
            }
        }
    }
    assert!(!notes(&None, &[]).contains("auth-filter"));

    // On, alone and with daemonset sharding: every workload, both endpoints.
    for set in [&[][..], &["daemonsetSharding.enabled=true"][..]] {
        let objects = template("kse", "monitoring", &ci("auth-filter-values.yaml"), set);
        let workloads = workloads(&objects);
        assert_eq!(workloads.len(), if set.is_empty() { 1 } else { 3 });
        for workload in &workloads {
            let args = workload_args(workload);
            assert_eq!(
                args.iter().filter(|arg| *arg == "--auth-filter").count(),
                1,
                "{}: {args:?}",
                describe_object(workload)
            );
        }
        // Exactly the two reviews beyond list/watch.
        let grants = role_grants(named(&objects, "ClusterRole", main_role));
        let beyond: BTreeSet<_> = grants
            .into_iter()
            .filter(|(_, _, verb)| verb != "list" && verb != "watch")
            .collect();
        assert_eq!(beyond, reviews, "{set:?}");

        let monitor = one(&objects, "ServiceMonitor");
        let endpoints = monitor["spec"]["endpoints"].as_array().expect("endpoints");
        assert_eq!(endpoints.len(), 2);
        for endpoint in endpoints {
            assert_eq!(endpoint["bearerTokenFile"], TOKEN_FILE, "{endpoint}");
        }

        let role = named(&objects, "ClusterRole", reader);
        assert_eq!(
            role["rules"],
            serde_json::json!([{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}])
        );
        let binding = named(&objects, "ClusterRoleBinding", reader);
        assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
        assert_eq!(binding["roleRef"]["name"], reader);
        assert_eq!(
            binding["subjects"],
            serde_json::json!([
                {"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}
            ])
        );
    }

    // An endpoint's own credentials win over the token file.
    let objects = template(
        "kse",
        "monitoring",
        &ci("auth-filter-values.yaml"),
        &[
            "prometheus.monitor.http.bearerTokenSecret.name=scrape-token",
            "prometheus.monitor.http.bearerTokenSecret.key=token",
        ],
    );
    let endpoints = &one(&objects, "ServiceMonitor")["spec"]["endpoints"];
    assert!(endpoints[0]["bearerTokenFile"].is_null());
    assert_eq!(endpoints[0]["bearerTokenSecret"]["name"], "scrape-token");
    assert_eq!(endpoints[1]["bearerTokenFile"], TOKEN_FILE);

    // Without Prometheus' ServiceAccount: no reader role, and the notes say what to grant.
    let unnamed = ["authFilter.prometheusServiceAccount.name="];
    let objects = template(
        "kse",
        "monitoring",
        &ci("auth-filter-values.yaml"),
        &unnamed,
    );
    assert_eq!(of_kind(&objects, "ClusterRole").len(), 1);
    assert_eq!(of_kind(&objects, "ClusterRoleBinding").len(), 1);
    let text = notes(&ci("auth-filter-values.yaml"), &unnamed);
    for expected in [
        "Prometheus' ServiceAccount needs a",
        "nonResourceURLs: [\"/metrics\"]",
        "verbs: [\"get\"]",
        "authFilter.prometheusServiceAccount.name",
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }
    let text = notes(&ci("auth-filter-values.yaml"), &[]);
    assert!(
        text.contains(&format!("binds {reader}")) && text.contains("monitoring/prometheus-k8s"),
        "{text}"
    );
}

/// Every workload of every value set (and of both new modes together) passes flags the
/// built exporter accepts (`--validate-config`), once the kubelet has expanded the
/// `$(VAR)` references, each to a variable the container defines.
#[test]
fn every_workloads_flags_are_accepted_by_the_exporter() {
    if !helm_available() {
        return;
    }
    let mut renderings: Vec<(String, Vec<Value>)> = value_sets()
        .into_iter()
        .map(|values| {
            (
                describe(&values),
                template("kse", "monitoring", &values, &[]),
            )
        })
        .collect();
    renderings.push((
        "daemonset sharding with --auth-filter".to_string(),
        template(
            "kse",
            "monitoring",
            &ci("daemonset-sharding-values.yaml"),
            &["authFilter.enabled=true"],
        ),
    ));
    renderings.push((
        "daemonset sharding with TLS and client certificates".to_string(),
        template(
            "kse",
            "monitoring",
            &ci("tls-values.yaml"),
            &[
                "daemonsetSharding.enabled=true",
                "tls.clientCASecretName=kse-client-ca",
                "tls.minVersion=TLS13",
            ],
        ),
    ));
    let samples = [
        ("NODE_NAME", "node-a"),
        ("POD_NAME", "kse-kube-state-exporter-1"),
        ("POD_NAMESPACE", "monitoring"),
    ];
    let mut checked = 0;
    let mut with_tls = 0;
    for (what, objects) in &renderings {
        for workload in workloads(objects) {
            let defined = downward(workload);
            // --tls-config is read by --validate-config: its volume's files, laid out in a
            // folder of the test's (the rendered web configuration, sample PEM files).
            let volume = tempfile::tempdir().expect("tempdir");
            let mounted = tls_volume(objects, workload, volume.path());
            let args: Vec<String> = workload_args(workload)
                .into_iter()
                .map(|arg| {
                    support::expand_references(&arg, |name| defined.contains_key(name), &samples)
                        .unwrap_or_else(|error| {
                            panic!("{what}: {}: {error}", describe_object(workload))
                        })
                })
                .map(|arg| match (&mounted, arg.strip_prefix(TLS_CONFIG_ARG)) {
                    (Some(mounted), Some(_)) => {
                        format!("{TLS_CONFIG_ARG}{}", mounted.config.display())
                    }
                    _ => arg,
                })
                .collect();
            if let Err(error) = support::validate_config(&args) {
                panic!("{what}: {} {args:?}: {error}", describe_object(workload));
            }
            checked += 1;
            with_tls += usize::from(mounted.is_some());
        }
    }
    // Eight value sets with one workload each, the daemonset ones with three.
    assert!(checked >= renderings.len() + 4, "{checked}");
    // ci/tls-values.yaml's workload and the three of daemonset sharding with TLS.
    assert!(with_tls >= 4, "{with_tls}");
}

const TLS_CONFIG_ARG: &str = "--tls-config=";

/// A workload's `--tls-config` volume, laid out in a folder as the kubelet would.
struct TlsVolume {
    /// The `--tls-config` file in that folder.
    config: std::path::PathBuf,
    /// (Secret, key, file name) of each Secret file the volume projects.
    secrets: Vec<(String, String, String)>,
}

/// The files of the volume mounted where the workload's `--tls-config` points, written
/// into `dir`: ConfigMap keys with the rendered ConfigMap's text, Secret keys with a
/// self-signed certificate (`tls.key`: its private key). `None` without `--tls-config`.
/// Panics unless the file is in a read-only mount of a projected volume whose ConfigMap
/// the rendering holds.
fn tls_volume(objects: &[Value], workload: &Value, dir: &std::path::Path) -> Option<TlsVolume> {
    let what = describe_object(workload);
    let flags: Vec<String> = workload_args(workload)
        .into_iter()
        .filter_map(|arg| arg.strip_prefix(TLS_CONFIG_ARG).map(str::to_string))
        .collect();
    let path = match flags.as_slice() {
        [] => return None,
        [path] => std::path::PathBuf::from(path),
        more => panic!("{what}: --tls-config {} times", more.len()),
    };
    let mounts = workload_container(workload)["volumeMounts"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: --tls-config without volumeMounts"));
    let (mount, relative) = mounts
        .iter()
        .find_map(|mount| {
            let at = mount["mountPath"].as_str().expect("mountPath");
            Some((mount, path.strip_prefix(at).ok()?.to_path_buf()))
        })
        .unwrap_or_else(|| panic!("{what}: {} is in no volume mount", path.display()));
    assert_eq!(mount["readOnly"], true, "{what}: {mount}");
    let volume = workload["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|volume| volume["name"] == mount["name"])
        .unwrap_or_else(|| panic!("{what}: no volume {}", mount["name"]));
    let sources = volume["projected"]["sources"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {volume} is not a projected volume"));

    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let mut secrets = Vec::new();
    for source in sources {
        let (kind, from) = if source["configMap"].is_object() {
            ("ConfigMap", &source["configMap"])
        } else {
            ("Secret", &source["secret"])
        };
        let name = from["name"].as_str().expect("source name");
        for item in from["items"].as_array().expect("items") {
            let key = item["key"].as_str().expect("key");
            let file = item["path"].as_str().expect("path");
            let text = match kind {
                "ConfigMap" => named(objects, "ConfigMap", name)["data"][key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{what}: ConfigMap {name} has no {key}"))
                    .to_string(),
                _ if key == "tls.key" => cert.signing_key.serialize_pem(),
                _ => cert.cert.pem(),
            };
            if kind == "Secret" {
                secrets.push((name.to_string(), key.to_string(), file.to_string()));
            }
            std::fs::write(dir.join(file), text).expect("write");
        }
    }
    let config = dir.join(relative);
    assert!(
        config.is_file(),
        "{what}: the volume has no {}",
        path.display()
    );
    Some(TlsVolume { config, secrets })
}

/// The rendered web configuration (ConfigMap `<fullname>-web-config`), as JSON.
fn web_config(objects: &[Value]) -> Value {
    let text = named(objects, "ConfigMap", "kse-kube-state-exporter-web-config")["data"]
        ["web-config.yml"]
        .as_str()
        .expect("web-config.yml");
    serde_norway::from_str(text).expect("web config YAML")
}

/// `tls.enabled`: every workload gets `--tls-config` pointing into a read-only projected
/// volume holding the rendered web configuration and the Secret's `tls.crt`/`tls.key`
/// under the names it gives, the file loads as the exporter's own web configuration and
/// serves TLS, the probes use HTTPS, the Services say https, and the ServiceMonitor scrapes
/// with https, verifying the Service's DNS name with the CA of `tls.scrape` (an endpoint's
/// own `tlsConfig` winning); client certificates add the CA and turn the probes to TCP;
/// `tls.enabled` without a Secret is refused; off, none of it.
#[test]
fn tls_serves_every_workload_with_the_mounted_web_config_and_https_scrapes() {
    if !helm_available() {
        return;
    }
    let values = ci("tls-values.yaml");
    let objects = template(
        "kse",
        "monitoring",
        &values,
        &["daemonsetSharding.enabled=true"],
    );
    let web = web_config(&objects);
    let server = &web["tls_server_config"];
    assert!(server.get("client_auth_type").is_none(), "{web}");
    let tls_workloads = workloads(&objects);
    assert_eq!(tls_workloads.len(), 3);
    for workload in &tls_workloads {
        let what = describe_object(workload);
        let dir = tempfile::tempdir().expect("tempdir");
        let volume = tls_volume(&objects, workload, dir.path())
            .unwrap_or_else(|| panic!("{what}: no --tls-config"));
        // The files the web configuration names are the Secret's.
        for (field, key) in [("cert_file", "tls.crt"), ("key_file", "tls.key")] {
            let file = server[field].as_str().unwrap_or_else(|| panic!("{field}"));
            assert!(
                volume.secrets.contains(&(
                    "kse-tls".to_string(),
                    key.to_string(),
                    file.to_string()
                )),
                "{what}: {field} {file} is not the Secret's {key}: {:?}",
                volume.secrets
            );
        }
        let loaded = kube_state_exporter::server::security::WebConfig::load(&volume.config)
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        assert!(loaded.tls.is_some(), "{what}: the web config serves no TLS");
        let container = workload_container(workload);
        for (probe, port) in [
            ("livenessProbe", "http-metrics"),
            ("readinessProbe", "telemetry"),
        ] {
            assert_eq!(
                container[probe]["httpGet"]["scheme"], "HTTPS",
                "{what} {probe}"
            );
            assert_eq!(container[probe]["httpGet"]["port"], port, "{what} {probe}");
        }
    }
    let services = of_kind(&objects, "Service");
    assert_eq!(services.len(), 3);
    for service in &services {
        assert_eq!(
            service["metadata"]["annotations"]["prometheus.io/scheme"],
            "https",
            "{}",
            describe_object(service)
        );
    }

    // Prometheus: https, the main Service's DNS name, the CA of tls.scrape.ca, the token.
    let tls_config = serde_json::json!({
        "serverName": "kse-kube-state-exporter.monitoring.svc",
        "ca": {"secret": {"name": "kse-tls", "key": "ca.crt"}},
    });
    let monitor = one(&objects, "ServiceMonitor");
    let endpoints = monitor["spec"]["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 2);
    for endpoint in endpoints {
        assert_eq!(endpoint["scheme"], "https", "{endpoint}");
        assert_eq!(endpoint["tlsConfig"], tls_config, "{endpoint}");
        assert_eq!(endpoint["bearerTokenFile"], TOKEN_FILE, "{endpoint}");
    }
    // insecureSkipVerify only when asked for; an endpoint's own settings win.
    let objects = template(
        "kse",
        "monitoring",
        &values,
        &[
            "tls.scrape.insecureSkipVerify=true",
            "prometheus.monitor.http.tlsConfig.serverName=kse.example",
        ],
    );
    let endpoints = &one(&objects, "ServiceMonitor")["spec"]["endpoints"];
    assert_eq!(
        endpoints[0]["tlsConfig"],
        serde_json::json!({"serverName": "kse.example"})
    );
    assert_eq!(endpoints[1]["tlsConfig"]["insecureSkipVerify"], true);
    assert_eq!(endpoints[1]["scheme"], "https");

    // Client certificates: required (TCP probes, as the kubelet has no certificate) or
    // verified when given (HTTPS probes).
    for (auth_type, probe_kind) in [
        ("RequireAndVerifyClientCert", "tcpSocket"),
        ("VerifyClientCertIfGiven", "httpGet"),
    ] {
        let auth = format!("tls.clientAuthType={auth_type}");
        let objects = template(
            "kse",
            "monitoring",
            &values,
            &["tls.clientCASecretName=kse-client-ca", &auth],
        );
        let web = web_config(&objects);
        assert_eq!(web["tls_server_config"]["client_auth_type"], auth_type);
        let ca_file = web["tls_server_config"]["client_ca_file"]
            .as_str()
            .expect("client_ca_file");
        let workload = workloads(&objects)[0];
        let dir = tempfile::tempdir().expect("tempdir");
        let volume = tls_volume(&objects, workload, dir.path()).expect("--tls-config");
        assert!(
            volume.secrets.contains(&(
                "kse-client-ca".to_string(),
                "ca.crt".to_string(),
                ca_file.to_string()
            )),
            "{:?}",
            volume.secrets
        );
        kube_state_exporter::server::security::WebConfig::load(&volume.config)
            .unwrap_or_else(|error| panic!("{auth_type}: {error}"));
        let container = workload_container(workload);
        for probe in ["livenessProbe", "readinessProbe"] {
            assert!(
                container[probe][probe_kind].is_object(),
                "{auth_type}: {probe} {}",
                container[probe]
            );
        }
    }

    // Refused, saying what to set.
    let chart = chart_dir().to_string_lossy().into_owned();
    for (set, message) in [
        ("tls.enabled=true", "tls.enabled needs tls.secretName"),
        (
            "tls.enabled=true,tls.secretName=kse-tls,tls.clientCASecretName=ca,tls.clientAuthType=RequireAnyClientCert",
            "use RequireAndVerifyClientCert or VerifyClientCertIfGiven",
        ),
        (
            "tls.enabled=true,tls.secretName=kse-tls,tls.minVersion=TLS11",
            "serves TLS12 and TLS13",
        ),
    ] {
        assert_refused(&chart, set, message);
    }

    // NOTES: https, and no plain-HTTP warning about the token.
    let text = notes(&values, &[]);
    assert!(
        text.contains("https://kse-kube-state-exporter.monitoring.svc:8080/metrics"),
        "{text}"
    );
    assert!(!text.contains("unencrypted"), "{text}");
    assert!(text.contains("--auth-filter is on"), "{text}");
    let text = notes(&ci("auth-filter-values.yaml"), &[]);
    assert!(text.contains("unencrypted"), "{text}");

    // Off: no flag, volume, ConfigMap, HTTPS probe or https scrape.
    for values in [
        None,
        ci("monitoring-values.yaml"),
        ci("daemonset-sharding-values.yaml"),
        ci("auth-filter-values.yaml"),
    ] {
        let what = describe(&values);
        let objects = template("kse", "monitoring", &values, &[]);
        assert!(of_kind(&objects, "ConfigMap").is_empty(), "{what}");
        for workload in workloads(&objects) {
            let args = workload_args(workload);
            assert!(
                !args.iter().any(|arg| arg.starts_with("--tls-config")),
                "{what}: {args:?}"
            );
            let pod = &workload["spec"]["template"]["spec"];
            assert!(pod["volumes"].is_null(), "{what}");
            let container = workload_container(workload);
            assert!(container["volumeMounts"].is_null(), "{what}");
            for probe in ["livenessProbe", "readinessProbe"] {
                assert!(container[probe]["httpGet"].is_object(), "{what} {probe}");
                assert!(container[probe]["httpGet"]["scheme"].is_null(), "{what}");
            }
        }
        for service in of_kind(&objects, "Service") {
            assert!(
                service["metadata"]["annotations"]["prometheus.io/scheme"].is_null(),
                "{what}"
            );
        }
        for monitor in of_kind(&objects, "ServiceMonitor") {
            for endpoint in monitor["spec"]["endpoints"].as_array().expect("endpoints") {
                assert!(endpoint["scheme"].is_null(), "{what}: {endpoint}");
                assert!(endpoint["tlsConfig"].is_null(), "{what}: {endpoint}");
            }
        }
    }
}

/// A Service of the chart exposes the metrics and the telemetry port, by name.
fn assert_serves_both_ports(service: &Value) {
    let ports: BTreeSet<&str> = service["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|port| port["name"].as_str())
        .collect();
    assert_eq!(
        ports,
        BTreeSet::from(["http-metrics", "telemetry"]),
        "{}",
        describe_object(service)
    );
}

/// `helm template` with `--set set` fails, and its message says `message`.
fn assert_refused(chart: &str, set: &str, message: &str) {
    let output = run_helm(&["template", "kse", chart, "--set", set]);
    assert!(!output.status.success(), "{set} rendered");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(message), "{set}: {stderr}");
}
