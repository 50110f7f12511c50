//! `daemonsets`: 13 families, in kube-state-metrics' order. Default labels:
//! namespace, daemonset.

use crate::api::apps::v1::{DaemonSet, DaemonSetStatus};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::zero_or;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<DaemonSet>] = &[
    generic::created("kube_daemonset_created", Stable),
    gauge("kube_daemonset_status_current_number_scheduled", Stable, "Nodes that run a daemon pod and should.", &[], current_number_scheduled),
    gauge("kube_daemonset_status_desired_number_scheduled", Stable, "Nodes that should run a daemon pod.", &[], desired_number_scheduled),
    gauge("kube_daemonset_status_number_available", Stable, "Nodes that should run a daemon pod and have an available one.", &[], number_available),
    gauge("kube_daemonset_status_number_misscheduled", Stable, "Nodes that run a daemon pod but should not.", &[], number_misscheduled),
    gauge("kube_daemonset_status_number_ready", Stable, "Nodes that should run a daemon pod and have a ready one.", &[], number_ready),
    gauge("kube_daemonset_status_number_unavailable", Stable, "Nodes that should run a daemon pod and have no available one.", &[], number_unavailable),
    gauge("kube_daemonset_status_observed_generation", Stable, "Generation of the daemon set last acted on by its controller.", &[], observed_generation),
    gauge("kube_daemonset_status_updated_number_scheduled", Stable, "Nodes that run a daemon pod of the newest template.", &[], updated_number_scheduled),
    generic::generation("kube_daemonset_metadata_generation", Stable),
    generic::deletion_timestamp("kube_daemonset_deletion_timestamp", Alpha),
    generic::annotations("kube_daemonset_annotations", Alpha),
    generic::labels("kube_daemonset_labels", Stable),
];

pub static RESOURCE: ResourceDef<DaemonSet> = ResourceDef {
    default_labels: &["namespace", "daemonset"],
    default_values: namespace_and_name,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn status(d: &DaemonSet) -> &DaemonSetStatus {
    zero_or!(d.status, DaemonSetStatus)
}

fn count(out: Out<'_, '_>, value: Option<i32>) {
    out.push([], f64::from(value.unwrap_or(0)));
}

// ---- families ----------------------------------------------------------------

fn current_number_scheduled<'a>(d: &'a DaemonSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).current_number_scheduled);
}

fn desired_number_scheduled<'a>(d: &'a DaemonSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).desired_number_scheduled);
}

fn number_available<'a>(d: &'a DaemonSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).number_available);
}

fn number_misscheduled<'a>(d: &'a DaemonSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).number_misscheduled);
}

fn number_ready<'a>(d: &'a DaemonSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).number_ready);
}

fn number_unavailable<'a>(d: &'a DaemonSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).number_unavailable);
}

fn observed_generation<'a>(d: &'a DaemonSet, _: &Context, out: Out<'a, '_>) {
    out.push([], status(d).observed_generation.unwrap_or(0) as f64);
}

fn updated_number_scheduled<'a>(d: &'a DaemonSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).updated_number_scheduled);
}
