//! `validatingadmissionpolicybindings`: 3 families, in kube-state-metrics' order.
//! Default labels: namespace (always empty: cluster-scoped), validatingadmissionpolicybinding.

use crate::api::admissionregistration::v1::{
    ParamRef, ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<ValidatingAdmissionPolicyBinding>] = &[
    gauge("kube_validatingadmissionpolicybinding_info", Alpha, "Policy and parameter resource the validating admission policy binding refers to.", &["policy_name", "param_name", "param_namespace", "param_not_found_action"], info),
    generic::created("kube_validatingadmissionpolicybinding_created", Alpha),
    gauge("kube_validatingadmissionpolicybinding_validation_action", Alpha, "Each action taken when the bound policy's validation fails.", &["action"], validation_action),
];

pub static RESOURCE: ResourceDef<ValidatingAdmissionPolicyBinding> = ResourceDef {
    default_labels: &["namespace", "validatingadmissionpolicybinding"],
    default_values: namespace_and_name::<ValidatingAdmissionPolicyBinding>,
    families: FAMILIES,
};

fn spec(b: &ValidatingAdmissionPolicyBinding) -> &ValidatingAdmissionPolicyBindingSpec {
    zero_or!(b.spec, ValidatingAdmissionPolicyBindingSpec)
}

fn info<'a>(b: &'a ValidatingAdmissionPolicyBinding, _: &Context, out: Out<'a, '_>) {
    let param = zero_or!(spec(b).param_ref, ParamRef);
    out.push(
        [
            s(&spec(b).policy_name),
            s(&param.name),
            s(&param.namespace),
            s(&param.parameter_not_found_action),
        ],
        1.0,
    );
}

fn validation_action<'a>(b: &'a ValidatingAdmissionPolicyBinding, _: &Context, out: Out<'a, '_>) {
    for action in &spec(b).validation_actions {
        out.push([action.as_str()], 1.0);
    }
}
