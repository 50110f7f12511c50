//! `mutatingadmissionpolicies`: 2 families, in kube-state-metrics' order. Default
//! labels: namespace (always empty: cluster-scoped), mutatingadmissionpolicy.

use crate::api::admissionregistration::v1beta1::{
    MutatingAdmissionPolicy, MutatingAdmissionPolicySpec, ParamKind,
};
use crate::metrics::family::{gauge, Context, Family, Samples, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<MutatingAdmissionPolicy>] = &[
    gauge("kube_mutatingadmissionpolicy_info", Alpha, "Parameter kind and failure and reinvocation policies of the mutating admission policy.", &["param_api_version", "param_kind", "failure_policy", "reinvocation_policy"], info),
    generic::created("kube_mutatingadmissionpolicy_created", Alpha),
];

pub static RESOURCE: ResourceDef<MutatingAdmissionPolicy> = ResourceDef {
    default_labels: &["namespace", "mutatingadmissionpolicy"],
    default_values: namespace_and_name::<MutatingAdmissionPolicy>,
    families: FAMILIES,
};

fn info<'a>(p: &'a MutatingAdmissionPolicy, _: &Context, out: &mut Samples<'a>) {
    let spec = zero_or!(p.spec, MutatingAdmissionPolicySpec);
    let param = zero_or!(spec.param_kind, ParamKind);
    out.push(
        [
            s(&param.api_version),
            s(&param.kind),
            s(&spec.failure_policy),
            s(&spec.reinvocation_policy),
        ],
        1.0,
    );
}
