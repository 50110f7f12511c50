//! `poddisruptionbudgets`: 9 families, in kube-state-metrics' order. Default labels:
//! namespace, poddisruptionbudget.

use crate::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::zero_or;
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<PodDisruptionBudget>] = &[
    generic::annotations("kube_poddisruptionbudget_annotations", Alpha),
    generic::labels("kube_poddisruptionbudget_labels", Alpha),
    generic::created("kube_poddisruptionbudget_created", Stable),
    gauge("kube_poddisruptionbudget_status_current_healthy", Stable, "Healthy pods the budget currently counts.", &[], status_current_healthy),
    gauge("kube_poddisruptionbudget_status_desired_healthy", Stable, "Healthy pods the budget requires at least.", &[], status_desired_healthy),
    gauge("kube_poddisruptionbudget_status_pod_disruptions_allowed", Stable, "Pod disruptions the budget allows right now.", &[], status_pod_disruptions_allowed),
    gauge("kube_poddisruptionbudget_status_expected_pods", Stable, "Pods the budget covers.", &[], status_expected_pods),
    gauge("kube_poddisruptionbudget_status_observed_generation", Stable, "Generation of the budget the disruption controller last acted on.", &[], status_observed_generation),
    generic::deletion_timestamp("kube_poddisruptionbudget_deletion_timestamp", Alpha),
];

pub static RESOURCE: ResourceDef<PodDisruptionBudget> = ResourceDef {
    default_labels: &["namespace", "poddisruptionbudget"],
    default_values: namespace_and_name::<PodDisruptionBudget>,
    families: FAMILIES,
};

fn status(p: &PodDisruptionBudget) -> &PodDisruptionBudgetStatus {
    zero_or!(p.status, PodDisruptionBudgetStatus)
}

fn status_current_healthy<'a>(p: &'a PodDisruptionBudget, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(p).current_healthy.unwrap_or(0)));
}

fn status_desired_healthy<'a>(p: &'a PodDisruptionBudget, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(p).desired_healthy.unwrap_or(0)));
}

fn status_pod_disruptions_allowed<'a>(p: &'a PodDisruptionBudget, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(p).disruptions_allowed.unwrap_or(0)));
}

fn status_expected_pods<'a>(p: &'a PodDisruptionBudget, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(p).expected_pods.unwrap_or(0)));
}

fn status_observed_generation<'a>(p: &'a PodDisruptionBudget, _: &Context, out: Out<'a, '_>) {
    out.push([], status(p).observed_generation.unwrap_or(0) as f64);
}
