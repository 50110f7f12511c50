//! `ingressclasses`: 4 families, in kube-state-metrics' order. Default label: ingressclass.

use crate::api::networking::v1::{IngressClass, IngressClassSpec};
use crate::metrics::family::{gauge, Context, Family, Samples, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::{name_only, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<IngressClass>] = &[
    gauge("kube_ingressclass_info", Alpha, "Controller implementing the ingress class.", &["controller"], info),
    generic::created("kube_ingressclass_created", Alpha),
    generic::annotations("kube_ingressclass_annotations", Alpha),
    generic::labels("kube_ingressclass_labels", Alpha),
];

pub static RESOURCE: ResourceDef<IngressClass> = ResourceDef {
    default_labels: &["ingressclass"],
    default_values: name_only::<IngressClass>,
    families: FAMILIES,
};

fn info<'a>(c: &'a IngressClass, _: &Context, out: &mut Samples<'a>) {
    out.push([s(&zero_or!(c.spec, IngressClassSpec).controller)], 1.0);
}
