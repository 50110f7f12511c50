//! The served store and its generations. A generation is one store with its reflectors,
//! all filtered by one [`ShardAssignment`]. Static sharding runs one generation for
//! the life of the process. Auto-sharding starts a new generation when `spec.replicas`
//! changes — KSM rebuilds every store then, relisting everything — but keeps serving
//! the old one until the new one has completed a list of every resource the old one
//! had, then swaps them in one step and stops the old reflectors. So a scrape never
//! sees a half-filled store under the new assignment, and `/readyz` stays as it was.
//! The new generation's store is a new store: the pod lifecycle counters restart from
//! zero, as they do when KSM rebuilds its stores or the exporter restarts
//! (`rate()`/`increase()` handle the reset), instead of counting the pods that moved
//! to or from this shard as deletions and creations.

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::client::{ApiClient, ClientMetrics, Target};
use crate::metrics::{ExpositionSink, MetricsSource, RenderRequest};
use crate::reflector::{self, ReflectorOptions, Sink};
use crate::store::{PartitionSink, Store, StoreOptions};

use super::auto::{ReplicasWatch, StatefulSetSeat};
use super::metrics::ShardMetrics;
use super::{ShardAssignment, ShardSink};

/// How long a new generation may take to list everything before it is swapped in
/// anyway (with a warning): a resource that keeps failing must not pin the old
/// assignment forever.
pub const RESHARD_SYNC_DEADLINE: Duration = Duration::from_secs(300);

/// What the servers read: the current generation's store.
pub struct ServedStore {
    current: RwLock<Arc<Store>>,
}

impl ServedStore {
    pub fn new(store: Arc<Store>) -> ServedStore {
        ServedStore {
            current: RwLock::new(store),
        }
    }

    pub fn current(&self) -> Arc<Store> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn swap(&self, store: Arc<Store>) -> Arc<Store> {
        std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            store,
        )
    }
}

impl MetricsSource for ServedStore {
    fn write_exposition(&self, request: &RenderRequest, out: &mut dyn io::Write) -> io::Result<()> {
        // The Arc keeps a generation being replaced alive until this scrape is written.
        self.current().write_exposition(request, out)
    }

    fn stream_exposition(
        &self,
        request: &RenderRequest,
        out: &mut dyn ExpositionSink,
    ) -> io::Result<()> {
        self.current().stream_exposition(request, out)
    }
}

/// Everything a generation is built from.
pub struct Pipeline {
    pub client: ApiClient,
    pub targets: Vec<Target>,
    /// Plural names of the served resources.
    pub resources: Vec<&'static str>,
    pub store_options: StoreOptions,
    pub client_metrics: ClientMetrics,
    pub reflector_options: ReflectorOptions,
}

/// One store and the reflectors feeding it through one assignment's filter.
pub struct Generation {
    pub assignment: ShardAssignment,
    pub store: Arc<Store>,
    sinks: Vec<Arc<ShardSink>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Generation {
    /// Stops the reflectors; whatever event one is delivering finishes first, and
    /// nothing reaches the store afterwards.
    pub fn retire(self) {
        for task in &self.tasks {
            task.abort();
        }
        for sink in &self.sinks {
            sink.retire();
        }
    }
}

impl Pipeline {
    pub fn start(&self, assignment: ShardAssignment) -> Generation {
        let store = Arc::new(Store::with_available(&self.resources, &self.store_options));
        let sinks = RefCell::new(Vec::new());
        let tasks = reflector::spawn_all(
            &self.client,
            self.targets.clone(),
            |target| -> Arc<dyn Sink> {
                let partition = Arc::new(PartitionSink::new(
                    store.clone(),
                    target.namespace.as_deref(),
                ));
                let sink = Arc::new(ShardSink::new(partition, assignment));
                sinks.borrow_mut().push(sink.clone());
                sink
            },
            &self.client_metrics,
            &self.reflector_options,
        );
        Generation {
            assignment,
            store,
            sinks: sinks.into_inner(),
            tasks,
        }
    }
}

/// The assignment of `seat` among `replicas`, or why there is none.
pub fn assignment_for(seat: &StatefulSetSeat, replicas: i32) -> Result<ShardAssignment, String> {
    ShardAssignment::new(i64::from(seat.ordinal), i64::from(replicas)).map_err(|error| {
        format!(
            "statefulset {}/{} has spec.replicas={replicas}: {error}",
            seat.namespace, seat.statefulset
        )
    })
}

/// Follows `spec.replicas` and re-shards on every change, until the watch ends.
pub async fn follow_replicas(
    pipeline: Pipeline,
    served: Arc<ServedStore>,
    shard_metrics: ShardMetrics,
    mut current: Generation,
    mut watch: ReplicasWatch,
    seat: StatefulSetSeat,
) {
    loop {
        if watch.replicas.changed().await.is_err() {
            return;
        }
        // Re-read after every wait: a newer value supersedes a generation still listing.
        'reshard: loop {
            let Some(replicas) = *watch.replicas.borrow_and_update() else {
                break 'reshard;
            };
            let assignment = match assignment_for(&seat, replicas) {
                Ok(assignment) => assignment,
                Err(reason) => {
                    // Scaled below our ordinal: this pod is about to be stopped; keep
                    // serving what we have rather than nothing.
                    tracing::warn!(%reason, current = %current.assignment, "not re-sharding");
                    break 'reshard;
                }
            };
            if assignment == current.assignment {
                break 'reshard;
            }
            tracing::info!(from = %current.assignment, to = %assignment, "spec.replicas changed: re-sharding (listing every resource again)");
            let required: Vec<&'static str> = current
                .store
                .resources()
                .into_iter()
                .filter(|plural| current.store.is_synced(plural))
                .collect();
            let fresh = pipeline.start(assignment);
            let listed = tokio::select! {
                listed = synced(&fresh.store, &required, RESHARD_SYNC_DEADLINE) => listed,
                changed = watch.replicas.changed() => {
                    fresh.retire();
                    if changed.is_err() {
                        return;
                    }
                    continue 'reshard;
                }
            };
            if !listed {
                tracing::warn!(to = %assignment, deadline = ?RESHARD_SYNC_DEADLINE, "not every resource listed in time; switching anyway");
            }
            served.swap(fresh.store.clone());
            shard_metrics.set(assignment);
            let old = std::mem::replace(&mut current, fresh);
            old.retire();
            tracing::info!(shard = %assignment, "re-sharded");
            break 'reshard;
        }
    }
}

/// Waits until every one of `required` has completed a list in `store`; false after
/// `deadline`.
async fn synced(store: &Store, required: &[&str], deadline: Duration) -> bool {
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        if required.iter().all(|plural| store.is_synced(plural)) {
            return true;
        }
        if tokio::time::Instant::now() >= give_up {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
