//! `rolebindings`: 5 families, in kube-state-metrics' order. Default labels:
//! namespace, rolebinding.

use crate::api::rbac::v1::{RoleBinding, RoleRef};
use crate::metrics::family::{gauge, Context, Family, Samples, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<RoleBinding>] = &[
    generic::annotations("kube_rolebinding_annotations", Alpha),
    generic::labels("kube_rolebinding_labels", Alpha),
    gauge("kube_rolebinding_info", Alpha, "The role the role binding grants.", &["roleref_kind", "roleref_name"], info),
    generic::created("kube_rolebinding_created", Alpha),
    generic::resource_version("kube_rolebinding_metadata_resource_version", Alpha),
];

pub static RESOURCE: ResourceDef<RoleBinding> = ResourceDef {
    default_labels: &["namespace", "rolebinding"],
    default_values: namespace_and_name::<RoleBinding>,
    families: FAMILIES,
};

fn info<'a>(b: &'a RoleBinding, _: &Context, out: &mut Samples<'a>) {
    let role = zero_or!(b.role_ref, RoleRef);
    out.push([s(&role.kind), s(&role.name)], 1.0);
}
