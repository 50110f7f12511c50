//! `cronjobs`: 14 families, in kube-state-metrics' order. Default labels: namespace, cronjob.

mod schedule;

use crate::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus};
use crate::api::meta::v1::Time;
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{bool_value, s, unix, unix_if_set, zero_or};
use crate::metrics::resource::{namespace_and_name, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<CronJob>] = &[
    generic::annotations("kube_cronjob_annotations", Alpha),
    generic::labels("kube_cronjob_labels", Stable),
    gauge("kube_cronjob_info", Stable, "Schedule, concurrency policy and time zone (\"local\" when unset) of the cronjob.", &["schedule", "concurrency_policy", "timezone"], info),
    generic::created("kube_cronjob_created", Stable),
    gauge("kube_cronjob_status_active", Stable, "Jobs of the cronjob that are running.", &[], status_active),
    gauge("kube_cronjob_status_last_schedule_time", Stable, "Unix time at which a job was last scheduled.", &[], status_last_schedule_time),
    gauge("kube_cronjob_status_last_successful_time", Stable, "Unix time at which a job last completed successfully.", &[], status_last_successful_time),
    gauge("kube_cronjob_spec_suspend", Stable, "1 when the cronjob starts no new jobs.", &[], spec_suspend),
    gauge("kube_cronjob_spec_starting_deadline_seconds", Stable, "Seconds after a missed schedule time within which a job may still start.", &[], spec_starting_deadline_seconds),
    gauge("kube_cronjob_next_schedule_time", Stable, "Unix time of the next scheduled run after the last one (or after creation when there was none); compare with the current time to see delays.", &[], next_schedule_time),
    gauge("kube_cronjob_schedule_invalid", Alpha, "1 when the schedule, in its time zone, does not parse.", &[], schedule_invalid),
    generic::resource_version("kube_cronjob_metadata_resource_version", Stable),
    gauge("kube_cronjob_spec_successful_job_history_limit", Alpha, "Finished successful jobs the cronjob keeps.", &[], spec_successful_job_history_limit),
    gauge("kube_cronjob_spec_failed_job_history_limit", Alpha, "Failed jobs the cronjob keeps.", &[], spec_failed_job_history_limit),
];

pub static RESOURCE: ResourceDef<CronJob> = ResourceDef {
    default_labels: &["namespace", "cronjob"],
    default_values: namespace_and_name::<CronJob>,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(c: &CronJob) -> &CronJobSpec {
    zero_or!(c.spec, CronJobSpec)
}

fn status(c: &CronJob) -> &CronJobStatus {
    zero_or!(c.status, CronJobStatus)
}

fn suspended(c: &CronJob) -> bool {
    spec(c).suspend.unwrap_or(false)
}

fn parsed_schedule(c: &CronJob) -> Option<schedule::Schedule> {
    schedule::parse(s(&spec(c).schedule), spec(c).time_zone.as_deref())
}

/// A time KSM reports whenever the pointer is set.
fn time_if_present<'a>(time: &Option<Time>, out: Out<'a, '_>) {
    if time.is_some() {
        out.push([], unix(time));
    }
}

fn optional<'a>(value: Option<impl Into<i64>>, out: Out<'a, '_>) {
    if let Some(v) = value {
        out.push([], v.into() as f64);
    }
}

// ---- families ----------------------------------------------------------------

fn info<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    let spec = spec(c);
    let zone = spec.time_zone.as_deref().unwrap_or("local");
    out.push([s(&spec.schedule), s(&spec.concurrency_policy), zone], 1.0);
}

fn status_active<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    out.push([], status(c).active.len() as f64);
}

fn status_last_schedule_time<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    time_if_present(&status(c).last_schedule_time, out);
}

fn status_last_successful_time<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    time_if_present(&status(c).last_successful_time, out);
}

fn spec_suspend<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    out.push([], bool_value(suspended(c)));
}

fn spec_starting_deadline_seconds<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    optional(spec(c).starting_deadline_seconds, out);
}

/// The schedule's next time after the last scheduled run, or after creation when it
/// never ran; none while suspended, when the schedule does not parse, or when
/// neither time is known.
fn next_schedule_time<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    if suspended(c) {
        return;
    }
    let Some(schedule) = parsed_schedule(c) else {
        return;
    };
    let after = unix_if_set(&status(c).last_schedule_time)
        .or_else(|| unix_if_set(&c.metadata().creation_timestamp));
    if let Some(after) = after {
        out.push([], schedule.next(after as i64) as f64);
    }
}

fn schedule_invalid<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    if parsed_schedule(c).is_none() {
        out.push([], 1.0);
    }
}

fn spec_successful_job_history_limit<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    optional(spec(c).successful_jobs_history_limit, out);
}

fn spec_failed_job_history_limit<'a>(c: &'a CronJob, _: &Context, out: Out<'a, '_>) {
    optional(spec(c).failed_jobs_history_limit, out);
}
