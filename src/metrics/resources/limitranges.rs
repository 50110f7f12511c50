//! `limitranges`: 2 families, in kube-state-metrics' order. Default labels:
//! namespace, limitrange.

use std::collections::BTreeMap;

use crate::api::core::v1::{LimitRange, LimitRangeSpec};
use crate::api::resource::Quantity as QuantityMessage;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<LimitRange>] = &[
    gauge("kube_limitrange", Stable, "Each constraint of each limit of the range (cpu in cores, other resources in their base unit).", &["resource", "type", "constraint"], limits),
    generic::created("kube_limitrange_created", Stable),
];

pub static RESOURCE: ResourceDef<LimitRange> = ResourceDef {
    default_labels: &["namespace", "limitrange"],
    default_values: namespace_and_name::<LimitRange>,
    families: FAMILIES,
};

/// Resource names are written as the object spells them (not sanitized), and every
/// quantity uses KSM's milli-based conversion, whatever the resource.
fn limits<'a>(r: &'a LimitRange, _: &Context, out: Out<'a, '_>) {
    for item in &zero_or!(r.spec, LimitRangeSpec).limits {
        let constraints: [(&BTreeMap<String, QuantityMessage>, &str); 5] = [
            (&item.min, "min"),
            (&item.max, "max"),
            (&item.default, "default"),
            (&item.default_request, "defaultRequest"),
            (&item.max_limit_request_ratio, "maxLimitRequestRatio"),
        ];
        for (list, constraint) in constraints {
            for (resource, value) in list {
                if let Some(q) = kube::quantity(value) {
                    out.push([resource.as_str(), s(&item.r#type), constraint], q.cores());
                }
            }
        }
    }
}
