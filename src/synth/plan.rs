//! The cluster's shape, decided up front and kept small: which nodes, namespaces and
//! controllers exist, and for every pod its controller, node and state. Objects are
//! built from this one at a time when they are written, so a 150,000-pod cluster
//! never sits in memory as objects.

use super::catalog::{ARCHETYPES, DAEMONSETS, NAMESPACE_WORDS};
use super::rng::Rng;

/// Sizes and knobs of a synthetic cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    pub nodes: u32,
    pub pods_per_node: u32,
    pub seed: u64,
    /// Watch events per 1,000 pods (pods and nodes churn in proportion).
    pub churn_per_mille: u32,
    /// Also write JSON twins of every list and watch.
    pub json: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            nodes: 3,
            pods_per_node: 10,
            seed: 1,
            churn_per_mille: 20,
            json: false,
        }
    }
}

/// Every generated object kind, in the order resourceVersions are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Namespace,
    Node,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    Service,
    ConfigMap,
    Secret,
    Pod,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Namespace,
        Kind::Node,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Job,
        Kind::Service,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::Pod,
    ];

    /// Plural as in URLs and the generated resource table.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Node => "nodes",
            Kind::Deployment => "deployments",
            Kind::ReplicaSet => "replicasets",
            Kind::StatefulSet => "statefulsets",
            Kind::DaemonSet => "daemonsets",
            Kind::Job => "jobs",
            Kind::Service => "services",
            Kind::ConfigMap => "configmaps",
            Kind::Secret => "secrets",
            Kind::Pod => "pods",
        }
    }

    /// Separates the random streams of different kinds.
    pub fn stream(self) -> u64 {
        self as u64 + 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    ControlPlane,
    Worker,
    Gpu,
    Infra,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeHealth {
    Ready,
    NotReady,
    MemoryPressure,
    DiskPressure,
    Cordoned,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodePlan {
    pub name: String,
    pub role: NodeRole,
    pub zone: u8,
    pub instance_type: u8,
    pub health: NodeHealth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    /// Pods created directly, without a controller.
    Bare,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub kind: WorkloadKind,
    /// Index of the object among its kind (uid and resourceVersion derive from it).
    pub index: u32,
    pub namespace: u32,
    pub name: String,
    /// Index into `catalog::ARCHETYPES`, or into `catalog::DAEMONSETS` for DaemonSets.
    pub archetype: u32,
    pub first_pod: u32,
    pub pod_count: u32,
    /// ReplicaSet owning the pods (Deployments only).
    pub current_replica_set: Option<u32>,
    pub sidecar: bool,
    pub ready_pods: u32,
    pub succeeded_pods: u32,
    pub failed_pods: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSetPlan {
    pub deployment: u32,
    pub name: String,
    pub template_hash: String,
    pub replicas: u32,
    pub revision: u32,
}

/// What a pod is doing, which decides its phase, conditions and container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PodState {
    Running,
    /// Running, a readiness probe failing.
    RunningNotReady,
    /// Running phase, one container in CrashLoopBackOff (last terminated: Error).
    CrashLoop,
    /// Running again after being OOMKilled.
    OomRestarted,
    /// Pending, no node fits: PodScheduled=False, reason Unschedulable.
    Unschedulable,
    /// Pending on a node, containers waiting in ContainerCreating.
    ContainerCreating,
    /// Pending on a node, image cannot be pulled.
    ImagePullBackOff,
    /// Failed, reason Evicted.
    Evicted,
    /// Succeeded (job pods): containers terminated Completed.
    Completed,
    /// Failed (job pods): containers terminated Error.
    Failed,
}

impl PodState {
    pub fn is_ready(self) -> bool {
        matches!(self, PodState::Running | PodState::OomRestarted)
    }

    pub fn has_node(self) -> bool {
        !matches!(self, PodState::Unschedulable)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PodPlan {
    pub workload: u32,
    /// Position among the workload's pods (StatefulSet ordinal, DaemonSet node).
    pub ordinal: u32,
    pub node: Option<u32>,
    pub state: PodState,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedObject {
    pub namespace: u32,
    pub name: String,
    /// The workload it belongs to, if any.
    pub workload: Option<u32>,
}

/// The whole cluster, as indices and names.
#[derive(Debug, Clone)]
pub struct Plan {
    pub options: SynthOptions,
    pub namespaces: Vec<String>,
    pub nodes: Vec<NodePlan>,
    pub workloads: Vec<Workload>,
    pub replica_sets: Vec<ReplicaSetPlan>,
    pub pods: Vec<PodPlan>,
    pub services: Vec<NamedObject>,
    pub config_maps: Vec<NamedObject>,
    pub secrets: Vec<NamedObject>,
    /// Objects per kind, in `Kind::ALL` order (filled once the plan is complete).
    counts: [usize; 11],
}

/// Namespaces every cluster has; app namespaces follow.
pub const SYSTEM_NAMESPACES: [&str; 5] = [
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "monitoring",
];
const KUBE_SYSTEM: u32 = 1;
const MONITORING: u32 = 4;

/// resourceVersion of the first object; lower ones look odd in a real cluster.
pub const FIRST_RESOURCE_VERSION: u64 = 1000;

impl Plan {
    pub fn new(options: SynthOptions) -> Plan {
        let seed = options.seed;
        let mut plan = Plan {
            options,
            namespaces: SYSTEM_NAMESPACES.iter().map(|s| s.to_string()).collect(),
            nodes: Vec::new(),
            workloads: Vec::new(),
            replica_sets: Vec::new(),
            pods: Vec::new(),
            services: Vec::new(),
            config_maps: Vec::new(),
            secrets: Vec::new(),
            counts: [0; 11],
        };
        let mut rng = Rng::stream(seed, 0, 0);
        plan.add_namespaces(&mut rng);
        plan.add_nodes(&mut rng);
        plan.add_daemonsets();
        plan.add_app_workloads(&mut rng);
        plan.place_and_state_pods();
        plan.add_replica_sets(&mut rng);
        plan.add_services_configs_secrets(&mut rng);
        for kind in Kind::ALL {
            plan.counts[kind as usize] = plan.count_objects(kind);
        }
        plan
    }

    fn add_namespaces(&mut self, rng: &mut Rng) {
        let count = (self.options.nodes / 20).max(3);
        for i in 0..count {
            let word = rng.pick(NAMESPACE_WORDS);
            self.namespaces.push(format!("{word}-{i}"));
        }
    }

    fn app_namespaces(&self) -> std::ops::Range<u32> {
        SYSTEM_NAMESPACES.len() as u32..self.namespaces.len() as u32
    }

    fn add_nodes(&mut self, rng: &mut Rng) {
        let n = self.options.nodes;
        let control_planes = match n {
            0..=2 => 0,
            3..=9 => 1,
            _ => 3,
        };
        for i in 0..n {
            let role = if i < control_planes {
                NodeRole::ControlPlane
            } else if rng.chance(50) {
                NodeRole::Gpu
            } else if rng.chance(50) {
                NodeRole::Infra
            } else {
                NodeRole::Worker
            };
            let health = match rng.below(1000) {
                0..=9 => NodeHealth::NotReady,
                10..=14 => NodeHealth::MemoryPressure,
                15..=19 => NodeHealth::DiskPressure,
                20..=24 => NodeHealth::Cordoned,
                _ => NodeHealth::Ready,
            };
            // A cluster of some size always shows one unhealthy node.
            let health = if n >= 10 && i == n - 1 {
                NodeHealth::NotReady
            } else {
                health
            };
            let name = match role {
                NodeRole::ControlPlane => format!("control-plane-{i}"),
                _ => format!(
                    "ip-10-{}-{}-{}",
                    20 + (i >> 16) % 200,
                    (i >> 8) & 0xff,
                    i & 0xff
                ),
            };
            self.nodes.push(NodePlan {
                name,
                role,
                zone: (i % 3) as u8,
                instance_type: rng.below(6) as u8,
                health,
            });
        }
    }

    /// DaemonSet pods per node: more agents on bigger nodes, at least one.
    fn daemonsets_per_node(&self) -> u32 {
        if self.options.pods_per_node == 0 {
            0
        } else {
            (self.options.pods_per_node / 8).clamp(1, DAEMONSETS.len() as u32)
        }
    }

    fn add_daemonsets(&mut self) {
        for d in 0..self.daemonsets_per_node() {
            let spec = &DAEMONSETS[d as usize];
            let namespace = if spec.namespace == "monitoring" {
                MONITORING
            } else {
                KUBE_SYSTEM
            };
            self.push_workload(
                WorkloadKind::DaemonSet,
                namespace,
                spec.name.to_string(),
                d,
                self.options.nodes,
                false,
            );
        }
    }

    fn push_workload(
        &mut self,
        kind: WorkloadKind,
        namespace: u32,
        name: String,
        archetype: u32,
        pod_count: u32,
        sidecar: bool,
    ) {
        // Workloads of one kind are pushed together, so the index among the kind is
        // the distance from the first of the run (no scan over all workloads).
        let index = match self.workloads.last() {
            Some(last) if last.kind == kind => last.index + 1,
            _ => 0,
        };
        let first_pod = self
            .workloads
            .last()
            .map_or(0, |w| w.first_pod + w.pod_count);
        self.workloads.push(Workload {
            kind,
            index,
            namespace,
            name,
            archetype,
            first_pod,
            pod_count,
            current_replica_set: None,
            sidecar,
            ready_pods: 0,
            succeeded_pods: 0,
            failed_pods: 0,
        });
    }

    fn add_app_workloads(&mut self, rng: &mut Rng) {
        let total = u64::from(self.options.nodes) * u64::from(self.options.pods_per_node);
        let daemon = u64::from(self.daemonsets_per_node()) * u64::from(self.options.nodes);
        let mut remaining = total.saturating_sub(daemon);
        let app = remaining;
        // Shares of the non-DaemonSet pods: jobs 6 %, StatefulSets 10 %, bare 1 %.
        let mut budget = [
            (WorkloadKind::Job, app * 6 / 100),
            (WorkloadKind::StatefulSet, app * 10 / 100),
            (WorkloadKind::Bare, app / 100),
            (WorkloadKind::Deployment, 0),
        ];
        let assigned: u64 = budget.iter().map(|(_, b)| b).sum();
        budget[3].1 = app - assigned;
        let namespaces = self.app_namespaces();
        let mut names_used = std::collections::HashSet::new();
        for (kind, share) in budget {
            let mut left = share;
            while left > 0 {
                let wanted = match kind {
                    WorkloadKind::Deployment => {
                        *rng.pick(&[1u64, 1, 2, 2, 2, 3, 3, 3, 4, 5, 6, 8, 10, 12, 20])
                    }
                    WorkloadKind::StatefulSet => rng.range(1, 5),
                    WorkloadKind::Job => *rng.pick(&[1u64, 1, 1, 1, 2, 3]),
                    _ => 1,
                };
                let pods = wanted.min(left);
                left -= pods;
                let namespace =
                    namespaces.start + rng.below(u64::from(namespaces.len() as u32)) as u32;
                let archetype = rng.below(ARCHETYPES.len() as u64) as u32;
                let base = ARCHETYPES[archetype as usize].name;
                let name = loop {
                    let candidate = match kind {
                        WorkloadKind::Job => {
                            format!("{base}-migrate-{}", rng.range(28_000_000, 29_999_999))
                        }
                        WorkloadKind::Bare => format!("{base}-debug-{}", rng.name_suffix(5)),
                        _ => format!("{base}-{}", rng.name_suffix(4)),
                    };
                    if names_used.insert((namespace, candidate.clone())) {
                        break candidate;
                    }
                };
                let sidecar = kind != WorkloadKind::Job && rng.chance(300);
                self.push_workload(kind, namespace, name, archetype, pods as u32, sidecar);
                remaining -= pods;
            }
        }
        debug_assert_eq!(remaining, 0);
    }

    fn place_and_state_pods(&mut self) {
        let seed = self.options.seed;
        let schedulable: Vec<u32> = {
            let workers: Vec<u32> = (0..self.nodes.len() as u32)
                .filter(|&i| self.nodes[i as usize].role != NodeRole::ControlPlane)
                .collect();
            if workers.is_empty() {
                (0..self.nodes.len() as u32).collect()
            } else {
                workers
            }
        };
        let mut next_app_node = 0usize;
        for (w, workload) in self.workloads.iter_mut().enumerate() {
            for ordinal in 0..workload.pod_count {
                let index = workload.first_pod + ordinal;
                let mut rng = Rng::stream(seed, Kind::Pod.stream() + 100, u64::from(index));
                let state = pod_state(workload.kind, &mut rng);
                let node = if !state.has_node() || schedulable.is_empty() {
                    None
                } else if workload.kind == WorkloadKind::DaemonSet {
                    Some(ordinal)
                } else {
                    next_app_node += 1;
                    Some(schedulable[next_app_node % schedulable.len()])
                };
                match state {
                    s if s.is_ready() => workload.ready_pods += 1,
                    PodState::Completed => workload.succeeded_pods += 1,
                    PodState::Failed | PodState::Evicted => workload.failed_pods += 1,
                    _ => {}
                }
                self.pods.push(PodPlan {
                    workload: w as u32,
                    ordinal,
                    node,
                    state,
                });
            }
        }
    }

    fn add_replica_sets(&mut self, rng: &mut Rng) {
        for w in 0..self.workloads.len() {
            if self.workloads[w].kind != WorkloadKind::Deployment {
                continue;
            }
            let old = rng.below(3) as u32;
            for revision in 1..=old + 1 {
                let template_hash = format!("{}{}", rng.range(5, 9), rng.name_suffix(8));
                let current = revision == old + 1;
                let workload = &mut self.workloads[w];
                if current {
                    workload.current_replica_set = Some(self.replica_sets.len() as u32);
                }
                self.replica_sets.push(ReplicaSetPlan {
                    deployment: w as u32,
                    name: format!("{}-{template_hash}", workload.name),
                    template_hash,
                    replicas: if current { workload.pod_count } else { 0 },
                    revision,
                });
            }
        }
    }

    fn add_services_configs_secrets(&mut self, rng: &mut Rng) {
        self.services.push(NamedObject {
            namespace: 0,
            name: "kubernetes".into(),
            workload: None,
        });
        self.services.push(NamedObject {
            namespace: KUBE_SYSTEM,
            name: "kube-dns".into(),
            workload: None,
        });
        for ns in 0..self.namespaces.len() as u32 {
            self.config_maps.push(NamedObject {
                namespace: ns,
                name: "kube-root-ca.crt".into(),
                workload: None,
            });
            if ns >= SYSTEM_NAMESPACES.len() as u32 {
                self.secrets.push(NamedObject {
                    namespace: ns,
                    name: "registry-pull-secret".into(),
                    workload: None,
                });
            }
        }
        for (w, workload) in self.workloads.iter().enumerate() {
            let w = Some(w as u32);
            let serves = match workload.kind {
                WorkloadKind::Deployment => rng.chance(800),
                WorkloadKind::StatefulSet => true,
                _ => false,
            };
            if serves {
                self.services.push(NamedObject {
                    namespace: workload.namespace,
                    name: workload.name.clone(),
                    workload: w,
                });
            }
            if matches!(
                workload.kind,
                WorkloadKind::Deployment | WorkloadKind::StatefulSet
            ) {
                if rng.chance(500) {
                    self.config_maps.push(NamedObject {
                        namespace: workload.namespace,
                        name: format!("{}-config", workload.name),
                        workload: w,
                    });
                }
                if rng.chance(300) {
                    self.secrets.push(NamedObject {
                        namespace: workload.namespace,
                        name: format!("{}-credentials", workload.name),
                        workload: w,
                    });
                }
            }
        }
    }

    /// How many objects of `kind` the initial state holds.
    pub fn count(&self, kind: Kind) -> usize {
        self.counts[kind as usize]
    }

    fn count_objects(&self, kind: Kind) -> usize {
        let of = |k: WorkloadKind| self.workloads.iter().filter(|w| w.kind == k).count();
        match kind {
            Kind::Namespace => self.namespaces.len(),
            Kind::Node => self.nodes.len(),
            Kind::Deployment => of(WorkloadKind::Deployment),
            Kind::ReplicaSet => self.replica_sets.len(),
            Kind::StatefulSet => of(WorkloadKind::StatefulSet),
            Kind::DaemonSet => of(WorkloadKind::DaemonSet),
            Kind::Job => of(WorkloadKind::Job),
            Kind::Service => self.services.len(),
            Kind::ConfigMap => self.config_maps.len(),
            Kind::Secret => self.secrets.len(),
            Kind::Pod => self.pods.len(),
        }
    }

    /// resourceVersion of object `index` of `kind` in the initial state.
    pub fn resource_version(&self, kind: Kind, index: u32) -> u64 {
        let before: usize = Kind::ALL
            .iter()
            .take_while(|k| **k != kind)
            .map(|k| self.count(*k))
            .sum();
        FIRST_RESOURCE_VERSION + before as u64 + u64::from(index)
    }

    /// resourceVersion of every list: the snapshot after all objects were written.
    pub fn list_resource_version(&self) -> u64 {
        let all: usize = Kind::ALL.iter().map(|k| self.count(*k)).sum();
        FIRST_RESOURCE_VERSION + all as u64
    }

    /// The uid of object `index` of `kind` (stable across runs for a seed).
    pub fn uid(&self, kind: Kind, index: u32) -> String {
        Rng::stream(self.options.seed, kind.stream() + 1000, u64::from(index)).uuid()
    }
}

fn pod_state(kind: WorkloadKind, rng: &mut Rng) -> PodState {
    let roll = rng.below(1000);
    match kind {
        WorkloadKind::Job => match roll {
            0..=849 => PodState::Completed,
            850..=949 => PodState::Running,
            _ => PodState::Failed,
        },
        WorkloadKind::DaemonSet => match roll {
            0..=9 => PodState::CrashLoop,
            10..=14 => PodState::ContainerCreating,
            _ => PodState::Running,
        },
        _ => match roll {
            0..=14 => PodState::RunningNotReady,
            15..=39 => PodState::CrashLoop,
            40..=54 => PodState::OomRestarted,
            55..=66 => PodState::Unschedulable,
            67..=78 => PodState::ContainerCreating,
            79..=90 => PodState::ImagePullBackOff,
            91..=104 => PodState::Evicted,
            _ => PodState::Running,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(nodes: u32, pods_per_node: u32) -> Plan {
        Plan::new(SynthOptions {
            nodes,
            pods_per_node,
            seed: 9,
            churn_per_mille: 20,
            json: false,
        })
    }

    #[test]
    fn pod_count_is_exactly_nodes_times_pods_per_node() {
        for (nodes, per_node) in [(1, 0), (1, 1), (1, 3), (2, 7), (7, 9), (33, 30)] {
            let plan = plan(nodes, per_node);
            assert_eq!(
                plan.pods.len() as u32,
                nodes * per_node,
                "{nodes}×{per_node}"
            );
            let owned: u32 = plan.workloads.iter().map(|w| w.pod_count).sum();
            assert_eq!(owned, nodes * per_node);
        }
    }

    #[test]
    fn placement_follows_the_state_and_the_workload() {
        let plan = plan(12, 16);
        for pod in &plan.pods {
            let workload = &plan.workloads[pod.workload as usize];
            match (pod.state.has_node(), workload.kind) {
                (false, _) => assert_eq!(pod.node, None),
                (true, WorkloadKind::DaemonSet) => assert_eq!(pod.node, Some(pod.ordinal)),
                (true, _) => {
                    let node = pod.node.expect("scheduled pods have a node");
                    assert_ne!(plan.nodes[node as usize].role, NodeRole::ControlPlane);
                }
            }
        }
        assert_eq!(plan.count(Kind::DaemonSet), 2);
        assert_eq!(
            plan.nodes
                .iter()
                .filter(|n| n.role == NodeRole::ControlPlane)
                .count(),
            3
        );
        assert_eq!(plan.nodes[11].health, NodeHealth::NotReady);
    }

    #[test]
    fn resource_versions_are_distinct_and_below_the_list() {
        let plan = plan(5, 8);
        let mut seen = std::collections::HashSet::new();
        for kind in Kind::ALL {
            for i in 0..plan.count(kind) as u32 {
                let rv = plan.resource_version(kind, i);
                assert!(rv < plan.list_resource_version());
                assert!(seen.insert(rv), "{kind:?} {i}: {rv} twice");
            }
        }
    }
}
