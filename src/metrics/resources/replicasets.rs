//! `replicasets`: 11 families, in kube-state-metrics' order. Default labels:
//! namespace, replicaset.

use crate::api::apps::v1::{ReplicaSet, ReplicaSetSpec, ReplicaSetStatus};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::zero_or;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<ReplicaSet>] = &[
    generic::created("kube_replicaset_created", Stable),
    gauge("kube_replicaset_status_replicas", Stable, "Pods the replica set currently runs.", &[], status_replicas),
    gauge("kube_replicaset_status_fully_labeled_replicas", Stable, "Pods whose labels match the replica set's pod template labels.", &[], status_fully_labeled_replicas),
    gauge("kube_replicaset_status_ready_replicas", Stable, "Ready pods of the replica set.", &[], status_ready_replicas),
    gauge("kube_replicaset_status_terminating_replicas", Alpha, "Pods of the replica set that are shutting down.", &[], status_terminating_replicas),
    gauge("kube_replicaset_status_observed_generation", Stable, "Generation of the replica set last acted on by its controller.", &[], status_observed_generation),
    gauge("kube_replicaset_spec_replicas", Stable, "Pods the replica set is asked to run.", &[], spec_replicas),
    generic::generation("kube_replicaset_metadata_generation", Stable),
    generic::owner("kube_replicaset_owner", Stable),
    generic::annotations("kube_replicaset_annotations", Alpha),
    generic::labels("kube_replicaset_labels", Stable),
];

pub static RESOURCE: ResourceDef<ReplicaSet> = ResourceDef {
    default_labels: &["namespace", "replicaset"],
    default_values: namespace_and_name,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(r: &ReplicaSet) -> &ReplicaSetSpec {
    zero_or!(r.spec, ReplicaSetSpec)
}

fn status(r: &ReplicaSet) -> &ReplicaSetStatus {
    zero_or!(r.status, ReplicaSetStatus)
}

fn count(out: Out<'_, '_>, value: Option<i32>) {
    out.push([], f64::from(value.unwrap_or(0)));
}

// ---- families ----------------------------------------------------------------

fn status_replicas<'a>(r: &'a ReplicaSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(r).replicas);
}

fn status_fully_labeled_replicas<'a>(r: &'a ReplicaSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(r).fully_labeled_replicas);
}

fn status_ready_replicas<'a>(r: &'a ReplicaSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(r).ready_replicas);
}

/// A pointer field in the API: unset means the controller does not report it.
fn status_terminating_replicas<'a>(r: &'a ReplicaSet, _: &Context, out: Out<'a, '_>) {
    if let Some(n) = status(r).terminating_replicas {
        out.push([], f64::from(n));
    }
}

fn status_observed_generation<'a>(r: &'a ReplicaSet, _: &Context, out: Out<'a, '_>) {
    out.push([], status(r).observed_generation.unwrap_or(0) as f64);
}

fn spec_replicas<'a>(r: &'a ReplicaSet, _: &Context, out: Out<'a, '_>) {
    if let Some(n) = spec(r).replicas {
        out.push([], f64::from(n));
    }
}
