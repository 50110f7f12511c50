//! `resourcequotas`: 4 families, in kube-state-metrics' order. Default labels:
//! namespace, resourcequota.

use crate::api::core::v1::{ResourceQuota, ResourceQuotaStatus};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<ResourceQuota>] = &[
    generic::created("kube_resourcequota_created", Stable),
    gauge("kube_resourcequota", Stable, "Hard limit and current use of each resource of the quota (cpu in cores, other resources in their base unit).", &["resource", "type"], quota),
    generic::annotations("kube_resourcequota_annotations", Alpha),
    generic::labels("kube_resourcequota_labels", Stable),
];

pub static RESOURCE: ResourceDef<ResourceQuota> = ResourceDef {
    default_labels: &["namespace", "resourcequota"],
    default_values: namespace_and_name::<ResourceQuota>,
    families: FAMILIES,
};

/// Reads the status (what the quota controller enforces), not the spec; resource
/// names stay as spelled (`requests.cpu`, `count/pods`).
fn quota<'a>(r: &'a ResourceQuota, _: &Context, out: Out<'a, '_>) {
    let status = zero_or!(r.status, ResourceQuotaStatus);
    for (list, kind) in [(&status.hard, "hard"), (&status.used, "used")] {
        for (resource, value) in list {
            if let Some(q) = kube::quantity(value) {
                out.push([resource.as_str(), kind], q.cores());
            }
        }
    }
}
