//! `statefulsets`: 16 families, in kube-state-metrics' order. Default labels:
//! namespace, statefulset.

use crate::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy as RetentionPolicy,
    StatefulSetSpec, StatefulSetStatus,
};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<StatefulSet>] = &[
    generic::created("kube_statefulset_created", Stable),
    gauge("kube_statefulset_status_replicas", Stable, "Pods the stateful set currently runs.", &[], status_replicas),
    gauge("kube_statefulset_status_replicas_available", Stable, "Available pods of the stateful set (ready for at least minReadySeconds).", &[], status_replicas_available),
    gauge("kube_statefulset_status_replicas_current", Stable, "Pods of the stateful set on the current revision.", &[], status_replicas_current),
    gauge("kube_statefulset_status_replicas_ready", Stable, "Ready pods of the stateful set.", &[], status_replicas_ready),
    gauge("kube_statefulset_status_replicas_updated", Stable, "Pods of the stateful set on the update revision.", &[], status_replicas_updated),
    gauge("kube_statefulset_status_observed_generation", Stable, "Generation of the stateful set last acted on by its controller.", &[], status_observed_generation),
    gauge("kube_statefulset_replicas", Stable, "Pods the stateful set is asked to run.", &[], replicas),
    gauge("kube_statefulset_ordinals_start", Stable, "First ordinal of the stateful set's pods.", &[], ordinals_start),
    generic::generation("kube_statefulset_metadata_generation", Stable),
    gauge("kube_statefulset_persistentvolumeclaim_retention_policy", Stable, "What happens to the stateful set's claims when it is deleted or scaled down.", &["when_deleted", "when_scaled"], retention_policy),
    generic::annotations("kube_statefulset_annotations", Stable),
    generic::labels("kube_statefulset_labels", Stable),
    gauge("kube_statefulset_status_current_revision", Stable, "Revision of the pods in [0, currentReplicas).", &["revision"], current_revision),
    gauge("kube_statefulset_status_update_revision", Stable, "Revision of the pods in [replicas - updatedReplicas, replicas).", &["revision"], update_revision),
    generic::deletion_timestamp("kube_statefulset_deletion_timestamp", Stable),
];

pub static RESOURCE: ResourceDef<StatefulSet> = ResourceDef {
    default_labels: &["namespace", "statefulset"],
    default_values: namespace_and_name,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(st: &StatefulSet) -> &StatefulSetSpec {
    zero_or!(st.spec, StatefulSetSpec)
}

fn status(st: &StatefulSet) -> &StatefulSetStatus {
    zero_or!(st.status, StatefulSetStatus)
}

fn count(out: Out<'_, '_>, value: Option<i32>) {
    out.push([], f64::from(value.unwrap_or(0)));
}

// ---- families ----------------------------------------------------------------

fn status_replicas<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(st).replicas);
}

fn status_replicas_available<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(st).available_replicas);
}

fn status_replicas_current<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(st).current_replicas);
}

fn status_replicas_ready<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(st).ready_replicas);
}

fn status_replicas_updated<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    count(out, status(st).updated_replicas);
}

fn status_observed_generation<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    out.push([], status(st).observed_generation.unwrap_or(0) as f64);
}

fn replicas<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    if let Some(n) = spec(st).replicas {
        out.push([], f64::from(n));
    }
}

fn ordinals_start<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    if let Some(ordinals) = &spec(st).ordinals {
        out.push([], f64::from(ordinals.start.unwrap_or(0)));
    }
}

/// No series while neither policy is set: an unset policy and an empty one read
/// the same.
fn retention_policy<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    let policy = zero_or!(
        spec(st).persistent_volume_claim_retention_policy,
        RetentionPolicy
    );
    let (deleted, scaled) = (s(&policy.when_deleted), s(&policy.when_scaled));
    if !deleted.is_empty() || !scaled.is_empty() {
        out.push([deleted, scaled], 1.0);
    }
}

fn current_revision<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    out.push([s(&status(st).current_revision)], 1.0);
}

fn update_revision<'a>(st: &'a StatefulSet, _: &Context, out: Out<'a, '_>) {
    out.push([s(&status(st).update_revision)], 1.0);
}
