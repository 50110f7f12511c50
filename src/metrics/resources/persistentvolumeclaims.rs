//! `persistentvolumeclaims`: 9 families, in kube-state-metrics' order.
//! Default labels: namespace, persistentvolumeclaim.

use crate::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus,
    VolumeResourceRequirements,
};
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, bool_value, s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

/// The pre-`storageClassName` way of naming a claim's class; KSM still prefers it.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

#[rustfmt::skip]
pub static FAMILIES: &[Family<PersistentVolumeClaim>] = &[
    generic::labels("kube_persistentvolumeclaim_labels", Stable),
    generic::annotations("kube_persistentvolumeclaim_annotations", Alpha),
    gauge("kube_persistentvolumeclaim_info", Stable, "Storage class, bound volume and volume mode of the claim.", &["storageclass", "volumename", "volumemode"], info),
    gauge("kube_persistentvolumeclaim_status_phase", Stable, "Phase of the claim, one series per phase.", &["phase"], status_phase),
    gauge("kube_persistentvolumeclaim_resource_requests_storage_bytes", Stable, "Storage the claim requests, in bytes.", &[], requests_storage_bytes),
    gauge("kube_persistentvolumeclaim_access_mode", Stable, "Each access mode the claim asks for.", &["access_mode"], access_mode),
    gauge("kube_persistentvolumeclaim_status_condition", Alpha, "Status of each condition of the claim, one series per status.", &["condition", "status"], status_condition),
    generic::created("kube_persistentvolumeclaim_created", Alpha),
    generic::deletion_timestamp("kube_persistentvolumeclaim_deletion_timestamp", Alpha),
];

pub static RESOURCE: ResourceDef<PersistentVolumeClaim> = ResourceDef {
    default_labels: &["namespace", "persistentvolumeclaim"],
    default_values: namespace_and_name,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(p: &PersistentVolumeClaim) -> &PersistentVolumeClaimSpec {
    zero_or!(p.spec, PersistentVolumeClaimSpec)
}

fn status(p: &PersistentVolumeClaim) -> &PersistentVolumeClaimStatus {
    zero_or!(p.status, PersistentVolumeClaimStatus)
}

/// The beta annotation wins, even when empty; then `spec.storageClassName`.
fn storage_class(p: &PersistentVolumeClaim) -> &str {
    match p.metadata().annotations.get(BETA_STORAGE_CLASS) {
        Some(class) => class,
        None => s(&spec(p).storage_class_name),
    }
}

// ---- families ----------------------------------------------------------------

/// Unlike persistent volumes, an unset volume mode stays empty here.
fn info<'a>(p: &'a PersistentVolumeClaim, _: &Context, out: Out<'a, '_>) {
    out.push(
        [
            storage_class(p),
            s(&spec(p).volume_name),
            s(&spec(p).volume_mode),
        ],
        1.0,
    );
}

fn status_phase<'a>(p: &'a PersistentVolumeClaim, _: &Context, out: Out<'a, '_>) {
    let phase = s(&status(p).phase);
    if phase.is_empty() {
        return;
    }
    for choice in ["Lost", "Bound", "Pending"] {
        out.push([choice], bool_value(phase == choice));
    }
}

fn requests_storage_bytes<'a>(p: &'a PersistentVolumeClaim, _: &Context, out: Out<'a, '_>) {
    let requests = &zero_or!(spec(p).resources, VolumeResourceRequirements).requests;
    if let Some(storage) = requests.get("storage") {
        out.push([], kube::quantity(storage).map_or(0.0, |q| q.value()));
    }
}

fn access_mode<'a>(p: &'a PersistentVolumeClaim, _: &Context, out: Out<'a, '_>) {
    for mode in &spec(p).access_modes {
        out.push([mode.as_str()], 1.0);
    }
}

fn status_condition<'a>(p: &'a PersistentVolumeClaim, _: &Context, out: Out<'a, '_>) {
    for c in &status(p).conditions {
        for (word, value) in kube::condition_statuses(s(&c.status)) {
            out.push([s(&c.r#type), word], value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::meta::v1::ObjectMeta;

    #[test]
    fn beta_annotation_wins_over_the_spec_even_when_empty() {
        let mut claim = PersistentVolumeClaim {
            spec: Some(PersistentVolumeClaimSpec {
                storage_class_name: Some("fast".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(storage_class(&claim), "fast");
        let mut meta = ObjectMeta::default();
        meta.annotations
            .insert(BETA_STORAGE_CLASS.into(), "".into());
        claim.metadata = Some(meta);
        assert_eq!(storage_class(&claim), "");
    }
}
