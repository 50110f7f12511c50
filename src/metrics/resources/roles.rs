//! `roles`: 5 families, in kube-state-metrics' order. Default labels: namespace, role.

use crate::api::rbac::v1::Role;
use crate::metrics::family::{Family, Stability::*};
use crate::metrics::generic;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<Role>] = &[
    generic::annotations("kube_role_annotations", Alpha),
    generic::labels("kube_role_labels", Alpha),
    generic::info("kube_role_info", Alpha, "One series per role."),
    generic::created("kube_role_created", Alpha),
    generic::resource_version("kube_role_metadata_resource_version", Alpha),
];

pub static RESOURCE: ResourceDef<Role> = ResourceDef {
    default_labels: &["namespace", "role"],
    default_values: namespace_and_name::<Role>,
    families: FAMILIES,
};
