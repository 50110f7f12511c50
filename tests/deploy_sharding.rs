//! The sharding examples of deploy/sharding/ (static, StatefulSet, per node): every
//! object parses into its Kubernetes type without losing a field, each workload passes
//! the flags its mode needs (and the downward-API values they name), static shards never
//! select each other's pods (the per-node overlay keeps the base Deployment's selector,
//! which also matches its other pods: docs/sharding.md), auto-sharding has exactly the RBAC it uses, and the three
//! per-node workloads together cover every default resource once; the built exporter
//! accepts every workload's flags (`--validate-config`). When kubectl is installed,
//! `kubectl kustomize` builds each directory.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube_state_exporter::config::DEFAULT_RESOURCES;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

fn dir(mode: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/sharding")
        .join(mode)
}

/// Every object of the files the mode's kustomization.yaml lists.
fn objects(mode: &str) -> Vec<serde_json::Value> {
    let kustomization: serde_json::Value = serde_norway::from_str(
        &std::fs::read_to_string(dir(mode).join("kustomization.yaml")).expect("kustomization"),
    )
    .expect("valid kustomization");
    let mut objects = Vec::new();
    for file in kustomization["resources"].as_array().expect("resources") {
        let path = dir(mode).join(file.as_str().expect("a file name"));
        let text = std::fs::read_to_string(&path).expect("listed file exists");
        for document in serde_norway::Deserializer::from_str(&text) {
            let value = serde_json::Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if !value.is_null() {
                objects.push(value);
            }
        }
    }
    objects
}

fn typed<T: DeserializeOwned + Serialize>(value: &serde_json::Value) -> T {
    let object: T = serde_json::from_value(value.clone()).expect("parses");
    assert_eq!(
        &serde_json::to_value(&object).expect("serializes"),
        value,
        "fields lost when parsed as the Kubernetes type"
    );
    object
}

fn of_kind<T: DeserializeOwned + Serialize>(objects: &[serde_json::Value], kind: &str) -> Vec<T> {
    objects
        .iter()
        .filter(|o| o["kind"] == kind)
        .map(typed)
        .collect()
}

fn container(template: &PodTemplateSpec) -> &Container {
    &template.spec.as_ref().expect("pod spec").containers[0]
}

fn args(template: &PodTemplateSpec) -> Vec<&str> {
    container(template)
        .args
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect()
}

/// (variable, fieldPath) of the container's downward-API environment.
fn downward(template: &PodTemplateSpec) -> Vec<(String, String)> {
    container(template)
        .env
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|var| {
            let field = var.value_from.as_ref()?.field_ref.as_ref()?;
            Some((var.name.clone(), field.field_path.clone()))
        })
        .collect()
}

fn instance_label(template: &PodTemplateSpec) -> String {
    template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref())
        .and_then(|labels| labels.get("app.kubernetes.io/instance"))
        .cloned()
        .unwrap_or_default()
}

#[test]
fn static_mode_runs_one_deployment_per_shard_with_distinct_selectors() {
    let deployments: Vec<Deployment> = of_kind(&objects("static"), "Deployment");
    assert_eq!(deployments.len(), 3);
    let mut instances = BTreeSet::new();
    for (shard, deployment) in deployments.iter().enumerate() {
        let spec = deployment.spec.as_ref().expect("spec");
        let flags = args(&spec.template);
        assert!(
            flags.contains(&format!("--shard={shard}").as_str()),
            "{flags:?}"
        );
        assert!(flags.contains(&"--total-shards=3"), "{flags:?}");
        let selected = spec.selector.match_labels.as_ref().expect("matchLabels");
        assert_eq!(
            selected.get("app.kubernetes.io/instance"),
            Some(&instance_label(&spec.template))
        );
        instances.insert(instance_label(&spec.template));
    }
    assert_eq!(
        instances.len(),
        3,
        "shards must not select each other's pods"
    );
}

#[test]
fn statefulset_mode_passes_its_pod_and_may_read_exactly_what_it_reads() {
    let objects = objects("statefulset");
    let [statefulset]: [StatefulSet; 1] = of_kind(&objects, "StatefulSet")
        .try_into()
        .unwrap_or_else(|v: Vec<_>| panic!("{} statefulsets", v.len()));
    let spec = statefulset.spec.as_ref().expect("spec");
    assert!(spec.replicas.unwrap_or(1) > 1);
    let flags = args(&spec.template);
    assert!(
        flags.contains(&"--pod=$(POD_NAME)") && flags.contains(&"--pod-namespace=$(POD_NAMESPACE)")
    );
    assert_eq!(
        downward(&spec.template),
        [
            ("POD_NAME".to_string(), "metadata.name".to_string()),
            (
                "POD_NAMESPACE".to_string(),
                "metadata.namespace".to_string()
            )
        ]
    );
    let name = statefulset.metadata.name.clone().expect("name");
    let [role]: [Role; 1] = of_kind(&objects, "Role").try_into().expect("one Role");
    let mut granted = BTreeSet::new();
    for rule in role.rules.as_deref().unwrap_or_default() {
        for group in rule.api_groups.as_deref().unwrap_or_default() {
            for resource in rule.resources.as_deref().unwrap_or_default() {
                for verb in &rule.verbs {
                    granted.insert((
                        group.clone(),
                        resource.clone(),
                        verb.clone(),
                        rule.resource_names.clone().unwrap_or_default(),
                    ));
                }
            }
        }
    }
    let expected: BTreeSet<_> = [
        ("", "pods", "get", vec![]),
        ("apps", "statefulsets", "get", vec![name.clone()]),
        ("apps", "statefulsets", "list", vec![name.clone()]),
        ("apps", "statefulsets", "watch", vec![name.clone()]),
    ]
    .into_iter()
    .map(|(g, r, v, n)| (g.to_string(), r.to_string(), v.to_string(), n))
    .collect();
    assert_eq!(granted, expected);
    assert_eq!(role.metadata.namespace, statefulset.metadata.namespace);
    let [binding]: [RoleBinding; 1] = of_kind(&objects, "RoleBinding").try_into().expect("one");
    assert_eq!(
        binding.role_ref.name,
        role.metadata.name.clone().expect("name")
    );
    let subject = &binding.subjects.as_deref().expect("subjects")[0];
    assert_eq!(
        Some(subject.name.as_str()),
        spec.template
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.as_deref())
    );
}

#[test]
fn daemonset_mode_covers_every_default_resource_once() {
    let objects = objects("daemonset");
    let [daemonset]: [DaemonSet; 1] = of_kind(&objects, "DaemonSet").try_into().expect("one");
    let template = &daemonset.spec.as_ref().expect("spec").template;
    assert!(args(template).contains(&"--node=$(NODE_NAME)"));
    assert_eq!(
        downward(template),
        [("NODE_NAME".to_string(), "spec.nodeName".to_string())]
    );
    let deployments: Vec<Deployment> = of_kind(&objects, "Deployment");
    let mut served: Vec<String> = Vec::new();
    let mut unscheduled = 0;
    let templates = deployments
        .iter()
        .map(|d| &d.spec.as_ref().expect("spec").template)
        .chain([template]);
    for template in templates {
        let flags = args(template);
        unscheduled += usize::from(flags.contains(&"--track-unscheduled-pods"));
        let resources = flags
            .iter()
            .find_map(|f| f.strip_prefix("--resources="))
            .expect("every workload names its resources");
        if !flags.contains(&"--node=$(NODE_NAME)") {
            served.extend(resources.split(',').map(str::to_string));
        } else {
            assert_eq!(resources, "pods");
        }
    }
    assert_eq!(unscheduled, 1);
    served.sort();
    let mut defaults: Vec<String> = DEFAULT_RESOURCES.iter().map(|r| r.to_string()).collect();
    defaults.sort();
    assert_eq!(
        served, defaults,
        "each default resource served by exactly one workload"
    );
}

/// Every workload of every mode passes flags the built exporter accepts
/// (`--validate-config`), once the kubelet has expanded its `$(VAR)` references, each to a
/// downward-API variable of the container.
#[test]
fn every_workloads_flags_are_accepted_by_the_exporter() {
    let samples = [
        ("NODE_NAME", "node-a"),
        ("POD_NAME", "kube-state-exporter-1"),
        ("POD_NAMESPACE", "kube-system"),
    ];
    let mut checked = 0;
    for mode in ["static", "statefulset", "daemonset"] {
        let objects = objects(mode);
        let mut templates: Vec<PodTemplateSpec> = Vec::new();
        for deployment in of_kind::<Deployment>(&objects, "Deployment") {
            templates.push(deployment.spec.expect("spec").template);
        }
        for statefulset in of_kind::<StatefulSet>(&objects, "StatefulSet") {
            templates.push(statefulset.spec.expect("spec").template);
        }
        for daemonset in of_kind::<DaemonSet>(&objects, "DaemonSet") {
            templates.push(daemonset.spec.expect("spec").template);
        }
        for template in &templates {
            let defined = downward(template);
            let expanded: Vec<String> = args(template)
                .into_iter()
                .map(|arg| {
                    support::expand_references(
                        arg,
                        |name| defined.iter().any(|(var, _)| var == name),
                        &samples,
                    )
                    .unwrap_or_else(|error| panic!("{mode}: {error}"))
                })
                .collect();
            if let Err(error) = support::validate_config(&expanded) {
                panic!("{mode}: {expanded:?}: {error}");
            }
            checked += 1;
        }
    }
    // 3 static shards, the StatefulSet, the three per-node workloads.
    assert_eq!(checked, 7);
}

#[test]
fn kustomize_builds_every_mode() {
    if !support::realk8s::kubectl_available() {
        return;
    }
    let kubectl = support::realk8s::kubectl();
    for mode in ["static", "statefulset", "daemonset"] {
        let output = Command::new(&kubectl)
            .arg("kustomize")
            .arg(dir(mode))
            .output()
            .expect("kubectl runs");
        assert!(
            output.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let built = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            built.matches("\nkind: ").count() + usize::from(built.starts_with("kind: ")),
            objects(mode).len(),
            "{mode}"
        );
    }
}
