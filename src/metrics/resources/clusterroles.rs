//! `clusterroles`: 5 families, in kube-state-metrics' order. Default label: clusterrole.

use crate::api::rbac::v1::ClusterRole;
use crate::metrics::family::{Family, Stability::*};
use crate::metrics::generic;
use crate::metrics::resource::{name_only, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<ClusterRole>] = &[
    generic::annotations("kube_clusterrole_annotations", Alpha),
    generic::labels("kube_clusterrole_labels", Alpha),
    generic::info("kube_clusterrole_info", Alpha, "One series per cluster role."),
    generic::created("kube_clusterrole_created", Alpha),
    generic::resource_version("kube_clusterrole_metadata_resource_version", Alpha),
];

pub static RESOURCE: ResourceDef<ClusterRole> = ResourceDef {
    default_labels: &["clusterrole"],
    default_values: name_only::<ClusterRole>,
    families: FAMILIES,
};
