//! The metrics store: per resource, object key (metadata.uid) → compact metrics.
//!
//! Fed by reflector events ([`Sink`]), read by scrapes ([`MetricsSource`]).
//! Concurrency: each resource has one `RwLock<HashMap<key, StoredObject>>` (a
//! [`StoredObject`] is a handle on shared, immutable bytes; cloning it is an `Arc` clone).
//! - Ingestion computes an object's metrics *before* taking the lock, then holds the
//!   write lock only for one map insert/remove.
//! - A scrape holds the read lock only to clone the `Arc`s of the objects (a few
//!   microseconds per thousand objects), then renders with no lock held; objects
//!   are immutable once built, so an update during a scrape replaces the `Arc` in
//!   the map and the scrape keeps writing the version it took.
//! - A relist (`Init` … `InitDone`) builds a new map aside and swaps it in with one
//!   pointer-sized replace under the write lock, so a scrape sees the old set or the
//!   new set, never half of one.
//!
//! Output order: resources alphabetically, families in KSM order, objects sorted by
//! their rendered default labels (stable across scrapes). Identical series cannot
//! occur: within an object each family's samples are deduplicated when generated,
//! and across objects the default labels differ (pods carry their uid); if two
//! objects ever render the same default labels (a node deleted and re-created
//! while a watch event was missed), only the first in sort order is written.

mod compact;
mod vocab;

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use thiserror::Error;

use crate::api::meta::v1::ObjectMeta;
use crate::api::{Object, ResourceType};
use crate::lifecycle::Tracker;
use crate::metrics::buffer::{Buffer, BufferPool};
use crate::metrics::family::{Context, FamilyMeta, Stability};
use crate::metrics::filter::MetricFilter;
use crate::metrics::format::escape_help;
use crate::metrics::labelmap::AllowListFlag;
use crate::metrics::pool;
use crate::metrics::resource::ResourceMetrics;
use crate::metrics::resources;
use crate::metrics::{CopyingSink, ExpositionFormat, ExpositionSink, MetricsSource, RenderRequest};
use crate::reflector::{Event, Sink};

pub use compact::{CompactObject, FamilySet, StoredObject};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("resource {0:?} has no metrics")]
    NoMetrics(String),
}

/// Which families to generate and which labels/annotations to expose: the compiled
/// values `crate::config` resolves from the flags, used as they are.
#[derive(Debug, Default, Clone)]
pub struct StoreOptions {
    pub filter: MetricFilter,
    pub labels_allowlist: AllowListFlag,
    pub annotations_allowlist: AllowListFlag,
}

type ObjectMap = HashMap<Arc<str>, StoredObject>;

/// Which reflector's objects a set holds: `None` for a cluster-wide list, the
/// namespace for per-namespace reflectors (`--namespaces`). A relist swaps only its
/// own partition, so per-namespace reflectors never remove each other's objects.
pub type Partition = Option<Arc<str>>;

struct ResourceStore {
    metrics: &'static dyn ResourceMetrics,
    /// Indices of the enabled families in the resource's table.
    enabled: Vec<usize>,
    families: Vec<FamilyMeta>,
    headers_text: Vec<Vec<u8>>,
    headers_openmetrics: Vec<Vec<u8>>,
    context: Context,
    live: RwLock<HashMap<Partition, ObjectMap>>,
    pending: Mutex<HashMap<Partition, ObjectMap>>,
    synced: AtomicBool,
}

/// Compact metrics of every object of the registered resources.
pub struct Store {
    /// Sorted by plural name.
    resources: Vec<ResourceStore>,
    /// Pod lifecycle counters (`kube_pod_lifecycle_*`): fed every pod event before
    /// the pods' map sees it, written after the pod families. `None` when pods are
    /// not served or the filter turns every lifecycle family off.
    lifecycle: Option<Tracker>,
}

impl Store {
    /// A store for `resources` (plural names). Resources without metrics are an
    /// error; use [`Store::with_available`] to skip them instead.
    pub fn new(resources: &[&str], options: &StoreOptions) -> Result<Store, StoreError> {
        let mut stores = Vec::new();
        for plural in resources {
            let metrics = resources::by_plural(plural)
                .ok_or_else(|| StoreError::NoMetrics(plural.to_string()))?;
            if stores
                .iter()
                .all(|s: &ResourceStore| s.metrics.plural() != metrics.plural())
            {
                stores.push(ResourceStore::new(metrics, options));
            }
        }
        stores.sort_by_key(|s| s.metrics.plural());
        let lifecycle = stores
            .iter()
            .any(|s| s.metrics.plural() == LIFECYCLE_RESOURCE)
            .then(|| Tracker::new(&options.filter))
            .flatten();
        Ok(Store {
            resources: stores,
            lifecycle,
        })
    }

    /// Like [`Store::new`], silently leaving out the resources that have no metrics yet.
    pub fn with_available(resources: &[&str], options: &StoreOptions) -> Store {
        let known: Vec<&str> = resources
            .iter()
            .copied()
            .filter(|r| resources::by_plural(r).is_some())
            .collect();
        Store::new(&known, options).unwrap_or(Store {
            resources: Vec::new(),
            lifecycle: None,
        })
    }

    /// The resources this store serves, alphabetically.
    pub fn resources(&self) -> Vec<&'static str> {
        self.resources.iter().map(|r| r.metrics.plural()).collect()
    }

    /// True once the resource's first list completed (`InitDone`).
    pub fn is_synced(&self, plural: &str) -> bool {
        self.find(plural)
            .is_some_and(|r| r.synced.load(Ordering::Acquire))
    }

    pub fn object_count(&self, plural: &str) -> usize {
        self.find(plural)
            .map_or(0, |r| r.read().values().map(HashMap::len).sum())
    }

    /// Heap bytes of the compact metrics of a resource (objects only, not the map).
    pub fn heap_bytes(&self, plural: &str) -> usize {
        self.find(plural).map_or(0, |r| {
            r.read()
                .values()
                .flat_map(HashMap::values)
                .map(|o| o.heap_bytes())
                .sum()
        })
    }

    /// Feeds one event (the same as [`Sink::handle`], addressed by plural name).
    pub fn apply(&self, plural: &str, event: Event) {
        self.apply_in(plural, &None, event);
    }

    /// Feeds one event of a partition (see [`Partition`]).
    pub fn apply_in(&self, plural: &str, partition: &Partition, event: Event) {
        if plural == LIFECYCLE_RESOURCE {
            if let Some(tracker) = &self.lifecycle {
                tracker.handle(partition, &event);
            }
        }
        if let Some(store) = self.find(plural) {
            store.handle(partition, event);
        }
    }

    fn find(&self, plural: &str) -> Option<&ResourceStore> {
        self.resources.iter().find(|r| r.metrics.plural() == plural)
    }
}

impl Sink for Store {
    fn handle(&self, resource: &'static ResourceType, event: Event) {
        self.apply(resource.plural, event);
    }
}

/// The sink of one reflector target: a resource's objects in one partition.
pub struct PartitionSink {
    store: Arc<Store>,
    partition: Partition,
}

impl PartitionSink {
    pub fn new(store: Arc<Store>, namespace: Option<&str>) -> PartitionSink {
        PartitionSink {
            store,
            partition: namespace.map(Arc::from),
        }
    }
}

impl Sink for PartitionSink {
    fn handle(&self, resource: &'static ResourceType, event: Event) {
        self.store.apply_in(resource.plural, &self.partition, event);
    }
}

impl MetricsSource for Store {
    fn write_exposition(&self, request: &RenderRequest, out: &mut dyn io::Write) -> io::Result<()> {
        self.stream_exposition(request, &mut CopyingSink(out))
    }

    fn stream_exposition(
        &self,
        request: &RenderRequest,
        out: &mut dyn ExpositionSink,
    ) -> io::Result<()> {
        let openmetrics = request.format == ExpositionFormat::OpenMetrics;
        let mut buffer = Vec::with_capacity(CHUNK * 2);
        for store in self
            .resources
            .iter()
            .filter(|r| request.wants(r.metrics.plural()))
        {
            store.write(openmetrics, &mut buffer, out)?;
            if store.metrics.plural() == LIFECYCLE_RESOURCE {
                if let Some(tracker) = &self.lifecycle {
                    tracker.stream(openmetrics, &mut buffer, out)?;
                }
            }
        }
        if openmetrics {
            buffer.extend_from_slice(b"# EOF\n");
        }
        out.write_all(&buffer)
    }
}

/// The resource whose events feed the lifecycle tracker.
const LIFECYCLE_RESOURCE: &str = "pods";

/// Bytes collected before handing them to the writer.
const CHUNK: usize = 64 * 1024;

impl ResourceStore {
    fn new(metrics: &'static dyn ResourceMetrics, options: &StoreOptions) -> ResourceStore {
        let all = metrics.families();
        let enabled: Vec<usize> = (0..all.len())
            .filter(|&i| options.filter.enabled(&all[i]))
            .collect();
        let families: Vec<FamilyMeta> = enabled.iter().map(|&i| all[i]).collect();
        let plural = metrics.plural();
        ResourceStore {
            metrics,
            headers_text: families.iter().map(|f| header(f, false)).collect(),
            headers_openmetrics: families.iter().map(|f| header(f, true)).collect(),
            enabled,
            families,
            context: Context {
                labels: options.labels_allowlist.for_resource(plural),
                annotations: options.annotations_allowlist.for_resource(plural),
            },
            live: RwLock::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            synced: AtomicBool::new(false),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Partition, ObjectMap>> {
        self.live.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn compile(&self, object: &Object) -> Option<(Arc<str>, StoredObject)> {
        let generated = self
            .metrics
            .generate(object, &self.enabled, &self.context)?;
        let stored = StoredObject::build(self.metrics.default_labels(), &generated, &self.families);
        Some((object_key(object), stored))
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<Partition, ObjectMap>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_live(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Partition, ObjectMap>> {
        self.live.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn handle(&self, partition: &Partition, event: Event) {
        match event {
            Event::Init => {
                self.pending().insert(partition.clone(), HashMap::new());
            }
            Event::InitApply(object) => {
                if let Some((key, compact)) = self.compile(&object) {
                    self.pending()
                        .entry(partition.clone())
                        .or_default()
                        .insert(key, compact);
                }
                drop(object);
                crate::memory::object_dropped();
            }
            Event::InitDone => {
                let fresh = self.pending().remove(partition).unwrap_or_default();
                let old = self.write_live().insert(partition.clone(), fresh);
                self.synced.store(true, Ordering::Release);
                drop(old); // freed outside the lock
                           // The list's decoded objects and the replaced set were just freed.
                crate::memory::release_freed();
            }
            Event::Apply(object) => {
                if let Some((key, compact)) = self.compile(&object) {
                    let old = self
                        .write_live()
                        .entry(partition.clone())
                        .or_default()
                        .insert(key, compact);
                    drop(old);
                }
            }
            Event::Delete(object) => {
                let key = object_key(&object);
                let old = self
                    .write_live()
                    .get_mut(partition)
                    .and_then(|objects| objects.remove(&key));
                drop(old);
            }
        }
    }

    /// The objects to write, in output order, without duplicates of default labels.
    fn snapshot(&self) -> Snapshot {
        let mut objects: Snapshot = self
            .read()
            .values()
            .flat_map(HashMap::iter)
            .map(|(key, object)| SnapshotEntry {
                key: Arc::clone(key),
                object: object.view(),
            })
            .collect();
        objects.sort_by(|a, b| {
            (a.object.prefix())
                .cmp(b.object.prefix())
                .then_with(|| a.key.cmp(&b.key))
        });
        objects.dedup_by(|later, earlier| later.object.prefix() == earlier.object.prefix());
        objects
    }

    fn write(
        &self,
        openmetrics: bool,
        buffer: &mut Vec<u8>,
        out: &mut dyn ExpositionSink,
    ) -> io::Result<()> {
        let objects = self.snapshot();
        if objects.is_empty() {
            return Ok(()); // KSM writes no headers for a resource without objects
        }
        let headers = if openmetrics {
            &self.headers_openmetrics
        } else {
            &self.headers_text
        };
        let workers = pool::workers();
        if workers < 2 || objects.len() < PARALLEL_MIN_OBJECTS {
            return write_sequential(&self.families, headers, &objects, buffer, out);
        }
        out.write_all(buffer)?;
        buffer.clear();
        write_parallel(&self.families, headers, objects, workers, out)
    }
}

/// Below this many objects a resource is rendered on the scrape thread: handing it to the
/// pool costs more than it saves.
const PARALLEL_MIN_OBJECTS: usize = 1024;
/// Objects per rendering job: enough to amortise a job's hand-over, few enough that a job's
/// output (one family of this many objects) stays in the hundreds of kilobytes.
const OBJECTS_PER_JOB: usize = 1024;

/// One object of a scrape. The snapshot's contiguous memory holds the object's handle,
/// which says where its data lies and which families it has samples of, so a family pass
/// touches an object's own memory only when it has something to write.
struct SnapshotEntry {
    key: Arc<str>,
    object: CompactObject,
}

impl SnapshotEntry {
    /// Writes the samples of the family at position `family` and moves the cursor past it.
    #[inline]
    fn write_family(
        &self,
        family: usize,
        meta: &FamilyMeta,
        cursor: &mut usize,
        out: &mut Vec<u8>,
    ) {
        if self.object.families_with_samples().contains(family) {
            self.object.write_family(meta, cursor, out);
        } else {
            CompactObject::skip_empty_families(cursor, 1);
        }
    }
}

type Snapshot = Vec<SnapshotEntry>;

fn write_sequential(
    families: &[FamilyMeta],
    headers: &[Vec<u8>],
    objects: &Snapshot,
    buffer: &mut Vec<u8>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let mut cursors = vec![0usize; objects.len()];
    for (family, (meta, header)) in families.iter().zip(headers).enumerate() {
        buffer.extend_from_slice(header);
        for (entry, cursor) in objects.iter().zip(cursors.iter_mut()) {
            entry.write_family(family, meta, cursor, buffer);
            if buffer.len() >= CHUNK {
                out.write_all(buffer)?;
                buffer.clear();
            }
        }
    }
    Ok(())
}

/// One job's output: family `f` (with its header when the range is the first) for the
/// objects of one range, and the range's cursors moved past family `f`.
struct RenderedPart {
    bytes: Buffer,
    range: usize,
    cursors: Vec<usize>,
}

/// Renders families × object ranges on the pool and writes them in output order, so the
/// bytes equal [`write_sequential`]'s. A range's job for family `f + 1` starts only after
/// its job for `f` returned the cursors; at most `2 × workers + 2` parts are held at once.
/// Parts are handed to `out` whole, in buffers that return to this call's pool once sent.
/// A range none of whose objects has samples of a family gets no job for it (the first
/// range always does: it writes the header); its next job moves the cursors past it.
fn write_parallel(
    families: &[FamilyMeta],
    headers: &[Vec<u8>],
    objects: Snapshot,
    workers: usize,
    out: &mut dyn ExpositionSink,
) -> io::Result<()> {
    let objects = Arc::new(objects);
    let ranges: Vec<std::ops::Range<usize>> = (0..objects.len())
        .step_by(OBJECTS_PER_JOB)
        .map(|start| start..(start + OBJECTS_PER_JOB).min(objects.len()))
        .collect();
    let mut cursors: Vec<Option<Vec<usize>>> = ranges
        .iter()
        .map(|range| Some(vec![0; range.len()]))
        .collect();
    let with_samples: Vec<FamilySet> = ranges
        .iter()
        .map(|range| {
            objects[range.clone()]
                .iter()
                .fold(FamilySet::default(), |set, entry| {
                    set.union(entry.object.families_with_samples())
                })
        })
        .collect();
    // Per range, the families passed over since its last job.
    let mut skipped = vec![0usize; ranges.len()];
    let limit = 2 * workers + 2;
    // Parts in flight plus those the body still holds (a streaming body queues a few).
    let buffers = BufferPool::new(2 * limit, CHUNK);
    let mut ordered: pool::Ordered<RenderedPart> = pool::Ordered::new();
    let mut emit = |ordered: &mut pool::Ordered<RenderedPart>,
                    cursors: &mut Vec<Option<Vec<usize>>>|
     -> io::Result<()> {
        if let Some(part) = ordered.next_result() {
            let part = part?;
            cursors[part.range] = Some(part.cursors);
            out.write_buffer(part.bytes)?;
        }
        Ok(())
    };
    for (family, (meta, header)) in families.iter().zip(headers).enumerate() {
        for (index, range) in ranges.iter().enumerate() {
            if index > 0 && !with_samples[index].contains(family) {
                skipped[index] += 1;
                continue;
            }
            let skip = std::mem::take(&mut skipped[index]);
            while ordered.pending() >= limit || cursors[index].is_none() {
                emit(&mut ordered, &mut cursors)?;
            }
            let mut range_cursors = cursors[index].take().unwrap_or_default();
            let header = (index == 0).then(|| header.clone());
            let meta = *meta;
            let range = range.clone();
            let objects = Arc::clone(&objects);
            let mut bytes = buffers.take();
            ordered.submit(move || {
                if let Some(header) = header {
                    bytes.extend_from_slice(&header);
                }
                let objects = &objects[range];
                if skip > 0 {
                    for cursor in &mut range_cursors {
                        CompactObject::skip_empty_families(cursor, skip);
                    }
                }
                for (index, entry) in objects.iter().enumerate() {
                    prefetch_ahead(objects, &range_cursors, index, family);
                    if let Some(cursor) = range_cursors.get_mut(index) {
                        entry.write_family(family, &meta, cursor, &mut bytes);
                    }
                }
                RenderedPart {
                    bytes,
                    range: index,
                    cursors: range_cursors,
                }
            });
        }
    }
    while ordered.pending() > 0 {
        emit(&mut ordered, &mut cursors)?;
    }
    Ok(())
}

/// How many objects ahead a job requests the memory it will read. A job walks a range's
/// objects once per family; past a few tens of thousands of objects they no longer fit in
/// the cache, and every object written costs misses on its samples, default labels and
/// strings. Asking early overlaps those misses instead of paying them in turn.
const PREFETCH_AHEAD: usize = 8;

fn prefetch_ahead(objects: &[SnapshotEntry], cursors: &[usize], index: usize, family: usize) {
    if let (Some(ahead), Some(&cursor)) = (
        objects.get(index + PREFETCH_AHEAD),
        cursors.get(index + PREFETCH_AHEAD),
    ) {
        if ahead.object.families_with_samples().contains(family) {
            for address in ahead.object.memory_at(cursor) {
                prefetch(address);
            }
        }
    }
}

/// A hint to load the cache line at `address`; never faults, whatever the address.
#[inline(always)]
fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally visible and cannot fault.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// metadata.uid, or namespace/name for objects without one (hand-written inputs).
pub(crate) fn object_key(object: &Object) -> Arc<str> {
    let meta = object.metadata();
    let field = |pick: fn(&ObjectMeta) -> &Option<String>| {
        meta.and_then(|m| pick(m).as_deref()).unwrap_or("")
    };
    let uid = field(|m| &m.uid);
    if uid.is_empty() {
        Arc::from(format!(
            "{}/{}",
            field(|m| &m.namespace),
            field(|m| &m.name)
        ))
    } else {
        Arc::from(uid)
    }
}

fn header(family: &FamilyMeta, openmetrics: bool) -> Vec<u8> {
    let stable = if family.stability == Stability::Stable {
        "[STABLE] "
    } else {
        ""
    };
    format!(
        "# HELP {name} {stable}{help}\n# TYPE {name} {kind}\n",
        name = family.name,
        help = escape_help(family.help),
        kind = family.kind.type_word(openmetrics)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::v1::{Node, Pod, PodStatus};
    use crate::api::meta::v1::{ObjectMeta, Time};

    fn pod(name: &str, uid: &str, phase: &str) -> Object {
        Object::Pod(Box::new(Pod {
            metadata: Some(ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                uid: Some(uid.into()),
                ..ObjectMeta::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }))
    }

    fn node(name: &str, uid: &str) -> Object {
        Object::Node(Box::new(Node {
            metadata: Some(ObjectMeta {
                name: Some(name.into()),
                uid: Some(uid.into()),
                ..ObjectMeta::default()
            }),
            ..Node::default()
        }))
    }

    fn store() -> Store {
        Store::new(&["pods", "nodes"], &StoreOptions::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn scrape(store: &Store, format: ExpositionFormat, include: Option<&[&str]>) -> String {
        let request = RenderRequest {
            format,
            include: include.map(|list| list.iter().map(|s| s.to_string()).collect()),
            exclude: Default::default(),
        };
        let mut out = Vec::new();
        store
            .write_exposition(&request, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(out).unwrap_or_default()
    }

    fn text(store: &Store) -> String {
        scrape(store, ExpositionFormat::Text, None)
    }

    #[test]
    fn a_relist_in_one_namespace_keeps_the_other_namespaces_objects() {
        let store = Arc::new(store());
        let pods: &'static ResourceType =
            ResourceType::by_plural("pods").unwrap_or_else(|| panic!("pods in RESOURCES"));
        let team_a = PartitionSink::new(store.clone(), Some("team-a"));
        let team_b = PartitionSink::new(store.clone(), Some("team-b"));
        for (sink, name, uid) in [(&team_a, "a-1", "ua1"), (&team_b, "b-1", "ub1")] {
            sink.handle(pods, Event::Init);
            sink.handle(pods, Event::InitApply(pod(name, uid, "Running")));
            sink.handle(pods, Event::InitDone);
        }
        assert_eq!(store.object_count("pods"), 2);

        // team-a relists and a-1 is gone, a-2 is new: team-b's pod must survive.
        team_a.handle(pods, Event::Init);
        team_a.handle(pods, Event::InitApply(pod("a-2", "ua2", "Pending")));
        team_a.handle(pods, Event::InitDone);
        let out = text(&store);
        assert!(out.contains("pod=\"b-1\""), "{out}");
        assert!(out.contains("pod=\"a-2\""), "{out}");
        assert!(!out.contains("pod=\"a-1\""), "{out}");
        assert_eq!(store.object_count("pods"), 2);

        // A delete seen by team-b's reflector removes only from team-b.
        team_b.handle(pods, Event::Delete(pod("b-1", "ub1", "Running")));
        assert_eq!(store.object_count("pods"), 1);
    }

    fn running(name: &str) -> String {
        format!("kube_pod_status_phase{{namespace=\"ns\",pod=\"{name}\",uid=\"u-{name}\",phase=\"Running\"}} 1\n")
    }

    #[test]
    fn parallel_rendering_writes_the_sequential_bytes() {
        let store = store();
        // Enough objects for several jobs per family, with a tail range.
        let count = 3 * OBJECTS_PER_JOB + 17;
        for index in 0..count {
            let phase = ["Running", "Pending", "Failed"][index % 3];
            let mut object = pod(&format!("p-{index:05}"), &format!("u-{index}"), phase);
            // Only the second range's pods are being deleted: the other ranges have no
            // sample of kube_pod_deletion_timestamp, so the first writes its header alone
            // and the later ones get no job for it.
            if index / OBJECTS_PER_JOB == 1 {
                if let Object::Pod(pod) = &mut object {
                    if let Some(metadata) = &mut pod.metadata {
                        metadata.deletion_timestamp = Some(Time {
                            seconds: Some(1_700_000_000 + index as i64),
                            nanos: Some(0),
                        });
                    }
                }
            }
            store.apply("pods", Event::Apply(object));
        }
        for format in [ExpositionFormat::Text, ExpositionFormat::OpenMetrics] {
            let parallel = scrape(&store, format, None);
            let resource = store
                .resources
                .iter()
                .find(|r| r.metrics.plural() == "pods")
                .unwrap_or_else(|| panic!("pods served"));
            let headers = match format {
                ExpositionFormat::Text => &resource.headers_text,
                ExpositionFormat::OpenMetrics => &resource.headers_openmetrics,
            };
            let mut sequential = Vec::new();
            let mut buffer = Vec::new();
            write_sequential(
                &resource.families,
                headers,
                &resource.snapshot(),
                &mut buffer,
                &mut sequential,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            sequential.extend_from_slice(&buffer);
            let mut lifecycle = Vec::new();
            if let Some(tracker) = &store.lifecycle {
                tracker.write(format == ExpositionFormat::OpenMetrics, &mut lifecycle);
            }
            sequential.extend_from_slice(&lifecycle);
            if format == ExpositionFormat::OpenMetrics {
                sequential.extend_from_slice(b"# EOF\n");
            }
            assert!(
                pool::workers() < 2 || parallel.len() > 1_000_000,
                "{}",
                parallel.len()
            );
            assert!(
                parallel == String::from_utf8_lossy(&sequential),
                "{format:?}: parallel output differs"
            );
            assert_eq!(
                parallel
                    .lines()
                    .filter(|line| line.starts_with("kube_pod_deletion_timestamp{"))
                    .count(),
                OBJECTS_PER_JOB
            );
        }
    }

    #[test]
    fn empty_store_writes_nothing() {
        assert_eq!(text(&store()), "");
        assert_eq!(
            scrape(&store(), ExpositionFormat::OpenMetrics, None),
            "# EOF\n"
        );
    }

    #[test]
    fn headers_once_per_family_even_without_samples() {
        let store = store();
        store.apply("pods", Event::Apply(pod("a", "u-a", "Running")));
        store.apply("pods", Event::Apply(pod("b", "u-b", "Running")));
        let out = text(&store);
        assert_eq!(
            out.matches("# TYPE kube_pod_status_phase gauge\n").count(),
            1
        );
        assert!(
            out.contains("# HELP kube_pod_labels [STABLE] "),
            "stable families get the prefix"
        );
        assert!(
            out.contains("# TYPE kube_pod_labels gauge\n# HELP kube_pod_overhead_cpu_cores "),
            "labels: header, no series"
        );
        assert!(out.contains("# TYPE kube_pod_container_status_restarts_total counter\n"));
        assert!(
            !out.contains("kube_pod_nodeselectors"),
            "opt-in family is off by default"
        );
        assert!(!out.contains("kube_node_"), "no nodes, no node headers");
        assert_eq!(out.matches("# TYPE ").count(), 59);
        // Objects in a stable order: sorted by their default labels.
        let a = out.find(&running("a")).unwrap_or(usize::MAX);
        let b = out.find(&running("b")).unwrap_or(0);
        assert!(a < b, "{out}");
    }

    #[test]
    fn apply_replaces_and_delete_removes() {
        let store = store();
        store.apply("pods", Event::Apply(pod("a", "u-a", "Pending")));
        store.apply("pods", Event::Apply(pod("a", "u-a", "Running")));
        assert!(text(&store).contains(&running("a")));
        assert_eq!(store.object_count("pods"), 1);
        store.apply("pods", Event::Delete(pod("a", "u-a", "Running")));
        assert_eq!(store.object_count("pods"), 0);
        assert_eq!(text(&store), "");
    }

    #[test]
    fn relist_is_built_aside_and_swapped_in() {
        let store = store();
        store.apply("pods", Event::Apply(pod("old", "u-old", "Running")));
        assert!(!store.is_synced("pods"));
        store.apply("pods", Event::Init);
        store.apply("pods", Event::InitApply(pod("new", "u-new", "Running")));
        let during = text(&store);
        assert!(
            during.contains(&running("old")) && !during.contains(&running("new")),
            "{during}"
        );
        store.apply("pods", Event::InitDone);
        let after = text(&store);
        assert!(
            !after.contains(&running("old")) && after.contains(&running("new")),
            "{after}"
        );
        assert!(store.is_synced("pods"));
    }

    #[test]
    fn an_unfinished_list_is_abandoned_by_the_next_init() {
        let store = store();
        store.apply("pods", Event::Init);
        store.apply("pods", Event::InitApply(pod("half", "u-half", "Running")));
        // The list failed after its first page; the retry starts over.
        store.apply("pods", Event::Init);
        store.apply("pods", Event::InitApply(pod("whole", "u-whole", "Running")));
        store.apply("pods", Event::InitDone);
        let out = text(&store);
        assert!(
            out.contains(&running("whole")) && !out.contains(&running("half")),
            "{out}"
        );
        assert_eq!(store.object_count("pods"), 1);
    }

    #[test]
    fn resources_alphabetical_filtered_and_openmetrics() {
        let store = store();
        store.apply("pods", Event::Apply(pod("a", "u-a", "Running")));
        store.apply("nodes", Event::Apply(node("n1", "n-1")));
        let out = text(&store);
        assert!(
            out.find("kube_node_info").unwrap_or(usize::MAX)
                < out.find("kube_pod_info").unwrap_or(0)
        );
        let only_pods = scrape(&store, ExpositionFormat::Text, Some(&["pods"]));
        assert!(!only_pods.contains("kube_node_") && only_pods.contains("kube_pod_info"));
        let om = scrape(&store, ExpositionFormat::OpenMetrics, None);
        assert!(
            om.ends_with("# EOF\n")
                && om.contains("# TYPE kube_pod_container_status_restarts_total counter\n")
        );
        assert_eq!(om.trim_end_matches("# EOF\n"), out);
    }

    #[test]
    fn two_objects_with_the_same_default_labels_write_once() {
        let store = store();
        store.apply("nodes", Event::Apply(node("n1", "first")));
        store.apply("nodes", Event::Apply(node("n1", "second")));
        assert_eq!(store.object_count("nodes"), 2);
        assert_eq!(
            text(&store)
                .matches("kube_node_spec_unschedulable{node=\"n1\"} 0\n")
                .count(),
            1
        );
    }

    #[test]
    fn filters_and_unknown_resources() {
        let options = StoreOptions {
            filter: MetricFilter::new(&["kube_pod_status_phase".to_string()], &[], &[])
                .unwrap_or_default(),
            ..StoreOptions::default()
        };
        let store = Store::new(&["pods"], &options).unwrap_or_else(|e| panic!("{e}"));
        store.apply("pods", Event::Apply(pod("a", "u-a", "Running")));
        let out = text(&store);
        assert_eq!(out.matches("# TYPE").count(), 1, "{out}");
        assert!(matches!(
            Store::new(&["widgets"], &options),
            Err(StoreError::NoMetrics(_))
        ));
        assert_eq!(
            Store::with_available(&["widgets", "pods"], &options).resources(),
            vec!["pods"]
        );
    }

    #[test]
    fn scrapes_and_ingestion_run_concurrently() {
        let store = Arc::new(store());
        let writer = {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for round in 0..200 {
                    let name = format!("p{}", round % 20);
                    store.apply(
                        "pods",
                        Event::Apply(pod(&name, &format!("u-{name}"), "Running")),
                    );
                    if round % 7 == 0 {
                        store.apply(
                            "pods",
                            Event::Delete(pod(&name, &format!("u-{name}"), "Running")),
                        );
                    }
                }
            })
        };
        for _ in 0..50 {
            let out = text(&store);
            // Every scrape is well formed: each object contributes exactly one Running line.
            let objects = out.matches("phase=\"Running\"} 1\n").count();
            assert_eq!(out.matches("phase=\"Pending\"} 0\n").count(), objects);
        }
        writer
            .join()
            .unwrap_or_else(|_| panic!("writer thread panicked"));
    }
}
