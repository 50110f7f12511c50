//! `leases`: 2 families, in kube-state-metrics' order. Default label: lease only;
//! KSM adds `namespace` as a family label of each family instead.

use crate::api::coordination::v1::{Lease, LeaseSpec};
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::kube::{s, zero_or, GO_ZERO_TIME_UNIX};
use crate::metrics::resource::{name_only, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<Lease>] = &[
    gauge("kube_lease_owner", Alpha, "Each owner reference of the lease with its current holder; empty owner labels when it has none.", &["owner_kind", "owner_name", "namespace", "lease_holder"], owner),
    gauge("kube_lease_renew_time", Alpha, "Unix time at which the holder last renewed the lease.", &["namespace"], renew_time),
];

pub static RESOURCE: ResourceDef<Lease> = ResourceDef {
    default_labels: &["lease"],
    default_values: name_only::<Lease>,
    families: FAMILIES,
};

fn spec(l: &Lease) -> &LeaseSpec {
    zero_or!(l.spec, LeaseSpec)
}

/// Unlike the generic owner family: the namespace and holder follow, and there is
/// no owner_is_controller label.
fn owner<'a>(l: &'a Lease, _: &Context, out: Out<'a, '_>) {
    let m = l.metadata();
    let (namespace, holder) = (s(&m.namespace), s(&spec(l).holder_identity));
    if m.owner_references.is_empty() {
        out.push(["", "", namespace, holder], 1.0);
    }
    for o in &m.owner_references {
        out.push([s(&o.kind), s(&o.name), namespace, holder], 1.0);
    }
}

/// `renewTime` is a MicroTime; whole seconds, no series when unset or zero.
fn renew_time<'a>(l: &'a Lease, _: &Context, out: Out<'a, '_>) {
    let seconds = spec(l).renew_time.as_ref().and_then(|t| t.seconds);
    if let Some(seconds) = seconds.filter(|&t| t != GO_ZERO_TIME_UNIX) {
        out.push([s(&l.metadata().namespace)], seconds as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::meta::v1::MicroTime;
    use crate::metrics::family::Samples;

    fn renewed(seconds: Option<i64>) -> Vec<f64> {
        let lease = Lease {
            spec: Some(LeaseSpec {
                renew_time: Some(MicroTime {
                    seconds,
                    nanos: Some(500_000_000),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut out = Samples::default();
        renew_time(&lease, &Context::default(), &mut out);
        out.samples.iter().map(|s| s.value).collect()
    }

    #[test]
    fn renew_time_is_whole_seconds_and_absent_when_zero() {
        assert_eq!(renewed(Some(1_700_000_000)), [1.7e9]);
        assert!(renewed(Some(GO_ZERO_TIME_UNIX)).is_empty());
        assert!(renewed(None).is_empty());
    }
}
