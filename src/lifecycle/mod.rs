//! Pod lifecycle counted from the watch stream (`kube_pod_lifecycle_*`): what a
//! scrape cannot see — states shorter than the scrape interval, deletions — counted
//! exactly from the store's event stream. See docs/lifecycle.md.
//!
//! - `pod`: what is kept per pod between events, and the rules turning two views
//!   of a pod into counted changes;
//! - `counters`: the per-workload aggregates and their exposition;
//! - this module: the [`Tracker`], which follows the reflector contract
//!   (`Init`/`InitApply`/`InitDone`/`Apply`/`Delete`, per partition) so that the
//!   initial list counts nothing, a relist counts only what changed (and what went
//!   missing), and replayed events count nothing twice.

mod counters;
mod pod;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::api::core::v1::Pod;
use crate::api::Kind;
use crate::metrics::filter::MetricFilter;
use crate::reflector::Event;
use crate::store::object_key;

pub use counters::{
    family_docs, family_names, Enabled, WorkloadKey, LIFETIME_BUCKETS, MAX_REASON_SERIES,
    STARTUP_BUCKETS,
};
pub use pod::UNOBSERVED;

use counters::{Workload, Workloads};
use pod::{Change, PodState};

/// Which reflector's pods (`None`: cluster-wide; else the namespace), as the store's
/// partitions: a relist only speaks for its own partition.
pub type Partition = Option<Arc<str>>;

/// How long a workload's series stay once none of its pods is left.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(3600);

/// Phase label of a pod that never reported one.
const NO_PHASE: &str = "Unknown";

#[derive(Default)]
struct PartitionState {
    /// The first list completed: from then on, changes count.
    synced: bool,
    /// uids delivered by the list in progress.
    listing: Option<HashSet<Arc<str>>>,
}

/// How many deleted uids are remembered, so that an event of a pod already counted
/// as deleted (delivered late, or replayed) cannot bring it back as a creation.
const TOMBSTONES: usize = 65_536;

#[derive(Default)]
struct Inner {
    pods: HashMap<Arc<str>, (Partition, PodState)>,
    tombstones: HashSet<Arc<str>>,
    tombstone_order: VecDeque<Arc<str>>,
    partitions: HashMap<Partition, PartitionState>,
    workloads: Workloads,
}

/// Follows pod events and keeps the lifecycle counters.
pub struct Tracker {
    enabled: Enabled,
    retention: Duration,
    inner: Mutex<Inner>,
}

impl Tracker {
    /// A tracker when the filter lets at least one lifecycle family through.
    pub fn new(filter: &MetricFilter) -> Option<Tracker> {
        let enabled = Enabled::from_filter(filter);
        enabled.any().then(|| Tracker {
            enabled,
            retention: DEFAULT_RETENTION,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Sets how long an idle workload's series stay (tests use zero).
    pub fn with_retention(mut self, retention: Duration) -> Tracker {
        self.retention = retention;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Follows one event of the pods resource (other kinds are ignored).
    pub fn handle(&self, partition: &Partition, event: &Event) {
        let now = unix_now();
        let mut inner = self.lock();
        match event {
            Event::Init => {
                inner.partition(partition).listing = Some(HashSet::new());
            }
            Event::InitApply(object) => {
                let Some(pod) = Pod::downcast(object) else {
                    return;
                };
                let uid = object_key(object);
                if let Some(listing) = inner.partition(partition).listing.as_mut() {
                    listing.insert(uid.clone());
                }
                inner.apply(partition, uid, pod, now);
            }
            Event::InitDone => inner.finish_list(partition, now),
            Event::Apply(object) => {
                if let Some(pod) = Pod::downcast(object) {
                    inner.apply(partition, object_key(object), pod, now);
                }
            }
            Event::Delete(object) => {
                if let Some(pod) = Pod::downcast(object) {
                    let uid = object_key(object);
                    if inner.pods.contains_key(&uid) {
                        // The final object may carry changes no earlier event showed.
                        inner.apply(partition, uid.clone(), pod, now);
                        inner.delete(partition, &uid, pod, now);
                    }
                }
            }
        }
    }

    /// Appends the enabled families (after dropping workloads idle past the retention).
    pub fn write(&self, openmetrics: bool, out: &mut Vec<u8>) {
        counters::write(&self.snapshot(), self.enabled, openmetrics, out);
    }

    /// [`Tracker::write`] in pieces: `buffer` goes to `sink` whenever it holds 64 KiB or
    /// more, so a scrape never holds the counters of every workload at once.
    pub fn stream(
        &self,
        openmetrics: bool,
        buffer: &mut Vec<u8>,
        sink: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut flush = |buffer: &mut Vec<u8>| {
            sink.write_all(buffer)?;
            buffer.clear();
            Ok(())
        };
        counters::write_flushing(
            &self.snapshot(),
            self.enabled,
            openmetrics,
            buffer,
            &mut flush,
        )
    }

    fn snapshot(&self) -> counters::Workloads {
        let mut inner = self.lock();
        inner.forget_idle(self.retention);
        inner.workloads.clone()
    }

    /// Pods tracked now (for tests and memory figures).
    pub fn tracked_pods(&self) -> usize {
        self.lock().pods.len()
    }
}

impl Inner {
    fn partition(&mut self, partition: &Partition) -> &mut PartitionState {
        self.partitions.entry(partition.clone()).or_default()
    }

    fn counting(&self, partition: &Partition) -> bool {
        self.partitions.get(partition).is_some_and(|p| p.synced)
    }

    /// The workload entry for `key`, shared by every pod of it.
    fn workload(&mut self, key: WorkloadKey) -> (Arc<WorkloadKey>, &mut Workload) {
        let shared = match self.workloads.get_key_value(&key) {
            Some((shared, _)) => Arc::clone(shared),
            None => Arc::new(key),
        };
        let entry = self.workloads.entry(Arc::clone(&shared)).or_default();
        (shared, entry)
    }

    fn apply(&mut self, partition: &Partition, uid: Arc<str>, pod: &Pod, now: f64) {
        if self.tombstones.contains(&uid) {
            return; // counted as deleted already: a late or replayed event
        }
        if !self.partitions.contains_key(partition) {
            // No list started: objects fed without list+watch (`render` of files)
            // are no event stream, and there is no baseline to compare with.
            return;
        }
        let counting = self.counting(partition);
        let previous = self.pods.remove(&uid).map(|(_, state)| state);
        if let (Some(previous), Some(rv)) = (&previous, pod::resource_version(pod)) {
            if previous.resource_version.is_some_and(|seen| rv <= seen) {
                // Already applied: a replayed event, or a relist's copy of it.
                self.pods.insert(uid, (partition.clone(), previous.clone()));
                return;
            }
        }
        let born_watched = previous.as_ref().map_or(counting, |p| p.born_watched);
        let (key, workload) = self.workload(pod::workload_key(pod));
        let moved_from = match &previous {
            None => {
                workload.live += 1;
                workload.idle_since = None;
                if counting {
                    workload.creations += 1;
                }
                None
            }
            // Adopted or orphaned: the pod now counts for its new controller.
            Some(p) if p.workload != key => {
                workload.live += 1;
                workload.idle_since = None;
                Some(Arc::clone(&p.workload))
            }
            Some(_) => None,
        };
        let (state, changes) =
            pod::observe(previous.as_ref(), pod, Arc::clone(&key), born_watched, now);
        if counting {
            for change in changes {
                match change {
                    Change::Phase(phase) => workload.phase_entered(&phase),
                    Change::Waiting { container, reason } => {
                        workload.waiting_entered(&container, &reason)
                    }
                    Change::Termination { container, reason } => {
                        workload.terminated(&container, &reason)
                    }
                    Change::Startup(seconds) => workload.started(seconds),
                }
            }
        }
        if let Some(old) = moved_from {
            self.leave(&old);
        }
        self.pods.insert(uid, (partition.clone(), state));
    }

    fn leave(&mut self, key: &WorkloadKey) {
        if let Some(workload) = self.workloads.get_mut(key) {
            workload.live = workload.live.saturating_sub(1);
            if workload.live == 0 {
                workload.idle_since = Some(Instant::now());
            }
        }
    }

    /// Counts the deletion of a tracked pod; an unknown uid (a DELETED replayed after
    /// a relist already saw the pod gone) counts nothing.
    fn delete(&mut self, partition: &Partition, uid: &str, final_object: &Pod, now: f64) {
        let counting = self.counting(partition);
        let Some((uid, (_, state))) = self.pods.remove_entry(uid) else {
            return;
        };
        self.bury(uid);
        let deleted_at = pod::deletion_time(final_object)
            .or(state.deletion)
            .unwrap_or(now);
        self.gone(&state, counting, deleted_at);
    }

    fn gone(&mut self, state: &PodState, counting: bool, deleted_at: f64) {
        if counting {
            if let Some(workload) = self.workloads.get_mut(state.workload.as_ref()) {
                let phase = state.phase.as_deref().unwrap_or(NO_PHASE);
                let lifetime = state.created.map_or(0.0, |c| (deleted_at - c).max(0.0));
                workload.deleted(phase, lifetime);
            }
        }
        self.leave(&state.workload);
    }

    fn bury(&mut self, uid: Arc<str>) {
        if self.tombstone_order.len() >= TOMBSTONES {
            if let Some(oldest) = self.tombstone_order.pop_front() {
                self.tombstones.remove(&oldest);
            }
        }
        self.tombstones.insert(Arc::clone(&uid));
        self.tombstone_order.push_back(uid);
    }

    /// End of a (re)list: the partition's pods it did not deliver are gone.
    fn finish_list(&mut self, partition: &Partition, now: f64) {
        let counting = self.counting(partition);
        let listed = self.partition(partition).listing.take().unwrap_or_default();
        let vanished: Vec<Arc<str>> = self
            .pods
            .iter()
            .filter(|(uid, (p, _))| p == partition && !listed.contains(*uid))
            .map(|(uid, _)| Arc::clone(uid))
            .collect();
        for uid in vanished {
            if let Some((_, state)) = self.pods.remove(&uid) {
                self.bury(Arc::clone(&uid));
                // Deleted during the gap: the last deletionTimestamp seen, else now.
                let deleted_at = state.deletion.unwrap_or(now);
                self.gone(&state, counting, deleted_at);
            }
        }
        self.partition(partition).synced = true;
    }

    fn forget_idle(&mut self, retention: Duration) {
        self.workloads.retain(|_, w| {
            w.live > 0 || w.idle_since.is_none_or(|since| since.elapsed() < retention)
        });
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests;
