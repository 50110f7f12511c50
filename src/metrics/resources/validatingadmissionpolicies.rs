//! `validatingadmissionpolicies`: 2 families, in kube-state-metrics' order. Default
//! labels: namespace (always empty: cluster-scoped), validatingadmissionpolicy.

use crate::api::admissionregistration::v1::{
    ParamKind, ValidatingAdmissionPolicy, ValidatingAdmissionPolicySpec,
};
use crate::metrics::family::{gauge, Context, Family, Samples, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<ValidatingAdmissionPolicy>] = &[
    gauge("kube_validatingadmissionpolicy_info", Alpha, "Parameter kind and failure policy of the validating admission policy.", &["param_api_version", "param_kind", "failure_policy"], info),
    generic::created("kube_validatingadmissionpolicy_created", Alpha),
];

pub static RESOURCE: ResourceDef<ValidatingAdmissionPolicy> = ResourceDef {
    default_labels: &["namespace", "validatingadmissionpolicy"],
    default_values: namespace_and_name::<ValidatingAdmissionPolicy>,
    families: FAMILIES,
};

fn info<'a>(p: &'a ValidatingAdmissionPolicy, _: &Context, out: &mut Samples<'a>) {
    let spec = zero_or!(p.spec, ValidatingAdmissionPolicySpec);
    let param = zero_or!(spec.param_kind, ParamKind);
    out.push(
        [
            s(&param.api_version),
            s(&param.kind),
            s(&spec.failure_policy),
        ],
        1.0,
    );
}
