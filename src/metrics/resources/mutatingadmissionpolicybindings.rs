//! `mutatingadmissionpolicybindings`: 2 families, in kube-state-metrics' order.
//! Default labels: namespace (always empty: cluster-scoped), mutatingadmissionpolicybinding.

use crate::api::admissionregistration::v1beta1::{
    MutatingAdmissionPolicyBinding, MutatingAdmissionPolicyBindingSpec, ParamRef,
};
use crate::metrics::family::{gauge, Context, Family, Samples, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<MutatingAdmissionPolicyBinding>] = &[
    gauge("kube_mutatingadmissionpolicybinding_info", Alpha, "Policy and parameter resource the mutating admission policy binding refers to.", &["policy_name", "param_name", "param_namespace", "param_not_found_action"], info),
    generic::created("kube_mutatingadmissionpolicybinding_created", Alpha),
];

pub static RESOURCE: ResourceDef<MutatingAdmissionPolicyBinding> = ResourceDef {
    default_labels: &["namespace", "mutatingadmissionpolicybinding"],
    default_values: namespace_and_name::<MutatingAdmissionPolicyBinding>,
    families: FAMILIES,
};

fn info<'a>(b: &'a MutatingAdmissionPolicyBinding, _: &Context, out: &mut Samples<'a>) {
    let spec = zero_or!(b.spec, MutatingAdmissionPolicyBindingSpec);
    let param = zero_or!(spec.param_ref, ParamRef);
    out.push(
        [
            s(&spec.policy_name),
            s(&param.name),
            s(&param.namespace),
            s(&param.parameter_not_found_action),
        ],
        1.0,
    );
}
