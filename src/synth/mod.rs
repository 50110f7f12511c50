//! Synthetic clusters written as recordings (`kube-state-exporter synth`): a realistic
//! mix of nodes, workloads and pods, their protobuf LIST bodies and a protobuf WATCH
//! body per resource with churn. Deterministic for a seed; objects are built and
//! encoded one at a time, so memory stays small whatever the size. See docs/synth.md.

pub mod catalog;
mod churn;
mod config;
mod encode;
mod meta;
mod node;
pub mod plan;
mod pod;
pub mod recording;
pub mod rng;
mod workloads;

use std::io;
use std::path::{Path, PathBuf};

use prost::Message;
use thiserror::Error;

use crate::api::meta::v1::PartialObjectMetadata;
use crate::api::ResourceType;

pub use churn::ChurnCounts;
pub use plan::{Kind, Plan, SynthOptions};

use encode::{ListWriter, WatchWriter};
use recording::{Format, RecordingWriter};

#[derive(Debug, Error)]
pub enum SynthError {
    #[error("--nodes must be at least 1")]
    NoNodes,
    #[error("{nodes} nodes × {pods_per_node} pods per node is more pods than a u32 counts")]
    TooLarge { nodes: u32, pods_per_node: u32 },
    #[error("{0} is not a resource this build serves")]
    UnknownResource(&'static str),
    #[error("creating the output directory {path}: {source}")]
    OutDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing the recording: {0}")]
    Io(#[from] io::Error),
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Objects in each initial list, by plural.
    pub objects: Vec<(&'static str, u64)>,
    pub churn: ChurnCounts,
    /// resourceVersion of every list (the snapshot the watches start from).
    pub list_resource_version: u64,
    /// Bodies written (one list and one watch per resource).
    pub bodies: usize,
    /// Total size of the bodies in bytes.
    pub bytes: u64,
}

impl Summary {
    pub fn count(&self, plural: &str) -> u64 {
        self.objects
            .iter()
            .find(|(p, _)| *p == plural)
            .map_or(0, |(_, n)| *n)
    }
}

fn resource(kind: Kind) -> Result<&'static ResourceType, SynthError> {
    ResourceType::by_plural(kind.plural()).ok_or(SynthError::UnknownResource(kind.plural()))
}

/// Kinds in the order `record` requests them (alphabetical by plural).
fn kinds_in_request_order() -> Vec<Kind> {
    let mut kinds = Kind::ALL.to_vec();
    kinds.sort_by_key(|k| k.plural());
    kinds
}

/// Builds the cluster for `options` and writes it as a recording into `out`.
pub fn generate(options: SynthOptions, out: &Path) -> Result<Summary, SynthError> {
    if options.nodes == 0 {
        return Err(SynthError::NoNodes);
    }
    if u64::from(options.nodes) * u64::from(options.pods_per_node) > u64::from(u32::MAX / 2) {
        return Err(SynthError::TooLarge {
            nodes: options.nodes,
            pods_per_node: options.pods_per_node,
        });
    }
    std::fs::create_dir_all(out).map_err(|source| SynthError::OutDir {
        path: out.to_path_buf(),
        source,
    })?;
    let plan = Plan::new(options);
    tracing::info!(
        nodes = plan.nodes.len(),
        pods = plan.pods.len(),
        workloads = plan.workloads.len(),
        "cluster planned"
    );
    let mut recording = RecordingWriter::new(out);
    let kinds = kinds_in_request_order();
    let list_rv = plan.list_resource_version();
    let json = plan.options.json;
    let mut objects = Vec::new();
    let mut bytes = 0;
    // Body numbers follow request order: per resource the protobuf list, then its
    // JSON twin if asked for; then the watches the same way.
    let mut next_body = 0usize;
    let mut body_name = || {
        next_body += 1;
        format!("{next_body:04}.body")
    };
    for &kind in &kinds {
        let resource = resource(kind)?;
        let (api_version, list_kind) = if resource.metadata_only() {
            ("meta.k8s.io/v1", "PartialObjectMetadataList")
        } else {
            (resource.api_version, resource.list_kind)
        };
        let name = body_name();
        let json_name = json.then(&mut body_name);
        let mut list = ListWriter::create(out.join(&name))?;
        if let Some(json_name) = &json_name {
            list = list.with_json(encode::JsonListHead {
                path: out.join(json_name),
                api_version,
                list_kind,
                resource_version: list_rv,
                item_type: resource
                    .metadata_only()
                    .then_some(("meta.k8s.io/v1", "PartialObjectMetadata")),
            })?;
        }
        write_items(&plan, kind, resource.metadata_only(), &mut list)?;
        let count = list.count();
        let (size, json_size) = list.finish(api_version, list_kind, list_rv)?;
        tracing::debug!(
            resource = resource.plural,
            objects = count,
            bytes = size,
            "list written"
        );
        objects.push((resource.plural, count));
        bytes += size;
        recording.add_list(name, resource, Format::Protobuf, size);
        if let (Some(json_name), Some(json_size)) = (json_name, json_size) {
            bytes += json_size;
            recording.add_list(json_name, resource, Format::Json, json_size);
        }
    }

    // One watch per resource from the lists' resourceVersion; pods and nodes churn,
    // every watch ends with a BOOKMARK at the last resourceVersion.
    let mut watches = Vec::new();
    for &kind in &kinds {
        let name = body_name();
        let json_name = json.then(&mut body_name);
        let mut watch = WatchWriter::create(out.join(&name))?;
        if let Some(json_name) = &json_name {
            watch = watch.with_json(out.join(json_name))?;
        }
        watches.push((kind, name, json_name, watch));
    }
    let position = |wanted: Kind| kinds.iter().position(|k| *k == wanted);
    let (pods_at, nodes_at) = match (position(Kind::Pod), position(Kind::Node)) {
        (Some(p), Some(n)) => (p, n),
        _ => return Err(SynthError::UnknownResource("pods")),
    };
    let counts = {
        let (low, high) = watches.split_at_mut(pods_at.max(nodes_at));
        let (pods_out, nodes_out) = if pods_at > nodes_at {
            (&mut high[0].3, &mut low[nodes_at].3)
        } else {
            (&mut low[pods_at].3, &mut high[0].3)
        };
        churn::run(&plan, pods_out, nodes_out)?
    };
    let bookmark = churn::bookmark_object(counts.last_resource_version);
    for (kind, name, json_name, mut watch) in watches {
        let resource = resource(kind)?;
        if resource.metadata_only() {
            watch.event(
                "BOOKMARK",
                "meta.k8s.io/v1",
                "PartialObjectMetadata",
                &bookmark,
            )?;
        } else {
            watch.event("BOOKMARK", resource.api_version, resource.kind, &bookmark)?;
        }
        let (size, json_size) = watch.finish()?;
        bytes += size;
        recording.add_watch(name, resource, Format::Protobuf, list_rv, size);
        if let (Some(json_name), Some(json_size)) = (json_name, json_size) {
            bytes += json_size;
            recording.add_watch(json_name, resource, Format::Json, list_rv, json_size);
        }
    }
    let bodies = recording.captures().len();
    recording.finish()?;
    Ok(Summary {
        objects,
        churn: counts,
        list_resource_version: list_rv,
        bodies,
        bytes,
    })
}

/// Builds and appends every object of `kind` in the initial state.
fn write_items(
    plan: &Plan,
    kind: Kind,
    metadata_only: bool,
    list: &mut ListWriter,
) -> io::Result<()> {
    fn push<M: Message + serde::Serialize>(
        list: &mut ListWriter,
        metadata_only: bool,
        object: M,
        metadata: impl FnOnce(M) -> Option<crate::api::meta::v1::ObjectMeta>,
    ) -> io::Result<()> {
        if metadata_only {
            list.push(&PartialObjectMetadata {
                metadata: metadata(object),
            })
        } else {
            list.push(&object)
        }
    }
    let n = |count: usize| 0..count as u32;
    match kind {
        Kind::Namespace => n(plan.namespaces.len()).try_for_each(|i| {
            push(list, metadata_only, config::namespace(plan, i), |o| {
                o.metadata
            })
        }),
        Kind::Node => n(plan.nodes.len()).try_for_each(|i| {
            let view = node::NodeView {
                health: plan.nodes[i as usize].health,
                resource_version: plan.resource_version(Kind::Node, i),
                changed_at: None,
            };
            push(list, metadata_only, node::node(plan, i, &view), |o| {
                o.metadata
            })
        }),
        Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::Job => {
            for workload in &plan.workloads {
                match (kind, workload.kind) {
                    (Kind::Deployment, plan::WorkloadKind::Deployment) => push(
                        list,
                        metadata_only,
                        workloads::deployment(plan, workload),
                        |o| o.metadata,
                    )?,
                    (Kind::StatefulSet, plan::WorkloadKind::StatefulSet) => push(
                        list,
                        metadata_only,
                        workloads::stateful_set(plan, workload),
                        |o| o.metadata,
                    )?,
                    (Kind::DaemonSet, plan::WorkloadKind::DaemonSet) => push(
                        list,
                        metadata_only,
                        workloads::daemon_set(plan, workload),
                        |o| o.metadata,
                    )?,
                    (Kind::Job, plan::WorkloadKind::Job) => {
                        push(list, metadata_only, workloads::job(plan, workload), |o| {
                            o.metadata
                        })?
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        Kind::ReplicaSet => n(plan.replica_sets.len()).try_for_each(|i| {
            push(list, metadata_only, workloads::replica_set(plan, i), |o| {
                o.metadata
            })
        }),
        Kind::Service => n(plan.services.len()).try_for_each(|i| {
            push(list, metadata_only, config::service(plan, i), |o| {
                o.metadata
            })
        }),
        Kind::ConfigMap => n(plan.config_maps.len()).try_for_each(|i| {
            push(list, metadata_only, config::config_map(plan, i), |o| {
                o.metadata
            })
        }),
        Kind::Secret => n(plan.secrets.len())
            .try_for_each(|i| push(list, metadata_only, config::secret(plan, i), |o| o.metadata)),
        Kind::Pod => n(plan.pods.len()).try_for_each(|i| {
            let planned = &plan.pods[i as usize];
            let view = pod::PodView {
                state: planned.state,
                extra_restarts: 0,
                resource_version: plan.resource_version(Kind::Pod, i),
                deleting: false,
            };
            push(
                list,
                metadata_only,
                pod::pod(plan, i, planned, &view),
                |o| o.metadata,
            )
        }),
    }
}
