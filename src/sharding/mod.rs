//! Horizontal sharding as kube-state-metrics does it: an instance keeps an object iff
//! `jump(fnv1a64(uid), total) == shard`, so a fleet mixing KSM and this exporter (or
//! migrating from one to the other) assigns every object to the same shard.
//!
//! The filter is a [`Sink`] wrapped around the store's: both the list and the watch
//! path of the reflector go through it, and objects of other shards are dropped before
//! they are compiled into the store or seen by the lifecycle tracker (so the lifecycle
//! counters of all shards sum to the unsharded ones). Like KSM, every shard still
//! receives and decodes every object; only `--node`/`--track-unscheduled-pods` filter
//! on the server (field selector `spec.nodeName`).
//!
//! An object without a UID hashes the empty string, as KSM's filter does (`GetUID()`
//! is `""`): all such objects land on one shard. The apiserver sets a UID on every
//! stored object, so only hand-fed objects (`render`) lack one.

pub mod auto;
pub mod metrics;
pub mod serve;

use std::sync::{Arc, PoisonError, RwLock};

use crate::api::{Object, ResourceType};
use crate::client::Target;
use crate::reflector::{Event, Sink};

/// How this instance picks its share of the objects (`--shard`/`--total-shards`, or
/// `--pod`/`--pod-namespace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sharding {
    Static(ShardAssignment),
    /// The assignment follows the StatefulSet that owns this pod.
    Auto {
        pod: String,
        namespace: String,
    },
}

/// DaemonSet sharding of pods: the apiserver sends only the pods of one node
/// (`--node`), or only the pods of no node (`--track-unscheduled-pods`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeFilter {
    Node(String),
    Unscheduled,
}

impl NodeFilter {
    /// The field selector, as KSM builds it.
    pub fn selector(&self) -> String {
        match self {
            NodeFilter::Node(node) => format!("spec.nodeName={node}"),
            NodeFilter::Unscheduled => "spec.nodeName=".to_string(),
        }
    }

    /// Adds the selector to every pods target (ANDed with a namespace denylist
    /// selector it may carry). Config refuses other resources with a node filter.
    pub fn restrict(&self, targets: Vec<Target>) -> Vec<Target> {
        let node = self.selector();
        targets
            .into_iter()
            .map(|target| {
                if target.resource.plural != "pods" {
                    return target;
                }
                let selector = match &target.field_selector {
                    Some(existing) => format!("{existing},{node}"),
                    None => node.clone(),
                };
                target.with_field_selector(selector)
            })
            .collect()
    }
}

/// 64-bit FNV-1a of `bytes` (Go's `hash/fnv` `New64a`).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// Lamping and Veach's jump consistent hash: the bucket in `0..buckets` of `key`.
/// `buckets == 0` yields 0 (never called so: a [`ShardAssignment`] has `total >= 1`).
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let mut bucket: i64 = -1;
    let mut next: i64 = 0;
    while next < i64::from(buckets) {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        // The published algorithm's arithmetic is in doubles; keep it so, bit for bit.
        next = ((bucket + 1) as f64 * ((1i64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    u32::try_from(bucket).unwrap_or(0)
}

/// The shard of an object UID among `total`.
pub fn shard_of(uid: &str, total: u32) -> u32 {
    jump_hash(fnv1a64(uid.as_bytes()), total)
}

/// Which objects this instance serves: `shard` of `total` (`0 <= shard < total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardAssignment {
    shard: u32,
    total: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssignmentError {
    #[error("the total number of shards must be at least 1, got {0}")]
    NoShards(i64),
    #[error("shard {shard} is out of range: shards are numbered 0 to {last} of {total}", last = total - 1)]
    OutOfRange { shard: i64, total: i64 },
}

impl ShardAssignment {
    /// Everything (one shard of one).
    pub const ALL: ShardAssignment = ShardAssignment { shard: 0, total: 1 };

    pub fn new(shard: i64, total: i64) -> Result<ShardAssignment, AssignmentError> {
        let total_u32 = u32::try_from(total)
            .ok()
            .filter(|&t| t >= 1)
            .ok_or(AssignmentError::NoShards(total))?;
        let shard_u32 = u32::try_from(shard)
            .ok()
            .filter(|&s| s < total_u32)
            .ok_or(AssignmentError::OutOfRange { shard, total })?;
        Ok(ShardAssignment {
            shard: shard_u32,
            total: total_u32,
        })
    }

    pub fn shard(&self) -> u32 {
        self.shard
    }

    pub fn total(&self) -> u32 {
        self.total
    }

    /// True when every object is kept (no filtering needed).
    pub fn is_all(&self) -> bool {
        self.total == 1
    }

    pub fn keeps_uid(&self, uid: &str) -> bool {
        self.is_all() || shard_of(uid, self.total) == self.shard
    }

    pub fn keeps(&self, object: &Object) -> bool {
        let uid = object
            .metadata()
            .and_then(|meta| meta.uid.as_deref())
            .unwrap_or("");
        self.keeps_uid(uid)
    }
}

impl std::fmt::Display for ShardAssignment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shard {} of {}", self.shard, self.total)
    }
}

/// The filter in front of a store's sink: list items and watch events of objects of
/// other shards never reach it. `Init`/`InitDone` pass, so a relist still swaps the
/// whole (filtered) set; a `Delete` of an object of another shard is dropped like its
/// `Apply` was (a UID never changes, so its shard never does).
///
/// A sink can be retired (auto-sharding replaced its reflector): from then on it drops
/// everything, and [`ShardSink::retire`] waits for an event being handled to finish, so
/// nothing of the old assignment lands in a store after the switch.
pub struct ShardSink {
    inner: Arc<dyn Sink>,
    assignment: ShardAssignment,
    retired: RwLock<bool>,
}

impl ShardSink {
    pub fn new(inner: Arc<dyn Sink>, assignment: ShardAssignment) -> ShardSink {
        ShardSink {
            inner,
            assignment,
            retired: RwLock::new(false),
        }
    }

    pub fn retire(&self) {
        *self.retired.write().unwrap_or_else(PoisonError::into_inner) = true;
    }
}

impl Sink for ShardSink {
    fn handle(&self, resource: &'static ResourceType, event: Event) {
        let retired = self.retired.read().unwrap_or_else(PoisonError::into_inner);
        if *retired {
            return;
        }
        let keep = match &event {
            Event::Init | Event::InitDone => true,
            Event::InitApply(object) | Event::Apply(object) | Event::Delete(object) => {
                self.assignment.keeps(object)
            }
        };
        if keep {
            self.inner.handle(resource, event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_values() {
        // From the FNV reference (Fowler, Noll, Vo): the empty string is the offset basis.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// `tests/fixtures/sharding/vectors.tsv`, written by `generate_vectors.py` there
    /// (FNV-1a 64 and jump hash from their published definitions, in Python).
    #[test]
    fn assignments_match_the_independently_computed_vectors() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sharding/vectors.tsv"
        );
        let text = std::fs::read_to_string(path).expect("the vectors file");
        let totals = [1u32, 2, 3, 4, 5, 7, 16, 100, 1000];
        let mut checked = 0;
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let fields: Vec<&str> = line.split('\t').collect();
            let [uid, hash, shards] = fields[..] else {
                panic!("bad vector line {line:?}");
            };
            assert_eq!(
                format!("{:016x}", fnv1a64(uid.as_bytes())),
                hash,
                "fnv1a64({uid:?})"
            );
            let expected: Vec<u32> = shards
                .split(',')
                .map(|n| n.parse().expect("a shard number"))
                .collect();
            let actual: Vec<u32> = totals.iter().map(|&t| shard_of(uid, t)).collect();
            assert_eq!(actual, expected, "shards of {uid:?}");
            checked += 1;
        }
        assert!(checked >= 200, "only {checked} vectors");
    }

    #[test]
    fn the_filter_drops_other_shards_objects_from_lists_and_watches() {
        use crate::api::core::v1::Pod;
        use crate::api::meta::v1::ObjectMeta;
        use std::sync::Mutex;

        #[derive(Default)]
        struct Recorder(Mutex<Vec<String>>);
        impl Sink for Recorder {
            fn handle(&self, _: &'static ResourceType, event: Event) {
                let uid = |o: &Object| o.metadata().and_then(|m| m.uid.clone()).unwrap_or_default();
                let line = match event {
                    Event::Init => "init".to_string(),
                    Event::InitDone => "done".to_string(),
                    Event::InitApply(o) => format!("list {}", uid(&o)),
                    Event::Apply(o) => format!("apply {}", uid(&o)),
                    Event::Delete(o) => format!("delete {}", uid(&o)),
                };
                self.0.lock().expect("lock").push(line);
            }
        }
        let pod = |uid: &str| {
            Object::Pod(Box::new(Pod {
                metadata: Some(ObjectMeta {
                    uid: Some(uid.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            }))
        };
        let assignment = ShardAssignment::new(1, 3).expect("valid");
        let (mine, theirs) = (0..100)
            .map(|n| format!("uid-{n}"))
            .partition::<Vec<_>, _>(|uid| assignment.keeps_uid(uid));
        let (mine, theirs) = (&mine[0], &theirs[0]);
        let recorder = Arc::new(Recorder::default());
        let sink = ShardSink::new(recorder.clone(), assignment);
        let pods = <Pod as crate::api::Kind>::TYPE;
        for event in [
            Event::Init,
            Event::InitApply(pod(mine)),
            Event::InitApply(pod(theirs)),
            Event::InitDone,
            Event::Apply(pod(theirs)),
            Event::Apply(pod(mine)),
            Event::Delete(pod(theirs)),
            Event::Delete(pod(mine)),
        ] {
            sink.handle(pods, event);
        }
        sink.retire();
        sink.handle(pods, Event::Apply(pod(mine)));
        let seen = recorder.0.lock().expect("lock").clone();
        assert_eq!(
            seen,
            [
                "init".to_string(),
                format!("list {mine}"),
                "done".to_string(),
                format!("apply {mine}"),
                format!("delete {mine}"),
            ]
        );
    }

    #[test]
    fn the_node_selector_joins_the_namespace_denylist_on_pods_only() {
        let pods = ResourceType::by_plural("pods").expect("pods");
        let nodes = ResourceType::by_plural("nodes").expect("nodes");
        let targets = vec![
            Target::new(pods, None).with_field_selector("metadata.namespace!=x"),
            Target::new(pods, Some("a".into())),
            Target::new(nodes, None),
        ];
        let restricted = NodeFilter::Node("n1".into()).restrict(targets.clone());
        let selectors: Vec<Option<&str>> = restricted
            .iter()
            .map(|t| t.field_selector.as_deref())
            .collect();
        assert_eq!(
            selectors,
            [
                Some("metadata.namespace!=x,spec.nodeName=n1"),
                Some("spec.nodeName=n1"),
                None
            ]
        );
        let unscheduled = NodeFilter::Unscheduled.restrict(targets);
        assert_eq!(
            unscheduled[1].field_selector.as_deref(),
            Some("spec.nodeName=")
        );
    }

    #[test]
    fn assignments_outside_the_range_are_refused() {
        assert_eq!(
            ShardAssignment::new(0, 0),
            Err(AssignmentError::NoShards(0))
        );
        assert_eq!(
            ShardAssignment::new(3, 3),
            Err(AssignmentError::OutOfRange { shard: 3, total: 3 })
        );
        assert_eq!(
            ShardAssignment::new(-1, 3),
            Err(AssignmentError::OutOfRange {
                shard: -1,
                total: 3
            })
        );
        assert!(ShardAssignment::new(2, 3).is_ok());
    }

    #[test]
    fn every_uid_lands_on_exactly_one_shard() {
        for total in 1..=7 {
            let shards: Vec<ShardAssignment> = (0..total)
                .map(|shard| ShardAssignment::new(shard, total).expect("in range"))
                .collect();
            for n in 0..500 {
                let uid = format!("uid-{n}");
                let keepers = shards.iter().filter(|s| s.keeps_uid(&uid)).count();
                assert_eq!(keepers, 1, "{uid} among {total}");
            }
        }
    }
}
