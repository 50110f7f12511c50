//! `jobs`: 17 families, in kube-state-metrics' order. Default labels: namespace, job_name.

use crate::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus};
use crate::api::meta::v1::Time;
use crate::metrics::family::{dynamic_gauge, gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, bool_value, s, unix, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<Job>] = &[
    generic::annotations("kube_job_annotations", Alpha),
    generic::labels("kube_job_labels", Stable),
    generic::info("kube_job_info", Stable, "One series per job."),
    generic::created("kube_job_created", Stable),
    gauge("kube_job_spec_parallelism", Stable, "Most pods the job runs at the same time.", &[], spec_parallelism),
    gauge("kube_job_spec_completions", Stable, "Successful pods the job needs to be complete.", &[], spec_completions),
    gauge("kube_job_spec_active_deadline_seconds", Stable, "Seconds after its start the job may stay active before it is terminated.", &[], spec_active_deadline_seconds),
    gauge("kube_job_status_succeeded", Stable, "Pods of the job that succeeded.", &[], status_succeeded),
    dynamic_gauge("kube_job_status_failed", Stable, "Pods of the job that failed, by failure reason of the job's Failed conditions.", status_failed),
    gauge("kube_job_status_active", Stable, "Pods of the job that are running.", &[], status_active),
    gauge("kube_job_status_ready", Alpha, "Pods of the job that are ready.", &[], status_ready),
    gauge("kube_job_complete", Stable, "Status of each Complete condition of the job, one series per status.", &["condition"], complete),
    gauge("kube_job_failed", Stable, "Status of each Failed condition of the job, one series per status.", &["condition"], failed),
    gauge("kube_job_status_start_time", Stable, "Unix time at which the job controller started the job.", &[], status_start_time),
    gauge("kube_job_status_completion_time", Stable, "Unix time at which the job completed.", &[], status_completion_time),
    gauge("kube_job_status_suspended", Alpha, "1 for each Suspended condition of the job that is True, else 0.", &[], status_suspended),
    generic::owner("kube_job_owner", Stable),
];

pub static RESOURCE: ResourceDef<Job> = ResourceDef {
    default_labels: &["namespace", "job_name"],
    default_values: namespace_and_name::<Job>,
    families: FAMILIES,
};

/// The reasons of a Failed condition KSM reports by name (in its order); any other
/// reason is folded into one `reason=""` series.
const FAILURE_REASONS: [&str; 3] = ["BackoffLimitExceeded", "DeadlineExceeded", "Evicted"];

// ---- accessors -------------------------------------------------------------

fn spec(j: &Job) -> &JobSpec {
    zero_or!(j.spec, JobSpec)
}

fn status(j: &Job) -> &JobStatus {
    zero_or!(j.status, JobStatus)
}

fn conditions<'a>(j: &'a Job, kind: &'a str) -> impl Iterator<Item = &'a JobCondition> + 'a {
    status(j)
        .conditions
        .iter()
        .filter(move |c| s(&c.r#type) == kind)
}

fn optional<'a, N: Into<f64>>(value: Option<N>, out: Out<'a, '_>) {
    if let Some(v) = value {
        out.push([], v.into());
    }
}

// ---- families ----------------------------------------------------------------

fn spec_parallelism<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    optional(spec(j).parallelism, out);
}

fn spec_completions<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    optional(spec(j).completions, out);
}

fn spec_active_deadline_seconds<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    optional(spec(j).active_deadline_seconds.map(|v| v as f64), out);
}

fn status_succeeded<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(j).succeeded.unwrap_or(0)));
}

/// Without failed pods one series carries no `reason` label at all (hence a family
/// with per-sample label names). Otherwise each
/// Failed condition gives one series per known reason (1 on its own), and when no
/// condition names a known reason, one `reason=""` series holds the count.
fn status_failed<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    let failed = status(j).failed.unwrap_or(0);
    if failed == 0 {
        out.push_dynamic(Vec::new(), 0.0);
        return;
    }
    let mut known = false;
    for c in conditions(j, "Failed") {
        for reason in FAILURE_REASONS {
            let matches = s(&c.reason) == reason;
            known |= matches;
            out.push_dynamic(vec![("reason".to_string(), reason)], bool_value(matches));
        }
    }
    if !known {
        out.push_dynamic(vec![("reason".to_string(), "")], f64::from(failed));
    }
}

fn status_active<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(j).active.unwrap_or(0)));
}

fn status_ready<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    out.push([], f64::from(status(j).ready.unwrap_or(0)));
}

fn condition_series<'a>(j: &'a Job, kind: &'a str, out: Out<'a, '_>) {
    for c in conditions(j, kind) {
        for (word, value) in kube::condition_statuses(s(&c.status)) {
            out.push([word], value);
        }
    }
}

fn complete<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    condition_series(j, "Complete", out);
}

fn failed<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    condition_series(j, "Failed", out);
}

fn status_start_time<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    optional(set_time(&status(j).start_time), out);
}

fn status_completion_time<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    optional(set_time(&status(j).completion_time), out);
}

/// KSM reports any set pointer, even Go's zero time.
fn set_time(time: &Option<Time>) -> Option<f64> {
    time.is_some().then(|| unix(time))
}

fn status_suspended<'a>(j: &'a Job, _: &Context, out: Out<'a, '_>) {
    for c in conditions(j, "Suspended") {
        out.push([], bool_value(s(&c.status) == "True"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::family::Samples;

    fn job(failed: i32, reasons: &[&str]) -> Job {
        Job {
            status: Some(JobStatus {
                failed: Some(failed),
                conditions: reasons
                    .iter()
                    .map(|r| JobCondition {
                        r#type: Some("Failed".into()),
                        status: Some("True".into()),
                        reason: Some((*r).into()),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn failed_series(j: &Job) -> Vec<(Vec<String>, f64)> {
        let mut out = Samples::default();
        status_failed(j, &Context::default(), &mut out);
        out.samples
            .iter()
            .map(|s| {
                assert!(s.keys.iter().all(|k| k == "reason"));
                (s.values.iter().map(|v| v.to_string()).collect(), s.value)
            })
            .collect()
    }

    #[test]
    fn no_failed_pods_is_one_series_without_reason() {
        assert_eq!(failed_series(&job(0, &["Evicted"])), [(vec![], 0.0)]);
    }

    #[test]
    fn known_reasons_are_flags_and_unknown_ones_carry_the_count() {
        let known = failed_series(&job(3, &["DeadlineExceeded"]));
        assert_eq!(
            known,
            [
                (vec!["BackoffLimitExceeded".to_string()], 0.0),
                (vec!["DeadlineExceeded".to_string()], 1.0),
                (vec!["Evicted".to_string()], 0.0),
            ]
        );
        let unknown = failed_series(&job(3, &["PodFailurePolicy"]));
        assert_eq!(unknown.last(), Some(&(vec![String::new()], 3.0)));
        assert_eq!(unknown.len(), 4);
        assert_eq!(failed_series(&job(2, &[])), [(vec![String::new()], 2.0)]);
    }
}
