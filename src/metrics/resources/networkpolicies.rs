//! `networkpolicies`: 5 families, in kube-state-metrics' order. Default labels:
//! namespace, networkpolicy.

use crate::api::networking::v1::{NetworkPolicy, NetworkPolicySpec};
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{unix, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<NetworkPolicy>] = &[
    gauge("kube_networkpolicy_created", Alpha, "Unix time at which the network policy was created.", &[], created),
    generic::annotations("kube_networkpolicy_annotations", Alpha),
    generic::labels("kube_networkpolicy_labels", Alpha),
    gauge("kube_networkpolicy_spec_ingress_rules", Alpha, "How many ingress rules the network policy has.", &[], spec_ingress_rules),
    gauge("kube_networkpolicy_spec_egress_rules", Alpha, "How many egress rules the network policy has.", &[], spec_egress_rules),
];

pub static RESOURCE: ResourceDef<NetworkPolicy> = ResourceDef {
    default_labels: &["namespace", "networkpolicy"],
    default_values: namespace_and_name::<NetworkPolicy>,
    families: FAMILIES,
};

fn spec(n: &NetworkPolicy) -> &NetworkPolicySpec {
    zero_or!(n.spec, NetworkPolicySpec)
}

/// Unlike the generic family, KSM emits this one even for an unset time (Go's zero time).
fn created<'a>(n: &'a NetworkPolicy, _: &Context, out: Out<'a, '_>) {
    out.push([], unix(&n.metadata().creation_timestamp));
}

fn spec_ingress_rules<'a>(n: &'a NetworkPolicy, _: &Context, out: Out<'a, '_>) {
    out.push([], spec(n).ingress.len() as f64);
}

fn spec_egress_rules<'a>(n: &'a NetworkPolicy, _: &Context, out: Out<'a, '_>) {
    out.push([], spec(n).egress.len() as f64);
}
