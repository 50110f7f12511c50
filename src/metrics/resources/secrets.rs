//! `secrets`: 7 families, in kube-state-metrics' order. Default labels: namespace,
//! secret. Nothing here reads a secret's data; `type` is the only field besides
//! metadata.

use crate::api::core::v1::Secret;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::s;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<Secret>] = &[
    generic::info("kube_secret_info", Stable, "1 for every secret."),
    gauge("kube_secret_type", Stable, "Type of the secret (Opaque, kubernetes.io/tls, ...).", &["type"], secret_type),
    generic::annotations("kube_secret_annotations", Alpha),
    generic::labels("kube_secret_labels", Stable),
    generic::created("kube_secret_created", Stable),
    generic::resource_version("kube_secret_metadata_resource_version", Alpha),
    generic::owner("kube_secret_owner", Alpha),
];

pub static RESOURCE: ResourceDef<Secret> = ResourceDef {
    default_labels: &["namespace", "secret"],
    default_values: namespace_and_name,
    families: FAMILIES,
};

/// An unset type is written as "", as Go's zero value (the API server defaults it
/// to Opaque on create, so this only shows for objects that lack it on the wire).
fn secret_type<'a>(secret: &'a Secret, _: &Context, out: Out<'a, '_>) {
    out.push([s(&secret.r#type)], 1.0);
}
