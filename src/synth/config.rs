//! Namespaces, Services, ConfigMaps and Secrets.

use std::collections::BTreeMap;

use crate::api::core::v1::{
    ConfigMap, Namespace, NamespaceSpec, NamespaceStatus, Secret, Service, ServicePort,
    ServiceSpec, ServiceStatus,
};
use crate::api::intstr::IntOrString;

use super::catalog::{ARCHETYPES, CLUSTER_NOW, DAY};
use super::meta::{labels, some, Meta};
use super::plan::{Kind, Plan, WorkloadKind};
use super::rng::Rng;

pub fn namespace(plan: &Plan, index: u32) -> Namespace {
    let mut rng = Rng::stream(
        plan.options.seed,
        Kind::Namespace.stream(),
        u64::from(index),
    );
    let name = plan.namespaces[index as usize].clone();
    let mut ns_labels = labels([("kubernetes.io/metadata.name", name.clone())]);
    if index >= super::plan::SYSTEM_NAMESPACES.len() as u32 {
        ns_labels.insert(
            "team".into(),
            name.split('-').next().unwrap_or("").to_string(),
        );
        ns_labels.insert("istio-injection".into(), "enabled".into());
    }
    Namespace {
        metadata: Some(
            Meta {
                name,
                namespace: None,
                uid: plan.uid(Kind::Namespace, index),
                resource_version: plan.resource_version(Kind::Namespace, index),
                created: CLUSTER_NOW - rng.range(300, 400) as i64 * DAY,
                generation: None,
                labels: ns_labels,
                annotations: BTreeMap::new(),
                owner: None,
            }
            .build(),
        ),
        spec: Some(NamespaceSpec {
            finalizers: vec!["kubernetes".into()],
        }),
        status: Some(NamespaceStatus {
            phase: some("Active"),
            conditions: Vec::new(),
        }),
    }
}

pub fn service(plan: &Plan, index: u32) -> Service {
    let object = &plan.services[index as usize];
    let mut rng = Rng::stream(plan.options.seed, Kind::Service.stream(), u64::from(index));
    let workload = object.workload.map(|w| &plan.workloads[w as usize]);
    let (port, selector, headless) = match workload {
        Some(w) => {
            let archetype = &ARCHETYPES[w.archetype as usize % ARCHETYPES.len()];
            (
                archetype.port,
                labels([
                    ("app.kubernetes.io/instance", w.name.clone()),
                    ("app.kubernetes.io/name", archetype.name.to_string()),
                ]),
                w.kind == WorkloadKind::StatefulSet,
            )
        }
        None => (443, BTreeMap::new(), false),
    };
    let cluster_ip = if headless {
        "None".to_string()
    } else {
        format!("172.20.{}.{}", rng.below(256), rng.range(1, 254))
    };
    let load_balancer = workload.is_some() && !headless && rng.chance(50);
    Service {
        metadata: Some(
            Meta {
                name: object.name.clone(),
                namespace: Some(&plan.namespaces[object.namespace as usize]),
                uid: plan.uid(Kind::Service, index),
                resource_version: plan.resource_version(Kind::Service, index),
                created: CLUSTER_NOW - rng.range(10, 300) as i64 * DAY,
                generation: None,
                labels: selector.clone(),
                annotations: BTreeMap::new(),
                owner: None,
            }
            .build(),
        ),
        spec: Some(ServiceSpec {
            ports: vec![ServicePort {
                name: some("http"),
                protocol: some("TCP"),
                port: Some(if port == 443 { 443 } else { 80 }),
                target_port: Some(IntOrString {
                    r#type: Some(0),
                    int_val: Some(port),
                    str_val: None,
                }),
                node_port: load_balancer.then(|| 30_000 + rng.below(2768) as i32),
                ..Default::default()
            }],
            selector,
            cluster_ip: Some(cluster_ip.clone()),
            cluster_i_ps: vec![cluster_ip],
            r#type: some(if load_balancer {
                "LoadBalancer"
            } else {
                "ClusterIP"
            }),
            session_affinity: some("None"),
            ip_families: vec!["IPv4".into()],
            ip_family_policy: some("SingleStack"),
            internal_traffic_policy: some("Cluster"),
            ..Default::default()
        }),
        status: Some(ServiceStatus::default()),
    }
}

pub fn config_map(plan: &Plan, index: u32) -> ConfigMap {
    let object = &plan.config_maps[index as usize];
    let mut rng = Rng::stream(
        plan.options.seed,
        Kind::ConfigMap.stream(),
        u64::from(index),
    );
    let mut data = BTreeMap::new();
    if object.name == "kube-root-ca.crt" {
        data.insert(
            "ca.crt".to_string(),
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                rng.hex(640)
            ),
        );
    } else {
        data.insert("LOG_LEVEL".to_string(), "info".to_string());
        data.insert("FEATURE_FLAGS".to_string(), format!("flag-{}", rng.hex(8)));
        data.insert(
            "config.yaml".to_string(),
            format!("server:\n  port: 8080\n  workers: {}\n", rng.range(2, 16)),
        );
    }
    ConfigMap {
        metadata: Some(
            Meta {
                name: object.name.clone(),
                namespace: Some(&plan.namespaces[object.namespace as usize]),
                uid: plan.uid(Kind::ConfigMap, index),
                resource_version: plan.resource_version(Kind::ConfigMap, index),
                created: CLUSTER_NOW - rng.range(10, 300) as i64 * DAY,
                generation: None,
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                owner: None,
            }
            .build(),
        ),
        data,
        ..Default::default()
    }
}

pub fn secret(plan: &Plan, index: u32) -> Secret {
    let object = &plan.secrets[index as usize];
    let mut rng = Rng::stream(plan.options.seed, Kind::Secret.stream(), u64::from(index));
    let registry = object.workload.is_none();
    let mut data = BTreeMap::new();
    if registry {
        data.insert(".dockerconfigjson".to_string(), rng.hex(96).into_bytes());
    } else {
        data.insert(
            "username".to_string(),
            format!("svc-{}", rng.hex(6)).into_bytes(),
        );
        data.insert("password".to_string(), rng.hex(32).into_bytes());
    }
    Secret {
        metadata: Some(
            Meta {
                name: object.name.clone(),
                namespace: Some(&plan.namespaces[object.namespace as usize]),
                uid: plan.uid(Kind::Secret, index),
                resource_version: plan.resource_version(Kind::Secret, index),
                created: CLUSTER_NOW - rng.range(10, 300) as i64 * DAY,
                generation: None,
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                owner: None,
            }
            .build(),
        ),
        data,
        r#type: some(if registry {
            "kubernetes.io/dockerconfigjson"
        } else {
            "Opaque"
        }),
        ..Default::default()
    }
}
