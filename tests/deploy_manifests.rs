//! Every manifest under `deploy/` parses into its k8s-openapi type without losing a field,
//! the RBAC rules grant exactly list/watch on exactly the default resources (groups taken
//! from `proto/resources.toml`), probes point at the right ports and paths, and the
//! containers are locked down.

mod helm_support;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, Probe, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube_state_exporter::config::DEFAULT_RESOURCES;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("deploy/ exists")
        .map(|entry| entry.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            out.push(path);
        }
    }
}

/// Every Kubernetes object under deploy/ (kustomization.yaml, the plain Prometheus
/// rule files of deploy/rules/ and the sharding examples of deploy/sharding/, checked by
/// tests/deploy_sharding.rs, excluded), with its file.
fn manifests() -> Vec<(PathBuf, serde_json::Value)> {
    let mut files = Vec::new();
    yaml_files(&repo().join("deploy"), &mut files);
    let mut objects = Vec::new();
    for path in files
        .into_iter()
        .filter(|path| !path.ends_with("kustomization.yaml"))
        .filter(|path| !path.starts_with(repo().join("deploy/rules")))
        // Helm templates are not manifests until rendered (tests/helm_chart.rs).
        .filter(|path| !path.starts_with(repo().join("deploy/helm")))
        .filter(|path| !path.starts_with(repo().join("deploy/sharding")))
    {
        let text = std::fs::read_to_string(&path).expect("readable manifest");
        for document in serde_norway::Deserializer::from_str(&text) {
            let value = serde_json::Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if !value.is_null() {
                objects.push((path.clone(), value));
            }
        }
    }
    assert!(objects.len() >= 7, "found only {} objects", objects.len());
    objects
}

/// Parses into `T` and checks nothing was dropped on the way (a misspelt or misplaced field
/// would silently vanish otherwise).
fn typed<T: DeserializeOwned + Serialize>(path: &Path, value: &serde_json::Value) -> T {
    let object: T =
        serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let back = serde_json::to_value(&object).expect("serialize");
    assert_eq!(
        &back,
        value,
        "{}: fields lost or changed when parsed as the Kubernetes type",
        path.display()
    );
    object
}

#[derive(Default)]
struct Deploy {
    service_accounts: Vec<ServiceAccount>,
    cluster_roles: Vec<ClusterRole>,
    bindings: Vec<(PathBuf, ClusterRoleBinding)>,
    deployments: Vec<Deployment>,
    services: Vec<Service>,
    pods: Vec<Pod>,
    prometheus_rules: Vec<(PathBuf, serde_json::Value)>,
    monitors: Vec<(PathBuf, serde_json::Value)>,
}

fn load() -> Deploy {
    let mut deploy = Deploy::default();
    for (path, value) in manifests() {
        let kind = value["kind"].as_str().unwrap_or_default().to_string();
        match kind.as_str() {
            "ServiceAccount" => deploy.service_accounts.push(typed(&path, &value)),
            "ClusterRole" => deploy.cluster_roles.push(typed(&path, &value)),
            "ClusterRoleBinding" => deploy.bindings.push((path.clone(), typed(&path, &value))),
            "Deployment" => deploy.deployments.push(typed(&path, &value)),
            "Service" => deploy.services.push(typed(&path, &value)),
            "Pod" => deploy.pods.push(typed(&path, &value)),
            // A CRD: k8s-openapi has no type for it, so it is checked structurally.
            "PrometheusRule" => deploy.prometheus_rules.push((path.clone(), value)),
            "ServiceMonitor" | "PodMonitor" => deploy.monitors.push((path.clone(), value)),
            other => panic!("{}: unexpected kind {other:?}", path.display()),
        }
    }
    deploy
}

#[derive(Deserialize)]
struct ResourcesToml {
    resource: Vec<ResourceEntry>,
}

#[derive(Deserialize)]
struct ResourceEntry {
    plural: String,
    api_version: String,
}

/// (API group, plural) of every default resource (`defaults`) or of every other kind,
/// groups from proto/resources.toml.
fn resources_by_group(defaults: bool) -> BTreeSet<(String, String)> {
    let text =
        std::fs::read_to_string(repo().join("proto/resources.toml")).expect("proto/resources.toml");
    let table: ResourcesToml = toml::from_str(&text).expect("valid resources.toml");
    let groups: BTreeMap<String, String> = table
        .resource
        .into_iter()
        .map(|entry| {
            let group = entry
                .api_version
                .rsplit_once('/')
                .map_or("", |(group, _)| group)
                .to_string();
            (entry.plural, group)
        })
        .collect();
    for plural in DEFAULT_RESOURCES {
        assert!(
            groups.contains_key(*plural),
            "{plural} not in proto/resources.toml"
        );
    }
    groups
        .into_iter()
        .filter(|(plural, _)| DEFAULT_RESOURCES.contains(&plural.as_str()) == defaults)
        .map(|(plural, group)| (group, plural))
        .collect()
}

/// (group, resource, verb) of every rule of the role named `name`.
fn grants(deploy: &Deploy, name: &str) -> BTreeSet<(String, String, String)> {
    let role = deploy
        .cluster_roles
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no ClusterRole {name}"));
    let mut granted = BTreeSet::new();
    for rule in role.rules.as_deref().unwrap_or_default() {
        assert!(
            rule.resource_names.is_none() && rule.non_resource_urls.is_none(),
            "{rule:?}"
        );
        for group in rule.api_groups.as_deref().unwrap_or_default() {
            for resource in rule.resources.as_deref().unwrap_or_default() {
                for verb in &rule.verbs {
                    assert!(
                        granted.insert((group.clone(), resource.clone(), verb.clone())),
                        "granted twice: {group}/{resource} {verb}"
                    );
                }
            }
        }
    }
    granted
}

fn assert_list_watch_exactly(
    granted: &BTreeSet<(String, String, String)>,
    resources: &BTreeSet<(String, String)>,
) {
    let expected: BTreeSet<(String, String, String)> = resources
        .iter()
        .flat_map(|(group, resource)| {
            ["list", "watch"].map(|verb| (group.clone(), resource.clone(), verb.to_string()))
        })
        .collect();
    let missing: Vec<_> = expected.difference(granted).collect();
    let extra: Vec<_> = granted.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}; extra {extra:?}"
    );
}

#[test]
fn cluster_role_grants_exactly_list_and_watch_on_the_default_resources() {
    let deploy = load();
    let granted = grants(&deploy, "kube-state-exporter");
    assert_list_watch_exactly(&granted, &resources_by_group(true));
    assert_eq!(granted.len(), DEFAULT_RESOURCES.len() * 2);
}

#[test]
fn opt_in_role_grants_exactly_list_and_watch_on_the_other_resources() {
    let deploy = load();
    let opt_in = resources_by_group(false);
    assert!(!opt_in.is_empty());
    assert_list_watch_exactly(&grants(&deploy, "kube-state-exporter-opt-in"), &opt_in);
}

#[test]
fn bindings_tie_the_role_to_the_exporters_identities() {
    let deploy = load();
    let account = &deploy.service_accounts[0];
    assert_eq!(
        deploy.bindings.len(),
        3,
        "service account binding, static-pod user binding, opt-in binding"
    );
    for (path, binding) in &deploy.bindings {
        let role_name = if path.to_string_lossy().contains("opt-in") {
            "kube-state-exporter-opt-in"
        } else {
            "kube-state-exporter"
        };
        assert_eq!(binding.role_ref.kind, "ClusterRole", "{}", path.display());
        assert_eq!(binding.role_ref.name, role_name, "{}", path.display());
        let subjects = binding.subjects.as_deref().unwrap_or_default();
        assert_eq!(subjects.len(), 1, "{}", path.display());
        let subject = &subjects[0];
        if path.to_string_lossy().contains("static-pod") {
            assert_eq!(
                (subject.kind.as_str(), subject.name.as_str()),
                ("User", "system:kube-state-exporter")
            );
        } else {
            assert_eq!(subject.kind, "ServiceAccount");
            assert_eq!(Some(&subject.name), account.metadata.name.as_ref());
            assert_eq!(subject.namespace, account.metadata.namespace);
        }
    }
}

fn assert_locked_down(container: &Container, pod: &PodSpec) {
    let context = container
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(context.run_as_non_root, Some(true));
    assert_eq!(context.read_only_root_filesystem, Some(true));
    assert_eq!(context.allow_privilege_escalation, Some(false));
    let drop = context
        .capabilities
        .as_ref()
        .and_then(|caps| caps.drop.clone())
        .unwrap_or_default();
    assert_eq!(drop, ["ALL"]);
    assert!(context
        .capabilities
        .as_ref()
        .is_some_and(|caps| caps.add.is_none()));
    assert_eq!(
        context
            .seccomp_profile
            .as_ref()
            .map(|profile| profile.type_.as_str()),
        Some("RuntimeDefault")
    );
    assert_ne!(context.run_as_user, Some(0));
    assert_eq!(
        pod.security_context
            .as_ref()
            .and_then(|context| context.run_as_non_root),
        Some(true)
    );
    let resources = container.resources.as_ref().expect("resources");
    let requests = resources.requests.as_ref().expect("requests");
    assert!(
        requests.contains_key("cpu") && requests.contains_key("memory"),
        "{requests:?}"
    );
    assert!(resources
        .limits
        .as_ref()
        .is_some_and(|limits| limits.contains_key("memory")));
}

/// Resolves a probe's port (number or container port name) and returns (path, port).
fn probe_target(probe: Option<&Probe>, container: &Container) -> (String, i32) {
    let get = probe
        .and_then(|probe| probe.http_get.as_ref())
        .expect("an httpGet probe");
    let port = match &get.port {
        IntOrString::Int(port) => *port,
        IntOrString::String(name) => {
            container
                .ports
                .as_deref()
                .unwrap_or_default()
                .iter()
                .find(|port| port.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("no container port named {name}"))
                .container_port
        }
    };
    (get.path.clone().unwrap_or_default(), port)
}

/// The value of `--flag=value` in the container's args.
fn arg<'a>(container: &'a Container, flag: &str) -> Option<&'a str> {
    let prefix = format!("--{flag}=");
    container
        .args
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|arg| arg.strip_prefix(&prefix))
}

fn assert_probes_and_ports(container: &Container) {
    let ports: BTreeMap<String, i32> = container
        .ports
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|port| (port.name.clone().unwrap_or_default(), port.container_port))
        .collect();
    assert_eq!(
        ports,
        BTreeMap::from([
            ("http-metrics".to_string(), 8080),
            ("telemetry".to_string(), 8081)
        ])
    );
    assert_eq!(arg(container, "port"), Some("8080"));
    assert_eq!(arg(container, "telemetry-port"), Some("8081"));
    assert_eq!(
        probe_target(container.liveness_probe.as_ref(), container),
        ("/livez".to_string(), 8080)
    );
    assert_eq!(
        probe_target(container.readiness_probe.as_ref(), container),
        ("/readyz".to_string(), 8081)
    );
}

#[test]
fn deployment_probes_ports_and_security() {
    let deploy = load();
    assert_eq!(deploy.deployments.len(), 1);
    let deployment = &deploy.deployments[0];
    let spec = deployment.spec.as_ref().expect("spec");
    let pod = spec.template.spec.as_ref().expect("pod spec");
    assert_eq!(
        pod.service_account_name,
        deploy.service_accounts[0].metadata.name
    );
    let selector = spec.selector.match_labels.clone().unwrap_or_default();
    let labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|meta| meta.labels.clone())
        .unwrap_or_default();
    assert!(
        !selector.is_empty()
            && selector
                .iter()
                .all(|(key, value)| labels.get(key) == Some(value))
    );
    assert_eq!(pod.containers.len(), 1);
    assert_probes_and_ports(&pod.containers[0]);
    assert_locked_down(&pod.containers[0], pod);
    // As KSM: the token is mounted into this pod only, not into every pod that names the
    // account.
    assert_eq!(pod.automount_service_account_token, Some(true));
    assert_eq!(
        deploy.service_accounts[0].automount_service_account_token,
        Some(false)
    );
}

#[test]
fn headless_service_exposes_both_named_ports() {
    let deploy = load();
    assert_eq!(deploy.services.len(), 1);
    let spec = deploy.services[0].spec.as_ref().expect("spec");
    assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
    let ports: Vec<(String, i32, Option<IntOrString>)> = spec
        .ports
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|port| {
            (
                port.name.clone().unwrap_or_default(),
                port.port,
                port.target_port.clone(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            (
                "http-metrics".to_string(),
                8080,
                Some(IntOrString::String("http-metrics".to_string()))
            ),
            (
                "telemetry".to_string(),
                8081,
                Some(IntOrString::String("telemetry".to_string()))
            ),
        ]
    );
    let template = deploy.deployments[0]
        .spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref())
        .expect("template");
    let labels = template.labels.clone().unwrap_or_default();
    let selector = spec.selector.clone().unwrap_or_default();
    assert!(
        !selector.is_empty()
            && selector
                .iter()
                .all(|(key, value)| labels.get(key) == Some(value))
    );
}

#[test]
fn static_pod_uses_a_mounted_kubeconfig() {
    let deploy = load();
    assert_eq!(deploy.pods.len(), 1);
    let pod = deploy.pods[0].spec.as_ref().expect("spec");
    let container = &pod.containers[0];
    assert_probes_and_ports(container);
    assert_locked_down(container, pod);
    assert!(pod.service_account_name.is_none());
    // hostNetwork: both servers on loopback unless TLS is configured (docs/security.md).
    assert_eq!(pod.host_network, Some(true));
    if arg(container, "tls-config").is_none() {
        for flag in ["host", "telemetry-host"] {
            assert_eq!(
                arg(container, flag),
                Some("127.0.0.1"),
                "--{flag}: a hostNetwork pod without --tls-config must listen on loopback only"
            );
        }
    }
    let kubeconfig = arg(container, "kubeconfig").expect("--kubeconfig");
    let mount = container
        .volume_mounts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|mount| mount.mount_path == kubeconfig)
        .expect("the kubeconfig is mounted");
    assert_eq!(mount.read_only, Some(true));
    let volume = pod
        .volumes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|volume| volume.name == mount.name)
        .expect("volume");
    assert!(volume
        .host_path
        .as_ref()
        .is_some_and(|host| host.type_.as_deref() == Some("File")));
}

#[test]
fn kustomization_lists_every_top_level_manifest() {
    #[derive(Deserialize)]
    struct Kustomization {
        resources: Vec<String>,
    }
    let dir = repo().join("deploy");
    let text = std::fs::read_to_string(dir.join("kustomization.yaml")).expect("kustomization.yaml");
    let kustomization: Kustomization = serde_norway::from_str(&text).expect("valid kustomization");
    let listed: BTreeSet<String> = kustomization.resources.into_iter().collect();
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("deploy/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present);
}

#[test]
fn dockerfile_is_multi_stage_and_passes_schema_overlays_to_the_build() {
    let text =
        std::fs::read_to_string(repo().join("deploy/Dockerfile")).expect("deploy/Dockerfile");
    let stages = text
        .lines()
        .filter(|line| line.starts_with("FROM "))
        .count();
    assert!(stages >= 2, "{stages} stages");
    assert!(text
        .lines()
        .any(|line| line.trim_start().starts_with("ARG SCHEMA_OVERLAYS")));
    let build = text
        .lines()
        .find(|line| line.contains("cargo build --release"))
        .expect("a release build");
    assert!(
        build.contains("SCHEMA_OVERLAYS=\"${SCHEMA_OVERLAYS}\""),
        "{build}"
    );
    // Static, stripped, for the platform being built.
    for needle in [
        "+crt-static",
        "CARGO_PROFILE_RELEASE_STRIP=symbols",
        "CARGO_PROFILE_RELEASE_DEBUG=0",
        "--target \"$target\"",
    ] {
        assert!(build.contains(needle), "{needle} not in {build}");
    }
    assert!(text.lines().any(|line| line.trim() == "ARG TARGETARCH"));
}

/// The final stage: `scratch`, the binary alone, a numeric non-root user; the same in
/// deploy/Dockerfile and deploy/Dockerfile.prebuilt (scripts/build-image.sh).
#[test]
fn both_dockerfiles_end_in_the_same_minimal_non_root_stage() {
    let final_stage = |name: &str| -> Vec<String> {
        let text = std::fs::read_to_string(repo().join("deploy").join(name)).expect(name);
        let start = text.rfind("\nFROM ").expect("a FROM line");
        text[start..]
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                if line.starts_with("COPY ") {
                    // The source differs (a stage, a context file); the destination not.
                    line.rsplit(' ').next().unwrap_or_default().to_string()
                } else {
                    line.to_string()
                }
            })
            .collect()
    };
    let main = final_stage("Dockerfile");
    assert_eq!(main, final_stage("Dockerfile.prebuilt"));
    assert_eq!(main[0], "FROM scratch");
    assert!(main.contains(&"USER 65534:65534".to_string()), "{main:?}");
    assert!(main.contains(&"ENTRYPOINT [\"/kube-state-exporter\"]".to_string()));
}

/// Every group of deploy/rules/*.rules.yaml, files in name order.
fn shipped_rule_groups() -> Vec<serde_json::Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/rules"))
        .expect("deploy/rules")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().ends_with(".rules.yaml"))
        .collect();
    files.sort();
    let mut groups = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("rule file");
        let rules: serde_json::Value =
            serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        groups.extend(rules["groups"].as_array().expect("groups").iter().cloned());
    }
    groups
}

const PROMETHEUS_RULE: &str = "deploy/prometheus-rule/prometheus-rule.yaml";

/// The PrometheusRule (a Prometheus Operator CRD, no k8s-openapi type): its apiVersion, a
/// name, and spec.groups equal to every group of the plain rule files that promtool
/// checks (tests/alert_rules.rs), so the two cannot drift apart. `UPDATE_GOLDEN=1`
/// rewrites it from deploy/rules.
#[test]
fn prometheus_rule_carries_the_plain_rule_files() {
    let groups = shipped_rule_groups();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let object = serde_json::json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {
                "name": "kube-state-exporter",
                "labels": {"app.kubernetes.io/name": "kube-state-exporter"},
            },
            "spec": {"groups": groups},
        });
        let text = format!(
            "# Generated from deploy/rules/*.rules.yaml by tests/deploy_manifests.rs\n\
             # (UPDATE_GOLDEN=1): edit those files, not this one. For clusters that run the\n\
             # Prometheus Operator (its CRD must exist): kubectl apply -k deploy/prometheus-rule/\n\
             # Not part of deploy/kustomization.yaml, which must apply on clusters without it.\n{}",
            serde_norway::to_string(&object).expect("YAML")
        );
        std::fs::write(repo().join(PROMETHEUS_RULE), text).expect("write the PrometheusRule");
    }
    let deploy = load();
    let [(path, rule)] = deploy.prometheus_rules.as_slice() else {
        panic!("expected one PrometheusRule under deploy/");
    };
    assert_eq!(
        rule["apiVersion"],
        "monitoring.coreos.com/v1",
        "{}",
        path.display()
    );
    assert_eq!(rule["metadata"]["name"], "kube-state-exporter");
    let keys: BTreeSet<&str> = rule
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["apiVersion", "kind", "metadata", "spec"]),
        "{}",
        path.display()
    );
    assert_eq!(
        rule["spec"]["groups"],
        serde_json::Value::Array(groups.clone()),
        "{} differs from deploy/rules (UPDATE_GOLDEN=1 regenerates it)",
        path.display()
    );
    let alerts: BTreeSet<&str> = groups
        .iter()
        .flat_map(|group| group["rules"].as_array().expect("rules"))
        .filter_map(|rule| rule["alert"].as_str())
        .collect();
    for alert in [
        "KubeStateExporterSchemaDrift",
        "KubeStateExporterListErrors",
        "KubeStateExporterWatchErrors",
        "KubeStateExporterNotReady",
    ] {
        assert!(alerts.contains(alert), "{alert} not in {alerts:?}");
    }
}

/// kubernetes-mixin selects KSM's families with job="kube-state-metrics": the
/// ServiceMonitor and the PodMonitor of deploy/monitors give their targets that job (the
/// Prometheus Operator takes it from the label `jobLabel` names), and select the
/// Service / pods of deploy/ with honorLabels on the object endpoint.
#[test]
fn monitors_scrape_as_the_job_the_mixin_rules_select() {
    let wanted = helm_support::ksm_job_name();
    let deploy = load();
    let service = serde_json::to_value(&deploy.services[0]).expect("service");
    let deployment = serde_json::to_value(&deploy.deployments[0]).expect("deployment");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let kinds: BTreeSet<&str> = deploy
        .monitors
        .iter()
        .map(|(_, monitor)| monitor["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, BTreeSet::from(["PodMonitor", "ServiceMonitor"]));
    for (path, monitor) in &deploy.monitors {
        let (target, labels, endpoints) = if monitor["kind"] == "ServiceMonitor" {
            (&service, &service["metadata"]["labels"], "endpoints")
        } else {
            (&deployment, pod_labels, "podMetricsEndpoints")
        };
        assert_eq!(
            helm_support::operator_job_name(monitor, target, labels),
            wanted,
            "{}",
            path.display()
        );
        for (key, value) in monitor["spec"]["selector"]["matchLabels"]
            .as_object()
            .expect("matchLabels")
        {
            assert_eq!(&labels[key], value, "{}: {key}", path.display());
        }
        let endpoints = monitor["spec"][endpoints].as_array().expect("endpoints");
        assert_eq!(endpoints[0]["port"], "http-metrics");
        assert_eq!(endpoints[0]["honorLabels"], true);
        assert_eq!(endpoints[1]["port"], "telemetry");
    }
}
