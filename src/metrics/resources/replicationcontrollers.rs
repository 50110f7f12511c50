//! `replicationcontrollers`: 9 families, in kube-state-metrics' order. Default
//! labels: namespace, replicationcontroller.

use crate::api::core::v1::{
    ReplicationController, ReplicationControllerSpec, ReplicationControllerStatus,
};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::zero_or;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

type Rc = ReplicationController;

#[rustfmt::skip]
pub static FAMILIES: &[Family<Rc>] = &[
    generic::created("kube_replicationcontroller_created", Stable),
    gauge("kube_replicationcontroller_status_replicas", Stable, "Pods the replication controller currently runs.", &[], status_replicas),
    gauge("kube_replicationcontroller_status_fully_labeled_replicas", Stable, "Pods whose labels match the replication controller's pod template labels.", &[], status_fully_labeled_replicas),
    gauge("kube_replicationcontroller_status_ready_replicas", Stable, "Ready pods of the replication controller.", &[], status_ready_replicas),
    gauge("kube_replicationcontroller_status_available_replicas", Stable, "Available pods of the replication controller (ready for at least minReadySeconds).", &[], status_available_replicas),
    gauge("kube_replicationcontroller_status_observed_generation", Stable, "Generation of the replication controller last acted on by its controller.", &[], status_observed_generation),
    gauge("kube_replicationcontroller_spec_replicas", Stable, "Pods the replication controller is asked to run.", &[], spec_replicas),
    generic::generation("kube_replicationcontroller_metadata_generation", Stable),
    generic::owner("kube_replicationcontroller_owner", Alpha),
];

pub static RESOURCE: ResourceDef<Rc> = ResourceDef {
    default_labels: &["namespace", "replicationcontroller"],
    default_values: namespace_and_name,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(r: &Rc) -> &ReplicationControllerSpec {
    zero_or!(r.spec, ReplicationControllerSpec)
}

fn status(r: &Rc) -> &ReplicationControllerStatus {
    zero_or!(r.status, ReplicationControllerStatus)
}

fn count(out: Out<'_, '_>, value: Option<i32>) {
    out.push([], f64::from(value.unwrap_or(0)));
}

// ---- families ----------------------------------------------------------------

fn status_replicas<'a>(r: &'a Rc, _: &Context, out: Out<'a, '_>) {
    count(out, status(r).replicas);
}

fn status_fully_labeled_replicas<'a>(r: &'a Rc, _: &Context, out: Out<'a, '_>) {
    count(out, status(r).fully_labeled_replicas);
}

fn status_ready_replicas<'a>(r: &'a Rc, _: &Context, out: Out<'a, '_>) {
    count(out, status(r).ready_replicas);
}

fn status_available_replicas<'a>(r: &'a Rc, _: &Context, out: Out<'a, '_>) {
    count(out, status(r).available_replicas);
}

fn status_observed_generation<'a>(r: &'a Rc, _: &Context, out: Out<'a, '_>) {
    out.push([], status(r).observed_generation.unwrap_or(0) as f64);
}

fn spec_replicas<'a>(r: &'a Rc, _: &Context, out: Out<'a, '_>) {
    if let Some(n) = spec(r).replicas {
        out.push([], f64::from(n));
    }
}
