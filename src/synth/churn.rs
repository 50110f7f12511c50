//! The watch stream after the lists: pod status updates (restarts, readiness flaps,
//! phase changes), pods created and deleted, node condition flaps. Every event gets
//! the next resourceVersion, shared across resources as in etcd, so each watch body
//! is strictly increasing.

use std::collections::HashMap;
use std::io;

use crate::api::meta::v1::{ObjectMeta, PartialObjectMetadata};

use super::catalog::CLUSTER_NOW;
use super::encode::WatchWriter;
use super::node::{node, NodeView};
use super::plan::{NodeHealth, NodeRole, Plan, PodPlan, PodState, WorkloadKind};
use super::pod::{pod, PodView};
use super::rng::Rng;

/// What the churn wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChurnCounts {
    pub pod_events: u64,
    pub node_events: u64,
    pub pods_added: u64,
    pub pods_deleted: u64,
    pub last_resource_version: u64,
}

#[derive(Debug, Clone)]
struct PodNow {
    planned: PodPlan,
    state: PodState,
    extra_restarts: i32,
    deleted: bool,
}

struct Churn<'a> {
    plan: &'a Plan,
    rng: Rng,
    rv: u64,
    pods: HashMap<u32, PodNow>,
    added: Vec<PodPlan>,
    nodes: HashMap<u32, NodeHealth>,
    deployments: Vec<u32>,
    schedulable: Vec<u32>,
    counts: ChurnCounts,
}

/// Writes the pod and node events; returns what was written.
pub fn run(
    plan: &Plan,
    pods_out: &mut WatchWriter,
    nodes_out: &mut WatchWriter,
) -> io::Result<ChurnCounts> {
    let per_mille = u64::from(plan.options.churn_per_mille);
    let mut pod_events = (plan.pods.len() as u64 * per_mille).div_ceil(1000);
    let mut node_events = (plan.nodes.len() as u64 * per_mille).div_ceil(1000);
    let mut churn = Churn {
        plan,
        rng: super::rng::Rng::stream(plan.options.seed, 9999, 0),
        rv: plan.list_resource_version(),
        pods: HashMap::new(),
        added: Vec::new(),
        nodes: HashMap::new(),
        deployments: (0..plan.workloads.len() as u32)
            .filter(|&w| plan.workloads[w as usize].kind == WorkloadKind::Deployment)
            .collect(),
        schedulable: (0..plan.nodes.len() as u32)
            .filter(|&n| plan.nodes[n as usize].role != NodeRole::ControlPlane)
            .collect(),
        counts: ChurnCounts::default(),
    };
    if churn.schedulable.is_empty() {
        churn.schedulable = (0..plan.nodes.len() as u32).collect();
    }
    let mut step = 0i64;
    while pod_events + node_events > 0 {
        step += 1;
        let at = CLUSTER_NOW + step * 3;
        if churn.rng.below(pod_events + node_events) < node_events {
            node_events -= 1;
            churn.node_event(nodes_out, at)?;
        } else {
            pod_events -= 1;
            churn.pod_event(pods_out)?;
        }
    }
    churn.counts.last_resource_version = churn.rv;
    Ok(churn.counts)
}

impl Churn<'_> {
    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn total_pods(&self) -> u32 {
        (self.plan.pods.len() + self.added.len()) as u32
    }

    fn pod_now(&self, index: u32) -> PodNow {
        if let Some(now) = self.pods.get(&index) {
            return now.clone();
        }
        let planned = match self.plan.pods.get(index as usize) {
            Some(p) => p.clone(),
            None => self.added[index as usize - self.plan.pods.len()].clone(),
        };
        PodNow {
            state: planned.state,
            planned,
            extra_restarts: 0,
            deleted: false,
        }
    }

    fn pick_live_pod(&mut self) -> Option<u32> {
        let total = u64::from(self.total_pods());
        (0..16).find_map(|_| {
            let index = self.rng.below(total) as u32;
            (!self.pod_now(index).deleted).then_some(index)
        })
    }

    fn emit_pod(
        &mut self,
        out: &mut WatchWriter,
        event: &str,
        index: u32,
        now: PodNow,
    ) -> io::Result<()> {
        let view = PodView {
            state: now.state,
            extra_restarts: now.extra_restarts,
            resource_version: self.next_rv(),
            deleting: now.deleted,
        };
        let object = pod(self.plan, index, &now.planned, &view);
        self.pods.insert(index, now);
        self.counts.pod_events += 1;
        out.event(event, "v1", "Pod", &object)
    }

    fn pod_event(&mut self, out: &mut WatchWriter) -> io::Result<()> {
        let roll = self.rng.below(100);
        let picked = self.pick_live_pod();
        match (roll, picked) {
            (65..=84, _) | (_, None) if !self.deployments.is_empty() => self.add_pod(out),
            (_, None) => Ok(()),
            (85..=99, Some(index)) => self.delete_pod(out, index),
            (0..=29, Some(index)) => {
                let mut now = self.pod_now(index);
                match now.state {
                    PodState::Running
                    | PodState::OomRestarted
                    | PodState::RunningNotReady
                    | PodState::CrashLoop => {
                        now.extra_restarts += 1;
                        if now.state == PodState::Running && self.rng.chance(300) {
                            now.state = PodState::CrashLoop;
                        }
                        self.emit_pod(out, "MODIFIED", index, now)
                    }
                    _ => self.progress_pod(out, index, now),
                }
            }
            (30..=49, Some(index)) => {
                let mut now = self.pod_now(index);
                match now.state {
                    PodState::Running => {
                        now.state = PodState::RunningNotReady;
                        self.emit_pod(out, "MODIFIED", index, now)
                    }
                    PodState::RunningNotReady => {
                        now.state = PodState::Running;
                        self.emit_pod(out, "MODIFIED", index, now)
                    }
                    _ => self.progress_pod(out, index, now),
                }
            }
            (_, Some(index)) => {
                let now = self.pod_now(index);
                self.progress_pod(out, index, now)
            }
        }
    }

    /// Moves a pod one step along its life; finished pods are garbage-collected.
    fn progress_pod(
        &mut self,
        out: &mut WatchWriter,
        index: u32,
        mut now: PodNow,
    ) -> io::Result<()> {
        now.state = match now.state {
            PodState::Unschedulable => {
                let node = self.schedulable[self.rng.below(self.schedulable.len() as u64) as usize];
                now.planned.node = Some(node);
                PodState::ContainerCreating
            }
            PodState::ContainerCreating
            | PodState::ImagePullBackOff
            | PodState::CrashLoop
            | PodState::RunningNotReady => PodState::Running,
            PodState::Running | PodState::OomRestarted => {
                if self.rng.chance(100) {
                    PodState::Evicted
                } else {
                    PodState::RunningNotReady
                }
            }
            PodState::Completed | PodState::Failed | PodState::Evicted => {
                return self.delete_pod(out, index);
            }
        };
        self.emit_pod(out, "MODIFIED", index, now)
    }

    fn delete_pod(&mut self, out: &mut WatchWriter, index: u32) -> io::Result<()> {
        let mut now = self.pod_now(index);
        now.deleted = true;
        self.counts.pods_deleted += 1;
        self.emit_pod(out, "DELETED", index, now)
    }

    fn add_pod(&mut self, out: &mut WatchWriter) -> io::Result<()> {
        let workload = self.deployments[self.rng.below(self.deployments.len() as u64) as usize];
        let node = self
            .schedulable
            .get(self.rng.below(self.schedulable.len() as u64) as usize)
            .copied();
        let ordinal = self.plan.workloads[workload as usize].pod_count + self.added.len() as u32;
        let planned = PodPlan {
            workload,
            ordinal,
            node,
            state: if node.is_some() {
                PodState::ContainerCreating
            } else {
                PodState::Unschedulable
            },
        };
        let index = self.total_pods();
        self.added.push(planned.clone());
        self.counts.pods_added += 1;
        let now = PodNow {
            state: planned.state,
            planned,
            extra_restarts: 0,
            deleted: false,
        };
        self.emit_pod(out, "ADDED", index, now)
    }

    fn node_event(&mut self, out: &mut WatchWriter, at: i64) -> io::Result<()> {
        if self.plan.nodes.is_empty() {
            return Ok(());
        }
        let index = self.rng.below(self.plan.nodes.len() as u64) as u32;
        let health = self
            .nodes
            .get(&index)
            .copied()
            .unwrap_or(self.plan.nodes[index as usize].health);
        let next = if health == NodeHealth::Ready {
            match self.rng.below(4) {
                0 | 1 => NodeHealth::NotReady,
                2 => NodeHealth::MemoryPressure,
                _ => NodeHealth::DiskPressure,
            }
        } else {
            NodeHealth::Ready
        };
        self.nodes.insert(index, next);
        let view = NodeView {
            health: next,
            resource_version: self.next_rv(),
            changed_at: Some(at),
        };
        let object = node(self.plan, index, &view);
        self.counts.node_events += 1;
        out.event("MODIFIED", "v1", "Node", &object)
    }
}

/// A BOOKMARK's object: only `metadata.resourceVersion`. Every kind keeps its
/// metadata at field 1, so this one message encodes any kind's bookmark.
pub fn bookmark_object(resource_version: u64) -> PartialObjectMetadata {
    PartialObjectMetadata {
        metadata: Some(ObjectMeta {
            resource_version: Some(resource_version.to_string()),
            ..Default::default()
        }),
    }
}
