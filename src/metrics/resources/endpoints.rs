//! `endpoints`: 6 families, in kube-state-metrics' order (KSM names them in the
//! singular, `kube_endpoint_*`). Default labels: namespace, endpoint.

use std::borrow::Cow;

use crate::api::core::v1::{EndpointPort, Endpoints};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::s;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<Endpoints>] = &[
    generic::info("kube_endpoint_info", Stable, "1 for every Endpoints object."),
    generic::created("kube_endpoint_created", Stable),
    generic::annotations("kube_endpoint_annotations", Alpha),
    generic::labels("kube_endpoint_labels", Stable),
    gauge("kube_endpoint_address", Stable, "Each address of each subset, per port of the subset, with whether it is ready.", &["port_protocol", "port_number", "port_name", "ip", "ready"], address),
    gauge("kube_endpoint_ports", Stable, "(Deprecated since v2.14.0) Each port of each subset.", &["port_name", "port_protocol", "port_number"], ports),
];

pub static RESOURCE: ResourceDef<Endpoints> = ResourceDef {
    default_labels: &["namespace", "endpoint"],
    default_values: namespace_and_name::<Endpoints>,
    families: FAMILIES,
};

/// An unset port reads as Go's zero, `0`.
fn port_number(p: &EndpointPort) -> Cow<'static, str> {
    Cow::Owned(p.port.unwrap_or(0).to_string())
}

/// A subset without ports yields no series, whatever its addresses.
fn address<'a>(e: &'a Endpoints, _: &Context, out: Out<'a, '_>) {
    for subset in &e.subsets {
        for port in &subset.ports {
            let ready = subset.addresses.iter().map(|a| (a, "true"));
            let not_ready = subset.not_ready_addresses.iter().map(|a| (a, "false"));
            for (a, word) in ready.chain(not_ready) {
                out.push_owned(
                    vec![
                        Cow::Borrowed(s(&port.protocol)),
                        port_number(port),
                        Cow::Borrowed(s(&port.name)),
                        Cow::Borrowed(s(&a.ip)),
                        Cow::Borrowed(word),
                    ],
                    1.0,
                );
            }
        }
    }
}

fn ports<'a>(e: &'a Endpoints, _: &Context, out: Out<'a, '_>) {
    for port in e.subsets.iter().flat_map(|subset| &subset.ports) {
        out.push_owned(
            vec![
                Cow::Borrowed(s(&port.name)),
                Cow::Borrowed(s(&port.protocol)),
                port_number(port),
            ],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::v1::{EndpointAddress, EndpointSubset};
    use crate::metrics::family::Samples;

    fn address_of(ip: &str) -> EndpointAddress {
        EndpointAddress {
            ip: Some(ip.into()),
            ..Default::default()
        }
    }

    #[test]
    fn addresses_are_crossed_with_the_ports_of_their_own_subset() {
        let port = |n: i32| EndpointPort {
            port: Some(n),
            ..Default::default()
        };
        let e = Endpoints {
            subsets: vec![
                EndpointSubset {
                    addresses: vec![address_of("10.0.0.1")],
                    not_ready_addresses: vec![address_of("10.0.0.2")],
                    ports: vec![port(80), port(443)],
                },
                EndpointSubset {
                    addresses: vec![address_of("10.0.0.3")],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let mut out = Samples::default();
        address(&e, &Context::default(), &mut out);
        let got: Vec<String> = out
            .samples
            .iter()
            .map(|s| format!("{}/{}/{}", s.values[1], s.values[3], s.values[4]))
            .collect();
        assert_eq!(
            got,
            [
                "80/10.0.0.1/true",
                "80/10.0.0.2/false",
                "443/10.0.0.1/true",
                "443/10.0.0.2/false"
            ]
        );
    }
}
