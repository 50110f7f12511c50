//! `clusterrolebindings`: 5 families, in kube-state-metrics' order. Default label:
//! clusterrolebinding.

use crate::api::rbac::v1::{ClusterRoleBinding, RoleRef};
use crate::metrics::family::{gauge, Context, Family, Samples, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{name_only, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<ClusterRoleBinding>] = &[
    generic::annotations("kube_clusterrolebinding_annotations", Alpha),
    generic::labels("kube_clusterrolebinding_labels", Alpha),
    gauge("kube_clusterrolebinding_info", Alpha, "The role the cluster role binding grants.", &["roleref_kind", "roleref_name"], info),
    generic::created("kube_clusterrolebinding_created", Alpha),
    generic::resource_version("kube_clusterrolebinding_metadata_resource_version", Alpha),
];

pub static RESOURCE: ResourceDef<ClusterRoleBinding> = ResourceDef {
    default_labels: &["clusterrolebinding"],
    default_values: name_only::<ClusterRoleBinding>,
    families: FAMILIES,
};

fn info<'a>(b: &'a ClusterRoleBinding, _: &Context, out: &mut Samples<'a>) {
    let role = zero_or!(b.role_ref, RoleRef);
    out.push([s(&role.kind), s(&role.name)], 1.0);
}
