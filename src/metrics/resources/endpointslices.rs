//! `endpointslices`: 7 families, in kube-state-metrics' order. Default labels:
//! endpointslice, namespace (name first, unlike most resources).

use std::borrow::Cow;

use crate::api::discovery::v1::{EndpointConditions, EndpointSlice};
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{bool_word, s, zero_or};
use crate::metrics::resource::ResourceDef;

#[rustfmt::skip]
pub static FAMILIES: &[Family<EndpointSlice>] = &[
    gauge("kube_endpointslice_info", Alpha, "Address type of the endpoint slice.", &["addresstype"], info),
    generic::created("kube_endpointslice_created", Alpha),
    gauge("kube_endpointslice_endpoints_hints", Alpha, "Each zone an endpoint is hinted for, by the endpoint's first address.", &["address", "for_zone"], endpoints_hints),
    gauge("kube_endpointslice_endpoints", Alpha, "Each address of each endpoint, with the endpoint's conditions, target and placement.", &["ready", "serving", "hostname", "terminating", "targetref_kind", "targetref_name", "targetref_namespace", "endpoint_nodename", "endpoint_zone", "address"], endpoints),
    gauge("kube_endpointslice_ports", Alpha, "Each port of the endpoint slice.", &["port_name", "port_protocol", "port_number"], ports),
    generic::annotations("kube_endpointslice_annotations", Alpha),
    generic::labels("kube_endpointslice_labels", Alpha),
];

pub static RESOURCE: ResourceDef<EndpointSlice> = ResourceDef {
    default_labels: &["endpointslice", "namespace"],
    default_values,
    families: FAMILIES,
};

fn default_values(slice: &EndpointSlice) -> Vec<&str> {
    let m = slice.metadata();
    vec![s(&m.name), s(&m.namespace)]
}

/// An optional condition as `true`/`false`, empty when unset.
fn tri_state(flag: Option<bool>) -> &'static str {
    flag.map_or("", bool_word)
}

fn info<'a>(e: &'a EndpointSlice, _: &Context, out: Out<'a, '_>) {
    out.push([s(&e.address_type)], 1.0);
}

/// Endpoints without hints or without any address give no series.
fn endpoints_hints<'a>(e: &'a EndpointSlice, _: &Context, out: Out<'a, '_>) {
    for ep in &e.endpoints {
        let (Some(hints), Some(first)) = (&ep.hints, ep.addresses.first()) else {
            continue;
        };
        for zone in &hints.for_zones {
            out.push([first.as_str(), s(&zone.name)], 1.0);
        }
    }
}

fn endpoints<'a>(e: &'a EndpointSlice, _: &Context, out: Out<'a, '_>) {
    for ep in &e.endpoints {
        let c = zero_or!(ep.conditions, EndpointConditions);
        let (kind, name, namespace) = ep
            .target_ref
            .as_ref()
            .map_or(("", "", ""), |t| (s(&t.kind), s(&t.name), s(&t.namespace)));
        for address in &ep.addresses {
            out.push(
                [
                    tri_state(c.ready),
                    tri_state(c.serving),
                    s(&ep.hostname),
                    tri_state(c.terminating),
                    kind,
                    name,
                    namespace,
                    s(&ep.node_name),
                    s(&ep.zone),
                    address.as_str(),
                ],
                1.0,
            );
        }
    }
}

/// Every field of a slice port is optional; an unset port number is empty, not 0.
fn ports<'a>(e: &'a EndpointSlice, _: &Context, out: Out<'a, '_>) {
    for port in &e.ports {
        let number = port
            .port
            .map_or(Cow::Borrowed(""), |p| Cow::Owned(p.to_string()));
        out.push_owned(
            vec![
                Cow::Borrowed(s(&port.name)),
                Cow::Borrowed(s(&port.protocol)),
                number,
            ],
            1.0,
        );
    }
}
