//! `configmaps`: 5 families, in kube-state-metrics' order. Default labels: namespace,
//! configmap. Only metadata is read, so a metadata-only listing serves every family.

use crate::api::core::v1::ConfigMap;
use crate::metrics::family::{Family, Stability::*};
use crate::metrics::generic;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<ConfigMap>] = &[
    generic::annotations("kube_configmap_annotations", Alpha),
    generic::labels("kube_configmap_labels", Stable),
    generic::info("kube_configmap_info", Stable, "1 for every config map."),
    generic::created("kube_configmap_created", Stable),
    generic::resource_version("kube_configmap_metadata_resource_version", Alpha),
];

pub static RESOURCE: ResourceDef<ConfigMap> = ResourceDef {
    default_labels: &["namespace", "configmap"],
    default_values: namespace_and_name,
    families: FAMILIES,
};
