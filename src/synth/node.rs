//! Nodes: labels, taints, capacity, conditions and system info for the planned role
//! and health.

use std::collections::BTreeMap;

use crate::api::core::v1::{
    ContainerImage, DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints,
    NodeSpec, NodeStatus, NodeSystemInfo, Taint,
};

use super::catalog::{CLUSTER_NOW, DAY, INSTANCE_TYPES, NODE_IMAGES, REGION, ZONES};
use super::meta::{labels, quantity, some, time, Meta};
use super::plan::{Kind, NodeHealth, NodeRole, Plan};
use super::rng::Rng;

/// How a node differs from its planned form (used by the watch churn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeView {
    pub health: NodeHealth,
    pub resource_version: u64,
    /// When its health last changed, if the churn changed it.
    pub changed_at: Option<i64>,
}

fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
    Taint {
        key: some(key),
        value: value.map(str::to_string),
        effect: some(effect),
        time_added: None,
    }
}

fn node_condition(
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    heartbeat: i64,
    transition: i64,
) -> NodeCondition {
    NodeCondition {
        r#type: some(kind),
        status: some(status),
        last_heartbeat_time: time(heartbeat),
        last_transition_time: time(transition),
        reason: some(reason),
        message: some(message),
    }
}

pub fn node(plan: &Plan, index: u32, view: &NodeView) -> Node {
    let planned = &plan.nodes[index as usize];
    let mut rng = Rng::stream(plan.options.seed, Kind::Node.stream(), u64::from(index));
    let (instance_type, cores, memory_gib) =
        INSTANCE_TYPES[planned.instance_type as usize % INSTANCE_TYPES.len()];
    let (instance_type, cores, memory_gib) = if planned.role == NodeRole::Gpu {
        INSTANCE_TYPES[5]
    } else {
        (instance_type, cores, memory_gib)
    };
    let zone = ZONES[planned.zone as usize % ZONES.len()];
    let created = CLUSTER_NOW - rng.range(2, 300) as i64 * DAY;
    let name = planned.name.clone();

    let mut node_labels = labels([
        ("beta.kubernetes.io/arch", "amd64".to_string()),
        ("beta.kubernetes.io/os", "linux".to_string()),
        ("kubernetes.io/arch", "amd64".to_string()),
        ("kubernetes.io/os", "linux".to_string()),
        ("kubernetes.io/hostname", name.clone()),
        (
            "node.kubernetes.io/instance-type",
            instance_type.to_string(),
        ),
        (
            "beta.kubernetes.io/instance-type",
            instance_type.to_string(),
        ),
        ("topology.kubernetes.io/region", REGION.to_string()),
        ("topology.kubernetes.io/zone", zone.to_string()),
        ("failure-domain.beta.kubernetes.io/zone", zone.to_string()),
    ]);
    let role = match planned.role {
        NodeRole::ControlPlane => "control-plane",
        NodeRole::Worker => "worker",
        NodeRole::Gpu => "gpu",
        NodeRole::Infra => "infra",
    };
    node_labels.insert(format!("node-role.kubernetes.io/{role}"), String::new());
    node_labels.insert(
        "node.example.com/pool".into(),
        format!("{role}-pool-{}", index % 4),
    );

    let mut annotations = BTreeMap::new();
    annotations.insert("node.alpha.kubernetes.io/ttl".to_string(), "0".to_string());
    annotations.insert(
        "volumes.kubernetes.io/controller-managed-attach-detach".to_string(),
        "true".to_string(),
    );
    annotations.insert(
        "kubeadm.alpha.kubernetes.io/cri-socket".to_string(),
        "unix:///run/containerd/containerd.sock".to_string(),
    );

    let mut taints = Vec::new();
    match planned.role {
        NodeRole::ControlPlane => taints.push(taint(
            "node-role.kubernetes.io/control-plane",
            None,
            "NoSchedule",
        )),
        NodeRole::Gpu => taints.push(taint("nvidia.com/gpu", Some("present"), "NoSchedule")),
        NodeRole::Infra => taints.push(taint("dedicated", Some("infra"), "NoSchedule")),
        NodeRole::Worker => {}
    }
    let health = view.health;
    let mut unschedulable = None;
    match health {
        NodeHealth::NotReady => {
            taints.push(taint("node.kubernetes.io/unreachable", None, "NoExecute"));
            taints.push(taint("node.kubernetes.io/unreachable", None, "NoSchedule"));
        }
        NodeHealth::MemoryPressure => taints.push(taint(
            "node.kubernetes.io/memory-pressure",
            None,
            "NoSchedule",
        )),
        NodeHealth::DiskPressure => taints.push(taint(
            "node.kubernetes.io/disk-pressure",
            None,
            "NoSchedule",
        )),
        NodeHealth::Cordoned => {
            unschedulable = Some(true);
            taints.push(taint(
                "node.kubernetes.io/unschedulable",
                None,
                "NoSchedule",
            ));
        }
        NodeHealth::Ready => {}
    }

    let mut capacity = BTreeMap::new();
    capacity.insert("cpu".to_string(), quantity(cores.to_string()));
    capacity.insert(
        "memory".to_string(),
        quantity(format!(
            "{}Ki",
            u64::from(memory_gib) * 1024 * 1024 - 327_680
        )),
    );
    capacity.insert("pods".to_string(), quantity("110"));
    capacity.insert("ephemeral-storage".to_string(), quantity("104845292Ki"));
    capacity.insert("hugepages-1Gi".to_string(), quantity("0"));
    capacity.insert("hugepages-2Mi".to_string(), quantity("0"));
    let mut allocatable = capacity.clone();
    allocatable.insert(
        "cpu".to_string(),
        quantity(format!("{}m", cores * 1000 - 90)),
    );
    allocatable.insert(
        "memory".to_string(),
        quantity(format!(
            "{}Ki",
            u64::from(memory_gib) * 1024 * 1024 - 1_800_000
        )),
    );
    allocatable.insert("ephemeral-storage".to_string(), quantity("96625420948"));
    if planned.role == NodeRole::Gpu {
        capacity.insert("nvidia.com/gpu".to_string(), quantity("1"));
        allocatable.insert("nvidia.com/gpu".to_string(), quantity("1"));
    }

    let heartbeat = view.changed_at.unwrap_or(CLUSTER_NOW) - rng.range(0, 40) as i64;
    let past_change = CLUSTER_NOW - rng.range(600, 20 * DAY as u64) as i64;
    let changed = view.changed_at.unwrap_or(past_change);
    let booted = view.changed_at.unwrap_or(created + 60);
    let pressure =
        |kind: &str, on: bool, ok_reason: &str, bad_reason: &str, ok: &str, bad: &str| {
            if health == NodeHealth::NotReady {
                node_condition(
                    kind,
                    "Unknown",
                    "NodeStatusUnknown",
                    "Kubelet stopped posting node status.",
                    heartbeat - 600,
                    changed,
                )
            } else if on {
                node_condition(kind, "True", bad_reason, bad, heartbeat, changed)
            } else {
                node_condition(kind, "False", ok_reason, ok, heartbeat, booted)
            }
        };
    let conditions = vec![
        pressure(
            "MemoryPressure",
            health == NodeHealth::MemoryPressure,
            "KubeletHasSufficientMemory",
            "KubeletHasInsufficientMemory",
            "kubelet has sufficient memory available",
            "kubelet has insufficient memory available",
        ),
        pressure(
            "DiskPressure",
            health == NodeHealth::DiskPressure,
            "KubeletHasNoDiskPressure",
            "KubeletHasDiskPressure",
            "kubelet has no disk pressure",
            "kubelet has disk pressure",
        ),
        pressure(
            "PIDPressure",
            false,
            "KubeletHasSufficientPID",
            "KubeletHasInsufficientPID",
            "kubelet has sufficient PID available",
            "kubelet has insufficient PID available",
        ),
        if health == NodeHealth::NotReady {
            node_condition(
                "Ready",
                "Unknown",
                "NodeStatusUnknown",
                "Kubelet stopped posting node status.",
                heartbeat - 600,
                changed,
            )
        } else {
            node_condition(
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status",
                heartbeat,
                booted,
            )
        },
    ];

    let octets = format!(
        "{}.{}.{}",
        20 + (index >> 16) % 200,
        (index >> 8) & 0xff,
        index & 0xff
    );
    let mut addresses = vec![
        NodeAddress {
            r#type: some("InternalIP"),
            address: Some(format!("10.{octets}")),
        },
        NodeAddress {
            r#type: some("Hostname"),
            address: Some(name.clone()),
        },
        NodeAddress {
            r#type: some("InternalDNS"),
            address: Some(format!("{name}.{REGION}.compute.internal")),
        },
    ];
    if planned.role == NodeRole::Infra {
        addresses.push(NodeAddress {
            r#type: some("ExternalIP"),
            address: Some(format!("203.0.{}.{}", (index >> 8) & 0xff, index & 0xff)),
        });
    }
    let mut images = Vec::new();
    for (image, size) in NODE_IMAGES {
        if !rng.chance(800) {
            continue;
        }
        let repo = image.split(':').next().unwrap_or(image);
        images.push(ContainerImage {
            names: vec![format!("{repo}@sha256:{}", rng.hex(64)), image.to_string()],
            size_bytes: Some(*size),
        });
    }
    let cidr = format!("100.{}.{}.0/24", 64 + (index >> 8) % 64, index & 0xff);

    Node {
        metadata: Some(
            Meta {
                name: name.clone(),
                namespace: None,
                uid: plan.uid(Kind::Node, index),
                resource_version: view.resource_version,
                created,
                generation: None,
                labels: node_labels,
                annotations,
                owner: None,
            }
            .build(),
        ),
        spec: Some(NodeSpec {
            pod_cidr: Some(cidr.clone()),
            pod_cid_rs: vec![cidr],
            provider_id: Some(format!("aws:///{zone}/i-0{}", rng.hex(16))),
            unschedulable,
            taints,
            ..Default::default()
        }),
        status: Some(NodeStatus {
            capacity,
            allocatable,
            conditions,
            addresses,
            daemon_endpoints: Some(NodeDaemonEndpoints {
                kubelet_endpoint: Some(DaemonEndpoint { port: Some(10250) }),
            }),
            node_info: Some(NodeSystemInfo {
                machine_id: Some(rng.hex(32)),
                system_uuid: Some(rng.uuid()),
                boot_id: Some(rng.uuid()),
                kernel_version: some("6.1.94-99.176.amzn2023.x86_64"),
                os_image: some("Amazon Linux 2023.5.20240624"),
                container_runtime_version: some("containerd://1.7.20"),
                kubelet_version: some("v1.35.0"),
                kube_proxy_version: some("v1.35.0"),
                operating_system: some("linux"),
                architecture: some("amd64"),
                swap: None,
            }),
            images,
            ..Default::default()
        }),
    }
}
