//! `deployments`: 18 families, in kube-state-metrics' order. Default labels:
//! namespace, deployment.

use crate::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStatus, DeploymentStrategy, RollingUpdateDeployment,
};
use crate::api::intstr::IntOrString;
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, bool_value, s, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<Deployment>] = &[
    gauge("kube_deployment_owner", Alpha, "Each owner reference of the deployment; empty labels when it has none.", &["owner_kind", "owner_name"], owner),
    generic::created("kube_deployment_created", Stable),
    gauge("kube_deployment_status_replicas", Stable, "Pods the deployment currently targets.", &[], status_replicas),
    gauge("kube_deployment_status_replicas_ready", Stable, "Ready pods of the deployment.", &[], status_replicas_ready),
    gauge("kube_deployment_status_replicas_available", Stable, "Available pods of the deployment (ready for at least minReadySeconds).", &[], status_replicas_available),
    gauge("kube_deployment_status_replicas_unavailable", Stable, "Pods the deployment still lacks to be fully available.", &[], status_replicas_unavailable),
    gauge("kube_deployment_status_replicas_updated", Stable, "Pods of the deployment already on the newest template.", &[], status_replicas_updated),
    gauge("kube_deployment_status_terminating_replicas", Alpha, "Pods of the deployment that are shutting down.", &[], status_terminating_replicas),
    gauge("kube_deployment_status_observed_generation", Stable, "Generation of the deployment last acted on by its controller.", &[], status_observed_generation),
    gauge("kube_deployment_status_condition", Stable, "Status of each deployment condition, one series per status.", &["reason", "condition", "status"], status_condition),
    gauge("kube_deployment_spec_replicas", Stable, "Pods the deployment is asked to run.", &[], spec_replicas),
    gauge("kube_deployment_spec_paused", Stable, "1 when the deployment's rollouts are paused.", &[], spec_paused),
    gauge("kube_deployment_spec_strategy_rollingupdate_max_unavailable", Stable, "Pods that may be unavailable during a rolling update, as a count.", &[], max_unavailable),
    gauge("kube_deployment_spec_strategy_rollingupdate_max_surge", Stable, "Pods that may run above the desired count during a rolling update, as a count.", &[], max_surge),
    generic::generation("kube_deployment_metadata_generation", Stable),
    generic::deletion_timestamp("kube_deployment_deletion_timestamp", Alpha),
    generic::annotations("kube_deployment_annotations", Alpha),
    generic::labels("kube_deployment_labels", Stable),
];

pub static RESOURCE: ResourceDef<Deployment> = ResourceDef {
    default_labels: &["namespace", "deployment"],
    default_values: namespace_and_name,
    families: FAMILIES,
};

/// Condition reasons the deployment controller sets; any other reads `unknown`,
/// which keeps the label's cardinality bounded.
const KNOWN_REASONS: &[&str] = &[
    "ReplicaSetUpdated",
    "ReplicaSetCreateError",
    "NewReplicaSetCreated",
    "FoundNewReplicaSet",
    "NewReplicaSetAvailable",
    "ProgressDeadlineExceeded",
    "DeploymentPaused",
    "DeploymentResumed",
    "MinimumReplicasAvailable",
    "MinimumReplicasUnavailable",
    "",
];

// ---- accessors -------------------------------------------------------------

fn spec(d: &Deployment) -> &DeploymentSpec {
    zero_or!(d.spec, DeploymentSpec)
}

fn status(d: &Deployment) -> &DeploymentStatus {
    zero_or!(d.status, DeploymentStatus)
}

fn count(out: Out<'_, '_>, value: Option<i32>) {
    out.push([], f64::from(value.unwrap_or(0)));
}

/// The rolling-update parameters, only when both they and `spec.replicas` are set:
/// a percentage means nothing without the replica count.
fn rolling_update(d: &Deployment) -> Option<(&RollingUpdateDeployment, i32)> {
    let strategy = zero_or!(spec(d).strategy, DeploymentStrategy);
    Some((strategy.rolling_update.as_ref()?, spec(d).replicas?))
}

/// An int-or-percent as a pod count against `total`, as the apimachinery helper
/// the deployment controller uses does: an int as is, `N%` of `total` rounded
/// down or up; `None` for an unset value, a string without `%` or a bad number.
fn scaled(value: Option<&IntOrString>, total: i32, round_up: bool) -> Option<f64> {
    let value = value?;
    match value.r#type.unwrap_or(0) {
        0 => Some(f64::from(value.int_val.unwrap_or(0))),
        1 => {
            let percent: i64 = s(&value.str_val).strip_suffix('%')?.parse().ok()?;
            let share = percent as f64 * f64::from(total) / 100.0;
            Some(if round_up {
                share.ceil()
            } else {
                share.floor()
            })
        }
        _ => None,
    }
}

// ---- families ----------------------------------------------------------------

/// Unlike the shared owner family, KSM has no `owner_is_controller` here.
fn owner<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    let references = &d.metadata().owner_references;
    if references.is_empty() {
        out.push(["", ""], 1.0);
    }
    for o in references {
        out.push([s(&o.kind), s(&o.name)], 1.0);
    }
}

fn status_replicas<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).replicas);
}

fn status_replicas_ready<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).ready_replicas);
}

fn status_replicas_available<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).available_replicas);
}

fn status_replicas_unavailable<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).unavailable_replicas);
}

fn status_replicas_updated<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    count(out, status(d).updated_replicas);
}

/// A pointer field in the API: unset means the controller does not report it.
fn status_terminating_replicas<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    if let Some(n) = status(d).terminating_replicas {
        out.push([], f64::from(n));
    }
}

fn status_observed_generation<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    out.push([], status(d).observed_generation.unwrap_or(0) as f64);
}

fn status_condition<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    for c in &status(d).conditions {
        let reason = s(&c.reason);
        let reason = if KNOWN_REASONS.contains(&reason) {
            reason
        } else {
            "unknown"
        };
        for (word, value) in kube::condition_statuses(s(&c.status)) {
            out.push([reason, s(&c.r#type), word], value);
        }
    }
}

fn spec_replicas<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    if let Some(n) = spec(d).replicas {
        out.push([], f64::from(n));
    }
}

fn spec_paused<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    out.push([], bool_value(spec(d).paused.unwrap_or(false)));
}

fn max_unavailable<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    if let Some((update, total)) = rolling_update(d) {
        if let Some(n) = scaled(update.max_unavailable.as_ref(), total, false) {
            out.push([], n);
        }
    }
}

fn max_surge<'a>(d: &'a Deployment, _: &Context, out: Out<'a, '_>) {
    if let Some((update, total)) = rolling_update(d) {
        if let Some(n) = scaled(update.max_surge.as_ref(), total, true) {
            out.push([], n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::family::Samples;

    fn int(n: i32) -> IntOrString {
        IntOrString {
            r#type: Some(0),
            int_val: Some(n),
            str_val: None,
        }
    }

    fn text(t: &str) -> IntOrString {
        IntOrString {
            r#type: Some(1),
            int_val: None,
            str_val: Some(t.into()),
        }
    }

    #[test]
    fn int_or_percent_scales_like_the_deployment_controller() {
        assert_eq!(scaled(Some(&int(3)), 10, false), Some(3.0));
        // An int is never scaled, whatever the total.
        assert_eq!(scaled(Some(&int(3)), 0, true), Some(3.0));
        assert_eq!(scaled(Some(&text("25%")), 5, false), Some(1.0));
        assert_eq!(scaled(Some(&text("25%")), 5, true), Some(2.0));
        assert_eq!(scaled(Some(&text("20%")), 5, true), Some(1.0));
        assert_eq!(scaled(Some(&text("+50%")), 3, true), Some(2.0));
        assert_eq!(scaled(Some(&text("-50%")), 3, false), Some(-2.0));
        assert_eq!(scaled(Some(&text("0%")), 7, true), Some(0.0));
        // Protobuf leaves out a zero type: an int.
        let untyped = IntOrString {
            r#type: None,
            int_val: Some(4),
            str_val: None,
        };
        assert_eq!(scaled(Some(&untyped), 1, false), Some(4.0));
    }

    #[test]
    fn unusable_int_or_percent_gives_no_value() {
        assert_eq!(scaled(None, 5, false), None);
        assert_eq!(scaled(Some(&text("3")), 5, false), None);
        assert_eq!(scaled(Some(&text("abc%")), 5, true), None);
        assert_eq!(scaled(Some(&text("%")), 5, true), None);
        assert_eq!(scaled(Some(&text("1.5%")), 5, true), None);
        let bad_type = IntOrString {
            r#type: Some(2),
            int_val: Some(1),
            str_val: None,
        };
        assert_eq!(scaled(Some(&bad_type), 5, true), None);
    }

    #[test]
    fn unknown_condition_reasons_are_folded() {
        let mut d = Deployment::default();
        d.status
            .get_or_insert_with(DeploymentStatus::default)
            .conditions = vec![
            crate::api::apps::v1::DeploymentCondition {
                r#type: Some("Available".into()),
                status: Some("True".into()),
                reason: Some("SomethingNew".into()),
                ..Default::default()
            },
            crate::api::apps::v1::DeploymentCondition {
                r#type: Some("Progressing".into()),
                status: Some("False".into()),
                reason: Some("ProgressDeadlineExceeded".into()),
                ..Default::default()
            },
        ];
        let mut out = Samples::default();
        status_condition(&d, &Context::default(), &mut out);
        let reasons: Vec<&str> = out.samples.iter().map(|s| &*s.values[0]).collect();
        assert_eq!(
            reasons,
            [
                "unknown",
                "unknown",
                "unknown",
                "ProgressDeadlineExceeded",
                "ProgressDeadlineExceeded",
                "ProgressDeadlineExceeded"
            ]
        );
    }
}
