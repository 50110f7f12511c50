//! Pods: spec from the workload's archetype, status from the planned state.

use std::collections::BTreeMap;

use crate::api::core::v1::{
    Capabilities, ConfigMapProjection, Container, ContainerPort, ContainerState,
    ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    DownwardApiProjection, DownwardApiVolumeFile, EmptyDirVolumeSource, EnvVar, HostIp,
    HttpGetAction, KeyToPath, LocalObjectReference, ObjectFieldSelector, Pod, PodCondition, PodIp,
    PodSecurityContext, PodSpec, PodStatus, Probe, ProbeHandler, ProjectedVolumeSource,
    ResourceRequirements, SecurityContext, ServiceAccountTokenProjection, Toleration, Volume,
    VolumeMount, VolumeProjection, VolumeSource,
};
use crate::api::intstr::IntOrString;
use crate::api::meta::v1::{FieldsV1, ManagedFieldsEntry, ObjectMeta, Time};

use super::catalog::{ARCHETYPES, CLUSTER_NOW, DAEMONSETS, DAY, SIDECAR_IMAGE, TEAMS};
use super::meta::{controller_ref, labels, quantity, some, time, Meta};
use super::plan::{Kind, Plan, PodPlan, PodState, WorkloadKind};
use super::rng::Rng;

/// How a pod differs from its planned initial form (used by the watch churn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodView {
    pub state: PodState,
    pub extra_restarts: i32,
    pub resource_version: u64,
    /// Being deleted: deletionTimestamp set.
    pub deleting: bool,
}

/// The pod's name (stable: derived from the seed and the pod's index only).
pub fn pod_name(plan: &Plan, index: u32, pod: &PodPlan) -> String {
    let workload = &plan.workloads[pod.workload as usize];
    let mut rng = Rng::stream(
        plan.options.seed,
        Kind::Pod.stream() + 200,
        u64::from(index),
    );
    match workload.kind {
        WorkloadKind::StatefulSet => format!("{}-{}", workload.name, pod.ordinal),
        WorkloadKind::Bare => workload.name.clone(),
        WorkloadKind::Deployment => {
            let rs = workload
                .current_replica_set
                .map_or(workload.name.as_str(), |rs| {
                    plan.replica_sets[rs as usize].name.as_str()
                });
            format!("{rs}-{}", rng.name_suffix(5))
        }
        WorkloadKind::DaemonSet | WorkloadKind::Job => {
            format!("{}-{}", workload.name, rng.name_suffix(5))
        }
    }
}

struct ContainerPlan {
    name: String,
    image: String,
    port: i32,
    cpu_milli: u32,
    memory_mib: u32,
    env: Vec<&'static str>,
    health_path: &'static str,
}

fn container_plans(
    plan: &Plan,
    pod: &PodPlan,
    rng: &mut Rng,
) -> (Vec<ContainerPlan>, Vec<ContainerPlan>) {
    let workload = &plan.workloads[pod.workload as usize];
    let mut containers = Vec::new();
    let mut init = Vec::new();
    if workload.kind == WorkloadKind::DaemonSet {
        let ds = &DAEMONSETS[workload.archetype as usize % DAEMONSETS.len()];
        containers.push(ContainerPlan {
            name: ds.name.to_string(),
            image: ds.image.to_string(),
            port: ds.port,
            cpu_milli: ds.cpu_milli,
            memory_mib: ds.memory_mib,
            env: vec!["NODE_NAME", "POD_IP", "LOG_LEVEL"],
            health_path: "/healthz",
        });
        return (containers, init);
    }
    let archetype = &ARCHETYPES[workload.archetype as usize % ARCHETYPES.len()];
    containers.push(ContainerPlan {
        name: archetype.name.to_string(),
        image: archetype.image.to_string(),
        port: archetype.port,
        cpu_milli: archetype.cpu_milli,
        memory_mib: archetype.memory_mib,
        env: archetype.env.to_vec(),
        health_path: archetype.health_path,
    });
    if matches!(archetype.component, "cache" | "database") {
        containers.push(ContainerPlan {
            name: "metrics-exporter".into(),
            image: format!(
                "quay.io/prometheuscommunity/{}-exporter:v0.15.0",
                archetype.name
            ),
            port: 9121,
            cpu_milli: 20,
            memory_mib: 32,
            env: vec!["DATA_SOURCE_NAME"],
            health_path: "/metrics",
        });
    }
    if workload.sidecar {
        containers.push(ContainerPlan {
            name: "istio-proxy".into(),
            image: SIDECAR_IMAGE.into(),
            port: 15090,
            cpu_milli: 100,
            memory_mib: 128,
            env: vec![
                "ISTIO_META_POD_PORTS",
                "ISTIO_META_CLUSTER_ID",
                "PILOT_CERT_PROVIDER",
            ],
            health_path: "/healthz/ready",
        });
        init.push(ContainerPlan {
            name: "istio-init".into(),
            image: SIDECAR_IMAGE.into(),
            port: 0,
            cpu_milli: 10,
            memory_mib: 40,
            env: vec![],
            health_path: "",
        });
    }
    if let Some(image) = archetype.init_image {
        if workload.kind != WorkloadKind::Job && rng.chance(700) {
            init.push(ContainerPlan {
                name: "init-setup".into(),
                image: image.to_string(),
                port: 0,
                cpu_milli: 50,
                memory_mib: 64,
                env: vec!["TARGET_DIR"],
                health_path: "",
            });
        }
    }
    (containers, init)
}

fn container(
    c: &ContainerPlan,
    mounts: &[(String, &str)],
    pod_name: &str,
    rng: &mut Rng,
) -> Container {
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_string(), quantity(format!("{}m", c.cpu_milli)));
    requests.insert(
        "memory".to_string(),
        quantity(format!("{}Mi", c.memory_mib)),
    );
    let mut limits = BTreeMap::new();
    limits.insert(
        "memory".to_string(),
        quantity(format!("{}Mi", c.memory_mib * 2)),
    );
    if rng.chance(400) {
        limits.insert("cpu".to_string(), quantity(format!("{}m", c.cpu_milli * 4)));
    }
    let probe = |initial: i32, period: i32| Probe {
        handler: Some(ProbeHandler {
            http_get: Some(HttpGetAction {
                path: some(c.health_path),
                port: Some(IntOrString {
                    r#type: Some(0),
                    int_val: Some(c.port),
                    str_val: None,
                }),
                scheme: some("HTTP"),
                ..Default::default()
            }),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial),
        timeout_seconds: Some(1),
        period_seconds: Some(period),
        success_threshold: Some(1),
        failure_threshold: Some(3),
        termination_grace_period_seconds: None,
    };
    let serving = c.port != 0;
    Container {
        name: Some(c.name.clone()),
        image: Some(c.image.clone()),
        args: if serving {
            vec![format!("--port={}", c.port), "--log-format=json".into()]
        } else {
            vec!["--setup".into()]
        },
        ports: if serving {
            vec![ContainerPort {
                name: some(if c.name == "istio-proxy" {
                    "http-envoy-prom"
                } else {
                    "http"
                }),
                container_port: Some(c.port),
                protocol: some("TCP"),
                ..Default::default()
            }]
        } else {
            Vec::new()
        },
        env: c
            .env
            .iter()
            .map(|name| EnvVar {
                name: some(*name),
                value: Some(match *name {
                    "LOG_LEVEL" => "info".to_string(),
                    "NODE_NAME" | "POD_NAME" => pod_name.to_string(),
                    _ => format!(
                        "{}-{}",
                        name.to_ascii_lowercase().replace('_', "-"),
                        rng.hex(6)
                    ),
                }),
                value_from: None,
            })
            .collect(),
        resources: Some(ResourceRequirements {
            limits,
            requests,
            claims: Vec::new(),
        }),
        volume_mounts: mounts
            .iter()
            .map(|(name, path)| VolumeMount {
                name: Some(name.clone()),
                read_only: Some(path.starts_with("/var/run")),
                mount_path: some(*path),
                ..Default::default()
            })
            .collect(),
        liveness_probe: serving.then(|| probe(10, 10)),
        readiness_probe: serving.then(|| probe(5, 5)),
        termination_message_path: some("/dev/termination-log"),
        termination_message_policy: some("File"),
        image_pull_policy: some("IfNotPresent"),
        security_context: Some(SecurityContext {
            capabilities: Some(Capabilities {
                add: Vec::new(),
                drop: vec!["ALL".into()],
            }),
            run_as_non_root: Some(true),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn api_access_volume(name: &str) -> Volume {
    let projection = |p: VolumeProjection| p;
    Volume {
        name: some(name),
        volume_source: Some(VolumeSource {
            projected: Some(ProjectedVolumeSource {
                sources: vec![
                    projection(VolumeProjection {
                        service_account_token: Some(ServiceAccountTokenProjection {
                            audience: None,
                            expiration_seconds: Some(3607),
                            path: some("token"),
                        }),
                        ..Default::default()
                    }),
                    projection(VolumeProjection {
                        config_map: Some(ConfigMapProjection {
                            local_object_reference: Some(LocalObjectReference {
                                name: some("kube-root-ca.crt"),
                            }),
                            items: vec![KeyToPath {
                                key: some("ca.crt"),
                                path: some("ca.crt"),
                                mode: None,
                            }],
                            optional: None,
                        }),
                        ..Default::default()
                    }),
                    projection(VolumeProjection {
                        downward_api: Some(DownwardApiProjection {
                            items: vec![DownwardApiVolumeFile {
                                path: some("namespace"),
                                field_ref: Some(ObjectFieldSelector {
                                    api_version: some("v1"),
                                    field_path: some("metadata.namespace"),
                                }),
                                ..Default::default()
                            }],
                        }),
                        ..Default::default()
                    }),
                ],
                default_mode: Some(420),
            }),
            ..Default::default()
        }),
    }
}

fn condition(
    kind: &str,
    status: bool,
    at: i64,
    reason: Option<&str>,
    message: Option<String>,
) -> PodCondition {
    PodCondition {
        r#type: some(kind),
        status: some(if status { "True" } else { "False" }),
        last_probe_time: None,
        last_transition_time: time(at),
        reason: reason.map(str::to_string),
        message,
        observed_generation: None,
    }
}

fn at(seconds: i64) -> Option<Time> {
    time(seconds)
}

/// Builds pod `index` as `view` describes it.
pub fn pod(plan: &Plan, index: u32, planned: &PodPlan, view: &PodView) -> Pod {
    let seed = plan.options.seed;
    let mut rng = Rng::stream(seed, Kind::Pod.stream(), u64::from(index));
    let workload = &plan.workloads[planned.workload as usize];
    let namespace = plan.namespaces[workload.namespace as usize].as_str();
    let name = pod_name(plan, index, planned);
    let state = view.state;

    let workload_created = CLUSTER_NOW - rng.range(30, 300) as i64 * DAY;
    // Drawn from the planned state, not the current one, so the pod keeps its
    // creation time while the watch churn changes its state.
    let created = match planned.state {
        PodState::ContainerCreating | PodState::Unschedulable | PodState::ImagePullBackOff => {
            CLUSTER_NOW - rng.range(20, 1800) as i64
        }
        _ => (CLUSTER_NOW - rng.range(600, 40 * DAY as u64) as i64).max(workload_created),
    };
    let started = created + rng.range(2, 20) as i64;

    // Labels: 5 to 8, as Helm charts and controllers set them.
    let app = match workload.kind {
        WorkloadKind::DaemonSet => workload.name.clone(),
        _ => ARCHETYPES[workload.archetype as usize % ARCHETYPES.len()]
            .name
            .to_string(),
    };
    let component = match workload.kind {
        WorkloadKind::DaemonSet => "agent",
        _ => ARCHETYPES[workload.archetype as usize % ARCHETYPES.len()].component,
    };
    let mut pod_labels = labels([
        ("app.kubernetes.io/name", app.clone()),
        ("app.kubernetes.io/instance", workload.name.clone()),
        ("app.kubernetes.io/component", component.to_string()),
        ("app.kubernetes.io/part-of", namespace.to_string()),
        ("team", rng.pick(TEAMS).to_string()),
    ]);
    let mut owner = None;
    let owner_uid = |kind: Kind, i: u32| plan.uid(kind, i);
    match workload.kind {
        WorkloadKind::Deployment => {
            if let Some(rs) = workload.current_replica_set {
                let rs_plan = &plan.replica_sets[rs as usize];
                pod_labels.insert("pod-template-hash".into(), rs_plan.template_hash.clone());
                owner = Some(controller_ref(
                    "apps/v1",
                    "ReplicaSet",
                    &rs_plan.name,
                    owner_uid(Kind::ReplicaSet, rs),
                ));
            }
        }
        WorkloadKind::StatefulSet => {
            pod_labels.insert("statefulset.kubernetes.io/pod-name".into(), name.clone());
            pod_labels.insert(
                "controller-revision-hash".into(),
                format!("{}-{}", workload.name, rng.name_suffix(10)),
            );
            pod_labels.insert(
                "apps.kubernetes.io/pod-index".into(),
                planned.ordinal.to_string(),
            );
            owner = Some(controller_ref(
                "apps/v1",
                "StatefulSet",
                &workload.name,
                owner_uid(Kind::StatefulSet, workload.index),
            ));
        }
        WorkloadKind::DaemonSet => {
            pod_labels.insert("controller-revision-hash".into(), rng.name_suffix(10));
            pod_labels.insert(
                "pod-template-generation".into(),
                rng.range(1, 9).to_string(),
            );
            owner = Some(controller_ref(
                "apps/v1",
                "DaemonSet",
                &workload.name,
                owner_uid(Kind::DaemonSet, workload.index),
            ));
        }
        WorkloadKind::Job => {
            let uid = owner_uid(Kind::Job, workload.index);
            pod_labels.insert("batch.kubernetes.io/job-name".into(), workload.name.clone());
            pod_labels.insert("batch.kubernetes.io/controller-uid".into(), uid.clone());
            owner = Some(controller_ref("batch/v1", "Job", &workload.name, uid));
        }
        WorkloadKind::Bare => {
            pod_labels.insert("run".into(), workload.name.clone());
        }
    }
    let mut annotations = BTreeMap::new();
    annotations.insert("prometheus.io/scrape".to_string(), "true".to_string());
    annotations.insert("checksum/config".to_string(), rng.hex(64));
    if workload.sidecar {
        annotations.insert("sidecar.istio.io/status".to_string(), r#"{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["istio-envoy","istio-data"]}"#.to_string());
    }
    if state == PodState::Evicted {
        annotations.remove("checksum/config");
    }

    let (container_plans, init_plans) = container_plans(plan, planned, &mut rng);
    let api_volume = format!("kube-api-access-{}", rng.name_suffix(5));
    let mounts = [
        (
            api_volume.clone(),
            "/var/run/secrets/kubernetes.io/serviceaccount",
        ),
        ("data".to_string(), "/data"),
    ];
    let containers: Vec<Container> = container_plans
        .iter()
        .map(|c| container(c, &mounts, &name, &mut rng))
        .collect();
    let init_containers: Vec<Container> = init_plans
        .iter()
        .map(|c| container(c, &mounts[..1], &name, &mut rng))
        .collect();

    let node = planned.node.map(|n| &plan.nodes[n as usize]);
    let node_name = if state.has_node() {
        node.map(|n| n.name.clone())
    } else {
        None
    };
    let daemon = workload.kind == WorkloadKind::DaemonSet;
    let tolerations = if daemon {
        vec![Toleration {
            operator: some("Exists"),
            ..Default::default()
        }]
    } else {
        [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ]
        .iter()
        .map(|key| Toleration {
            key: some(*key),
            operator: some("Exists"),
            effect: some("NoExecute"),
            toleration_seconds: Some(300),
            ..Default::default()
        })
        .collect()
    };
    let spec = PodSpec {
        volumes: vec![
            api_access_volume(&api_volume),
            Volume {
                name: some("data"),
                volume_source: Some(VolumeSource {
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Default::default()
                }),
            },
        ],
        init_containers,
        containers,
        restart_policy: some(if workload.kind == WorkloadKind::Job {
            "Never"
        } else {
            "Always"
        }),
        termination_grace_period_seconds: Some(30),
        dns_policy: some("ClusterFirst"),
        service_account_name: some(if daemon {
            workload.name.as_str()
        } else {
            "default"
        }),
        service_account: some(if daemon {
            workload.name.as_str()
        } else {
            "default"
        }),
        node_name,
        host_network: daemon.then_some(true),
        security_context: Some(PodSecurityContext {
            run_as_user: Some(65532),
            fs_group: Some(65532),
            ..Default::default()
        }),
        scheduler_name: some("default-scheduler"),
        tolerations,
        priority_class_name: daemon.then(|| "system-node-critical".to_string()),
        priority: Some(if daemon { 2_000_001_000 } else { 0 }),
        enable_service_links: Some(true),
        preemption_policy: some("PreemptLowerPriority"),
        ..Default::default()
    };

    let status = pod_status(plan, planned, view, &spec, created, started, &mut rng);
    let mut metadata = Meta {
        name,
        namespace: Some(namespace),
        uid: plan.uid(Kind::Pod, index),
        resource_version: view.resource_version,
        created,
        generation: Some(1),
        labels: pod_labels,
        annotations,
        owner,
    }
    .build();
    let manager = match workload.kind {
        WorkloadKind::Bare => "kubectl-run",
        _ => "kube-controller-manager",
    };
    metadata.managed_fields = managed_fields(&metadata, &spec, &status, created, manager);
    if view.deleting {
        metadata.deletion_timestamp = time(CLUSTER_NOW + 30);
        metadata.deletion_grace_period_seconds = Some(30);
    }
    Pod {
        metadata: Some(metadata),
        spec: Some(spec),
        status: Some(status),
    }
}

fn container_id(rng: &mut Rng) -> String {
    format!("containerd://{}", rng.hex(64))
}

fn image_id(image: &str, rng: &mut Rng) -> String {
    let repo = image.split(':').next().unwrap_or(image);
    format!("{repo}@sha256:{}", rng.hex(64))
}

fn running(since: i64) -> ContainerState {
    ContainerState {
        running: Some(ContainerStateRunning {
            started_at: at(since),
        }),
        ..Default::default()
    }
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: some(reason),
            message,
        }),
        ..Default::default()
    }
}

fn terminated(
    exit_code: i32,
    reason: &str,
    started: i64,
    finished: i64,
    id: String,
) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: Some(exit_code),
            signal: None,
            reason: some(reason),
            message: None,
            started_at: at(started),
            finished_at: at(finished),
            container_id: Some(id),
        }),
        ..Default::default()
    }
}

fn pod_status(
    plan: &Plan,
    planned: &PodPlan,
    view: &PodView,
    spec: &PodSpec,
    created: i64,
    started: i64,
    rng: &mut Rng,
) -> PodStatus {
    let state = view.state;
    let base_restarts = if rng.chance(150) {
        rng.range(1, 4) as i32
    } else {
        0
    };
    let last_change = CLUSTER_NOW - rng.range(60, 3 * DAY as u64) as i64;
    let scheduled = state.has_node();
    let ready = state.is_ready();
    let pending_on_node = matches!(
        state,
        PodState::ContainerCreating | PodState::ImagePullBackOff
    );
    let initialized = !pending_on_node || spec.init_containers.is_empty();

    let mut conditions = Vec::new();
    if scheduled {
        conditions.push(condition(
            "PodReadyToStartContainers",
            !pending_on_node && state != PodState::Evicted,
            started,
            None,
            None,
        ));
        conditions.push(condition("Initialized", initialized, started, None, None));
        let (reason, message) = match state {
            s if s.is_ready() => (None, None),
            PodState::Completed | PodState::Failed => (Some("PodCompleted"), None),
            _ => (
                Some("ContainersNotReady"),
                Some(
                    "containers with unready status: [".to_string()
                        + spec
                            .containers
                            .first()
                            .and_then(|c| c.name.as_deref())
                            .unwrap_or("")
                        + "]",
                ),
            ),
        };
        conditions.push(condition(
            "Ready",
            ready,
            last_change,
            reason,
            message.clone(),
        ));
        conditions.push(condition(
            "ContainersReady",
            ready,
            last_change,
            reason,
            message,
        ));
        conditions.push(condition("PodScheduled", true, created + 1, None, None));
    } else {
        let nodes = plan.nodes.len();
        conditions.push(condition(
            "PodScheduled",
            false,
            created + 1,
            Some("Unschedulable"),
            Some(format!(
                "0/{nodes} nodes are available: {nodes} Insufficient memory. preemption: 0/{nodes} nodes are available: {nodes} No preemption victims found for incoming pod."
            )),
        ));
    }

    let node = planned.node.map(|n| &plan.nodes[n as usize]);
    let node_octets = planned.node.unwrap_or(0);
    let host_ip = format!(
        "10.{}.{}.{}",
        20 + (node_octets >> 16) % 200,
        (node_octets >> 8) & 0xff,
        node_octets & 0xff
    );
    let pod_ip = format!(
        "100.{}.{}.{}",
        64 + (node_octets >> 8) % 64,
        node_octets & 0xff,
        rng.range(2, 254)
    );
    let daemon = plan.workloads[planned.workload as usize].kind == WorkloadKind::DaemonSet;
    let pod_ip = if daemon { host_ip.clone() } else { pod_ip };

    let statuses: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let image = c.image.clone().unwrap_or_default();
            let first = i == 0;
            let mut restarts = base_restarts + if first { view.extra_restarts } else { 0 };
            let (current, last, is_ready) = match state {
                PodState::Running => {
                    let last = (restarts > 0).then(|| {
                        terminated(137, "Error", started, last_change - 5, container_id(rng))
                    });
                    (
                        running(if restarts > 0 { last_change } else { started }),
                        last,
                        true,
                    )
                }
                PodState::OomRestarted if !first => {
                    let last = (restarts > 0).then(|| {
                        terminated(137, "Error", started, last_change - 5, container_id(rng))
                    });
                    (
                        running(if restarts > 0 { last_change } else { started }),
                        last,
                        true,
                    )
                }
                PodState::OomRestarted => {
                    restarts += rng.range(1, 6) as i32;
                    (
                        running(last_change),
                        Some(terminated(
                            137,
                            "OOMKilled",
                            started,
                            last_change - 3,
                            container_id(rng),
                        )),
                        true,
                    )
                }
                PodState::RunningNotReady => (running(started), None, !first),
                PodState::CrashLoop if first => {
                    restarts += rng.range(5, 80) as i32;
                    (
                        waiting(
                            "CrashLoopBackOff",
                            Some(format!(
                                "back-off 5m0s restarting failed container={} pod=...",
                                c.name.as_deref().unwrap_or("")
                            )),
                        ),
                        Some(terminated(
                            1,
                            "Error",
                            last_change - 40,
                            last_change,
                            container_id(rng),
                        )),
                        false,
                    )
                }
                PodState::CrashLoop => (running(started), None, true),
                PodState::ContainerCreating => (waiting("ContainerCreating", None), None, false),
                PodState::ImagePullBackOff => (
                    waiting(
                        "ImagePullBackOff",
                        Some(format!("Back-off pulling image \"{image}\"")),
                    ),
                    None,
                    false,
                ),
                PodState::Unschedulable => (waiting("ContainerCreating", None), None, false),
                PodState::Completed => (
                    terminated(
                        0,
                        "Completed",
                        started,
                        started + rng.range(5, 900) as i64,
                        container_id(rng),
                    ),
                    None,
                    false,
                ),
                PodState::Failed => (
                    terminated(
                        1,
                        "Error",
                        started,
                        started + rng.range(5, 900) as i64,
                        container_id(rng),
                    ),
                    None,
                    false,
                ),
                PodState::Evicted => (
                    terminated(
                        137,
                        "ContainerStatusUnknown",
                        started,
                        last_change,
                        container_id(rng),
                    ),
                    None,
                    false,
                ),
            };
            let has_container = !matches!(
                state,
                PodState::ContainerCreating | PodState::ImagePullBackOff
            );
            ContainerStatus {
                name: c.name.clone(),
                state: Some(current),
                last_state: Some(last.unwrap_or_default()),
                ready: Some(is_ready),
                restart_count: Some(restarts),
                image_id: has_container.then(|| image_id(&image, rng)),
                image: Some(image),
                container_id: has_container.then(|| container_id(rng)),
                started: Some(is_ready || matches!(state, PodState::RunningNotReady)),
                ..Default::default()
            }
        })
        .collect();
    let init_statuses: Vec<ContainerStatus> = spec
        .init_containers
        .iter()
        .map(|c| {
            let image = c.image.clone().unwrap_or_default();
            let (current, done) = if initialized {
                (
                    terminated(0, "Completed", started, started + 2, container_id(rng)),
                    true,
                )
            } else {
                (waiting("PodInitializing", None), false)
            };
            ContainerStatus {
                name: c.name.clone(),
                state: Some(current),
                last_state: Some(ContainerState::default()),
                ready: Some(done),
                restart_count: Some(0),
                image_id: done.then(|| image_id(&image, rng)),
                image: Some(image),
                container_id: done.then(|| container_id(rng)),
                started: Some(false),
                ..Default::default()
            }
        })
        .collect();

    let (phase, reason, message) = match state {
        PodState::Unschedulable | PodState::ContainerCreating | PodState::ImagePullBackOff => ("Pending", None, None),
        PodState::Completed => ("Succeeded", None, None),
        PodState::Failed => ("Failed", None, None),
        PodState::Evicted => (
            "Failed",
            some("Evicted"),
            Some(format!(
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: {}Ki. Container {} was using {}Ki, request is 0, has larger consumption of memory.",
                rng.range(10_000, 99_000),
                spec.containers.first().and_then(|c| c.name.as_deref()).unwrap_or(""),
                rng.range(500_000, 4_000_000)
            )),
        ),
        _ => ("Running", None, None),
    };
    let guaranteed = spec.containers.iter().all(|c| {
        c.resources
            .as_ref()
            .is_some_and(|r| r.limits.contains_key("cpu") && r.limits.len() == r.requests.len())
    });
    PodStatus {
        phase: some(phase),
        conditions,
        message,
        reason,
        host_ip: node.filter(|_| scheduled).map(|_| host_ip.clone()),
        host_i_ps: if scheduled {
            vec![HostIp { ip: Some(host_ip) }]
        } else {
            Vec::new()
        },
        pod_ip: (scheduled && !pending_on_node).then(|| pod_ip.clone()),
        pod_i_ps: if scheduled && !pending_on_node {
            vec![PodIp { ip: Some(pod_ip) }]
        } else {
            Vec::new()
        },
        start_time: if scheduled { at(created + 1) } else { None },
        init_container_statuses: if scheduled { init_statuses } else { Vec::new() },
        container_statuses: if scheduled { statuses } else { Vec::new() },
        qos_class: some(if guaranteed {
            "Guaranteed"
        } else {
            "Burstable"
        }),
        ..Default::default()
    }
}

/// `managedFields` as the controller (spec) and the kubelet (status) leave them: a
/// large, realistic share of a real pod's bytes.
fn managed_fields(
    metadata: &ObjectMeta,
    spec: &PodSpec,
    status: &PodStatus,
    created: i64,
    manager: &str,
) -> Vec<ManagedFieldsEntry> {
    let keys = |map: &BTreeMap<String, String>| {
        map.keys()
            .map(|k| format!(",\"f:{k}\":{{}}"))
            .collect::<String>()
    };
    let owners: String = metadata
        .owner_references
        .iter()
        .map(|o| {
            format!(
                ",\"k:{{\\\"uid\\\":\\\"{}\\\"}}\":{{}}",
                o.uid.as_deref().unwrap_or("")
            )
        })
        .collect();
    let containers: Vec<String> = spec
        .containers
        .iter()
        .map(|c| {
            format!(
                "\"k:{{\\\"name\\\":\\\"{}\\\"}}\":{{\".\":{{}},\"f:args\":{{}},\"f:env\":{{}},\"f:image\":{{}},\"f:imagePullPolicy\":{{}},\"f:livenessProbe\":{{}},\"f:name\":{{}},\"f:readinessProbe\":{{}},\"f:resources\":{{\".\":{{}},\"f:limits\":{{}},\"f:requests\":{{}}}},\"f:securityContext\":{{}},\"f:terminationMessagePath\":{{}},\"f:terminationMessagePolicy\":{{}},\"f:volumeMounts\":{{}}}}",
                c.name.as_deref().unwrap_or("")
            )
        })
        .collect();
    let spec_fields = format!(
        "{{\"f:metadata\":{{\"f:annotations\":{{\".\":{{}}{}}},\"f:generateName\":{{}},\"f:labels\":{{\".\":{{}}{}}},\"f:ownerReferences\":{{\".\":{{}}{owners}}}}},\"f:spec\":{{\"f:containers\":{{{}}},\"f:dnsPolicy\":{{}},\"f:enableServiceLinks\":{{}},\"f:restartPolicy\":{{}},\"f:schedulerName\":{{}},\"f:securityContext\":{{}},\"f:terminationGracePeriodSeconds\":{{}},\"f:volumes\":{{}}}}}}",
        keys(&metadata.annotations),
        keys(&metadata.labels),
        containers.join(",")
    );
    let conditions: String = status
        .conditions
        .iter()
        .map(|c| format!("\"k:{{\\\"type\\\":\\\"{}\\\"}}\":{{\".\":{{}},\"f:lastProbeTime\":{{}},\"f:lastTransitionTime\":{{}},\"f:status\":{{}},\"f:type\":{{}}}}", c.r#type.as_deref().unwrap_or("")))
        .collect::<Vec<_>>()
        .join(",");
    let status_fields = format!(
        "{{\"f:status\":{{\"f:conditions\":{{{conditions}}},\"f:containerStatuses\":{{}},\"f:hostIP\":{{}},\"f:hostIPs\":{{}},\"f:initContainerStatuses\":{{}},\"f:phase\":{{}},\"f:podIP\":{{}},\"f:podIPs\":{{\".\":{{}},\"k:{{\\\"ip\\\":\\\"{}\\\"}}\":{{\".\":{{}},\"f:ip\":{{}}}}}},\"f:startTime\":{{}}}}}}",
        status.pod_ip.as_deref().unwrap_or("")
    );
    let entry =
        |manager: &str, fields: String, subresource: Option<&str>, at: i64| ManagedFieldsEntry {
            manager: some(manager),
            operation: some("Update"),
            api_version: some("v1"),
            time: time(at),
            fields_type: some("FieldsV1"),
            fields_v1: Some(FieldsV1 {
                raw: Some(fields.into_bytes().into()),
            }),
            subresource: subresource.map(str::to_string),
        };
    let mut entries = vec![entry(manager, spec_fields, None, created)];
    if status.start_time.is_some() {
        entries.push(entry("kubelet", status_fields, Some("status"), created + 5));
    }
    entries
}
