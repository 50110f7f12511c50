//! `storageclasses`: 4 families, in kube-state-metrics' order. Default label: storageclass.

use crate::api::storage::v1::StorageClass;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::s;
use crate::metrics::resource::{name_only, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<StorageClass>] = &[
    gauge("kube_storageclass_info", Stable, "Provisioner, reclaim policy and volume binding mode of the storage class.", &["provisioner", "reclaim_policy", "volume_binding_mode"], info),
    generic::created("kube_storageclass_created", Stable),
    generic::annotations("kube_storageclass_annotations", Alpha),
    generic::labels("kube_storageclass_labels", Stable),
];

pub static RESOURCE: ResourceDef<StorageClass> = ResourceDef {
    default_labels: &["storageclass"],
    default_values: name_only,
    families: FAMILIES,
};

/// Unset policies read as the defaults the API server would have filled in
/// (Delete, Immediate).
fn info<'a>(c: &'a StorageClass, _: &Context, out: Out<'a, '_>) {
    out.push(
        [
            s(&c.provisioner),
            c.reclaim_policy.as_deref().unwrap_or("Delete"),
            c.volume_binding_mode.as_deref().unwrap_or("Immediate"),
        ],
        1.0,
    );
}
