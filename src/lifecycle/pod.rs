//! What the tracker keeps of one pod between two events, and the rules that turn
//! two consecutive views of a pod into counted changes.
//!
//! Only what the rules need is kept (phase, per container the last state, its reason
//! and restartCount, creation/deletion time, whether Ready was seen): a few dozen
//! bytes per pod instead of the object.

use std::sync::Arc;

use crate::api::core::v1::{ContainerStatus, Pod, PodStatus};
use crate::api::Kind;
use crate::metrics::kube::{last_state, s, state, unix_if_set};

use super::counters::WorkloadKey;

/// Reason used for terminations known only from a restartCount increase, when the
/// object does not say why (every one but the last of a jump, see docs/lifecycle.md).
pub const UNOBSERVED: &str = "Unobserved";

/// The last observed state of one container (init containers included: names are
/// unique across both lists, so one list of tracks serves both).
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerTrack {
    pub name: Box<str>,
    pub restarts: i32,
    pub seen: Seen,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Nothing,
    Waiting(Box<str>),
    Running,
    Terminated(Box<str>),
}

#[derive(Debug, Clone)]
pub struct PodState {
    pub workload: Arc<WorkloadKey>,
    /// metadata.resourceVersion as a number, when it is one (etcd revisions are):
    /// an event not newer than what was applied is a replay and changes nothing.
    pub resource_version: Option<u64>,
    pub created: Option<f64>,
    pub deletion: Option<f64>,
    pub phase: Option<Box<str>>,
    /// Ready=True was seen once (or the pod predates the exporter): startup is
    /// observed at most once per pod.
    pub ready_seen: bool,
    /// The pod's creation was counted (it appeared after the initial list): only
    /// those pods get a startup observation, since for older ones we cannot know
    /// whether an earlier Ready was missed.
    pub born_watched: bool,
    pub containers: Vec<ContainerTrack>,
}

/// One counted change of a pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Phase(Box<str>),
    Waiting {
        container: Box<str>,
        reason: Box<str>,
    },
    Termination {
        container: Box<str>,
        reason: Box<str>,
    },
    /// Seconds from creation to the first Ready=True.
    Startup(f64),
}

/// The controller owner as `kube_pod_owner` shows it, `<none>` without one.
pub fn workload_key(pod: &Pod) -> WorkloadKey {
    let meta = pod.metadata();
    let controller = meta
        .owner_references
        .iter()
        .find(|o| o.controller == Some(true));
    let (kind, name) = controller.map_or(("<none>", "<none>"), |o| (s(&o.kind), s(&o.name)));
    WorkloadKey {
        namespace: s(&meta.namespace).into(),
        owner_kind: kind.into(),
        owner_name: name.into(),
    }
}

pub fn resource_version(pod: &Pod) -> Option<u64> {
    s(&pod.metadata().resource_version).parse().ok()
}

/// Seconds since the epoch of the pod's deletionTimestamp, if set.
pub fn deletion_time(pod: &Pod) -> Option<f64> {
    unix_if_set(&pod.metadata().deletion_timestamp)
}

/// The phase the object reports, if any.
pub fn phase(pod: &Pod) -> Option<&str> {
    pod.status
        .as_ref()
        .and_then(|st| st.phase.as_deref())
        .filter(|p| !p.is_empty())
}

fn status_lists(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    let status: Option<&PodStatus> = pod.status.as_ref();
    status.into_iter().flat_map(|st| {
        st.init_container_statuses
            .iter()
            .chain(st.container_statuses.iter())
    })
}

fn seen(cs: &ContainerStatus) -> Seen {
    let st = state(cs);
    if let Some(w) = &st.waiting {
        Seen::Waiting(s(&w.reason).into())
    } else if st.running.is_some() {
        Seen::Running
    } else if let Some(t) = &st.terminated {
        Seen::Terminated(s(&t.reason).into())
    } else {
        Seen::Nothing
    }
}

/// Ready=True and when it became so (`now` when the condition has no time).
fn ready_since(pod: &Pod, now: f64) -> Option<f64> {
    let status = pod.status.as_ref()?;
    let ready = status
        .conditions
        .iter()
        .find(|c| s(&c.r#type) == "Ready" && s(&c.status) == "True")?;
    Some(unix_if_set(&ready.last_transition_time).unwrap_or(now))
}

/// The state after `pod`, and what changed since `previous` (`None`: a pod not seen
/// before, compared with an empty pod so that everything it already went through
/// counts). `now` (unix seconds) stands in for missing timestamps.
pub fn observe(
    previous: Option<&PodState>,
    pod: &Pod,
    workload: Arc<WorkloadKey>,
    born_watched: bool,
    now: f64,
) -> (PodState, Vec<Change>) {
    let mut changes = Vec::new();
    let meta = pod.metadata();
    let created = unix_if_set(&meta.creation_timestamp).or(previous.and_then(|p| p.created));

    let new_phase = phase(pod).map(Box::<str>::from);
    let old_phase = previous.and_then(|p| p.phase.as_deref());
    if let Some(phase) = &new_phase {
        if old_phase != Some(phase.as_ref()) {
            changes.push(Change::Phase(phase.clone()));
        }
    }

    let old_tracks: &[ContainerTrack] = previous.map_or(&[], |p| &p.containers);
    let mut containers = Vec::new();
    for cs in status_lists(pod) {
        let name = s(&cs.name);
        let old = old_tracks.iter().find(|t| t.name.as_ref() == name);
        let track = ContainerTrack {
            name: name.into(),
            restarts: cs.restart_count.unwrap_or(0).max(0),
            seen: seen(cs),
        };
        container_changes(old, &track, cs, &mut changes);
        containers.push(track);
    }
    // A container that left the status lists keeps its track (statuses of a pod are
    // not removed in practice; if they were, forgetting would recount its restarts).
    for old in old_tracks {
        if !containers.iter().any(|t| t.name == old.name) {
            containers.push(old.clone());
        }
    }

    let mut ready_seen = previous.is_some_and(|p| p.ready_seen);
    if let Some(since) = ready_since(pod, now) {
        if !ready_seen && born_watched {
            if let Some(created) = created {
                changes.push(Change::Startup((since - created).max(0.0)));
            }
        }
        ready_seen = true;
    }

    let state = PodState {
        workload,
        resource_version: resource_version(pod),
        created,
        deletion: deletion_time(pod).or(previous.and_then(|p| p.deletion)),
        phase: new_phase.or_else(|| previous.and_then(|p| p.phase.clone())),
        ready_seen,
        born_watched,
        containers,
    };
    (state, changes)
}

/// The rules of one container (docs/lifecycle.md):
/// - a restartCount increase of k means k runs ended and were restarted; one of them
///   may be the termination already counted when it was seen directly, the others are
///   counted now, the last with lastState.terminated.reason, earlier ones `Unobserved`;
/// - a current termination counts once, when first seen (or when it is a new run's);
/// - a waiting reason counts when entered: different from the last one seen, or the
///   container ran in between (restartCount moved).
fn container_changes(
    old: Option<&ContainerTrack>,
    new: &ContainerTrack,
    cs: &ContainerStatus,
    changes: &mut Vec<Change>,
) {
    let (old_restarts, old_seen) = old.map_or((0, &Seen::Nothing), |t| (t.restarts, &t.seen));
    // A restartCount that went down (the kubelet lost its state) is a new baseline.
    let restarted = u32::try_from(new.restarts - old_restarts).unwrap_or(0);
    let counted_before = matches!(old_seen, Seen::Terminated(_));
    let hidden = if counted_before {
        restarted.saturating_sub(1)
    } else {
        restarted
    };
    let container = &new.name;
    if hidden > 0 {
        for _ in 1..hidden {
            changes.push(Change::Termination {
                container: container.clone(),
                reason: UNOBSERVED.into(),
            });
        }
        let last = last_state(cs)
            .terminated
            .as_ref()
            .map(|t| s(&t.reason))
            .filter(|r| !r.is_empty())
            .unwrap_or(UNOBSERVED);
        changes.push(Change::Termination {
            container: container.clone(),
            reason: last.into(),
        });
    }
    match &new.seen {
        Seen::Terminated(reason) if !counted_before || restarted > 0 => {
            changes.push(Change::Termination {
                container: container.clone(),
                reason: reason.clone(),
            });
        }
        Seen::Waiting(reason) if old_seen != &new.seen || restarted > 0 => {
            changes.push(Change::Waiting {
                container: container.clone(),
                reason: reason.clone(),
            });
        }
        _ => {}
    }
}
