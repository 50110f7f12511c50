//! `namespaces`: 5 families, in kube-state-metrics' order. Default label: namespace
//! (the Namespace's own name).

use crate::api::core::v1::{Namespace, NamespaceStatus};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, bool_value, s, zero_or};
use crate::metrics::resource::{name_only, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<Namespace>] = &[
    generic::created("kube_namespace_created", Stable),
    generic::annotations("kube_namespace_annotations", Alpha),
    generic::labels("kube_namespace_labels", Stable),
    gauge("kube_namespace_status_phase", Stable, "Phase of the namespace, one series per phase (Active, Terminating).", &["phase"], status_phase),
    gauge("kube_namespace_status_condition", Alpha, "Status of each namespace condition, one series per status.", &["condition", "status"], status_condition),
];

pub static RESOURCE: ResourceDef<Namespace> = ResourceDef {
    default_labels: &["namespace"],
    default_values: name_only,
    families: FAMILIES,
};

fn status(n: &Namespace) -> &NamespaceStatus {
    zero_or!(n.status, NamespaceStatus)
}

/// Both phases are always written, an unset phase giving 0 on each.
fn status_phase<'a>(n: &'a Namespace, _: &Context, out: Out<'a, '_>) {
    let phase = s(&status(n).phase);
    for known in ["Active", "Terminating"] {
        out.push([known], bool_value(phase == known));
    }
}

fn status_condition<'a>(n: &'a Namespace, _: &Context, out: Out<'a, '_>) {
    for c in &status(n).conditions {
        for (word, value) in kube::condition_statuses(s(&c.status)) {
            out.push([s(&c.r#type), word], value);
        }
    }
}
