//! `ingresses`: 7 families, in kube-state-metrics' order. Default labels: namespace, ingress.

use std::borrow::Cow;

use crate::api::core::v1::TypedLocalObjectReference;
use crate::api::networking::v1::{Ingress, IngressBackend, IngressSpec};
use crate::api::Kind;
use crate::metrics::family::{dynamic_gauge, gauge, Context, Family, Out, Sample, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

const SERVICE_BACKEND: [&str; 5] = ["host", "path", "path_type", "service_name", "service_port"];
const RESOURCE_BACKEND: [&str; 6] = [
    "host",
    "path",
    "path_type",
    "resource_api_group",
    "resource_kind",
    "resource_name",
];

#[rustfmt::skip]
pub static FAMILIES: &[Family<Ingress>] = &[
    gauge("kube_ingress_info", Stable, "Ingress class of the ingress (annotation, else spec, else _default).", &["ingressclass"], info),
    generic::annotations("kube_ingress_annotations", Alpha),
    generic::labels("kube_ingress_labels", Stable),
    generic::created("kube_ingress_created", Stable),
    generic::resource_version("kube_ingress_metadata_resource_version", Alpha),
    // The label names depend on the backend: a service, or a typed resource reference.
    dynamic_gauge("kube_ingress_path", Stable, "Each host and path of the ingress with its backend.", path),
    gauge("kube_ingress_tls", Stable, "Each TLS host of the ingress with the secret serving it.", &["tls_host", "secret"], tls),
];

pub static RESOURCE: ResourceDef<Ingress> = ResourceDef {
    default_labels: &["namespace", "ingress"],
    default_values: namespace_and_name::<Ingress>,
    families: FAMILIES,
};

fn spec(i: &Ingress) -> &IngressSpec {
    zero_or!(i.spec, IngressSpec)
}

/// The deprecated annotation wins over `spec.ingressClassName`, as in KSM.
fn info<'a>(i: &'a Ingress, _: &Context, out: Out<'a, '_>) {
    let class = i
        .metadata()
        .annotations
        .get("kubernetes.io/ingress.class")
        .map(String::as_str)
        .or(spec(i).ingress_class_name.as_deref())
        .unwrap_or("_default");
    out.push([class], 1.0);
}

/// A service backend's port is its number (0 for a named port), as KSM reads it.
fn path<'a>(i: &'a Ingress, _: &Context, out: Out<'a, '_>) {
    for rule in &spec(i).rules {
        let http = rule
            .ingress_rule_value
            .as_ref()
            .and_then(|v| v.http.as_ref());
        for p in http.map_or(&[][..], |h| &h.paths) {
            let backend = zero_or!(p.backend, IngressBackend);
            let mut values: Vec<Cow<'a, str>> = [&rule.host, &p.path, &p.path_type]
                .map(|v| Cow::Borrowed(s(v)))
                .into();
            let keys: &[&'static str] = match &backend.service {
                Some(service) => {
                    let port = service.port.as_ref().and_then(|p| p.number).unwrap_or(0);
                    values.extend([s(&service.name).into(), port.to_string().into()]);
                    &SERVICE_BACKEND
                }
                None => {
                    let r = zero_or!(backend.resource, TypedLocalObjectReference);
                    values.extend([&r.api_group, &r.kind, &r.name].map(|v| Cow::Borrowed(s(v))));
                    &RESOURCE_BACKEND
                }
            };
            out.samples.push(Sample {
                keys: keys.iter().map(|&k| Cow::Borrowed(k)).collect(),
                values,
                value: 1.0,
            });
        }
    }
}

fn tls<'a>(i: &'a Ingress, _: &Context, out: Out<'a, '_>) {
    for t in &spec(i).tls {
        for host in &t.hosts {
            out.push([host.as_str(), s(&t.secret_name)], 1.0);
        }
    }
}
