//! The counting rules on hand-made event sequences.

use std::time::Duration;

use super::*;
use crate::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, PodCondition, PodStatus,
};
use crate::api::meta::v1::{ObjectMeta, OwnerReference, Time};
use crate::api::Object;

/// A pod in namespace `ns`, created at t=1000, owned by ReplicaSet `web-1`.
#[derive(Clone)]
struct P {
    uid: &'static str,
    rv: u64,
    phase: &'static str,
    containers: Vec<ContainerStatus>,
    ready_at: Option<i64>,
    deleted_at: Option<i64>,
    owned: bool,
}

fn p(uid: &'static str, rv: u64, phase: &'static str) -> P {
    P {
        uid,
        rv,
        phase,
        containers: Vec::new(),
        ready_at: None,
        deleted_at: None,
        owned: true,
    }
}

fn time(seconds: i64) -> Option<Time> {
    Some(Time {
        seconds: Some(seconds),
        nanos: Some(0),
    })
}

fn waiting(reason: &str) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn running() -> ContainerState {
    ContainerState {
        running: Some(ContainerStateRunning {
            started_at: time(1001),
        }),
        ..Default::default()
    }
}

fn terminated(reason: &str) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            reason: Some(reason.into()),
            exit_code: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container(
    state: ContainerState,
    restarts: i32,
    last: Option<ContainerState>,
) -> ContainerStatus {
    ContainerStatus {
        name: Some("app".into()),
        state: Some(state),
        last_state: last,
        restart_count: Some(restarts),
        ..Default::default()
    }
}

impl P {
    fn with(mut self, c: ContainerStatus) -> P {
        self.containers = vec![c];
        self
    }

    fn object(&self) -> Object {
        let owners = if self.owned {
            vec![OwnerReference {
                kind: Some("ReplicaSet".into()),
                name: Some("web-1".into()),
                controller: Some(true),
                ..Default::default()
            }]
        } else {
            Vec::new()
        };
        let conditions = self
            .ready_at
            .map(|at| PodCondition {
                r#type: Some("Ready".into()),
                status: Some("True".into()),
                last_transition_time: time(at),
                ..Default::default()
            })
            .into_iter()
            .collect();
        Object::Pod(Box::new(Pod {
            metadata: Some(ObjectMeta {
                name: Some(self.uid.into()),
                namespace: Some("ns".into()),
                uid: Some(self.uid.into()),
                resource_version: Some(self.rv.to_string()),
                creation_timestamp: time(1000),
                deletion_timestamp: self.deleted_at.and_then(time),
                owner_references: owners,
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some(self.phase.into()),
                container_statuses: self.containers.clone(),
                conditions,
                ..Default::default()
            }),
            ..Default::default()
        }))
    }
}

fn tracker() -> Tracker {
    Tracker::new(&MetricFilter::default()).unwrap_or_else(|| panic!("enabled by default"))
}

fn list(t: &Tracker, pods: &[P]) {
    t.handle(&None, &Event::Init);
    for pod in pods {
        t.handle(&None, &Event::InitApply(pod.object()));
    }
    t.handle(&None, &Event::InitDone);
}

fn apply(t: &Tracker, pod: &P) {
    t.handle(&None, &Event::Apply(pod.object()));
}

fn text(t: &Tracker) -> String {
    let mut out = Vec::new();
    t.write(false, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

const RS: &str = "namespace=\"ns\",owner_kind=\"ReplicaSet\",owner_name=\"web-1\"";

/// The value of one series (`extra` labels after the workload's), 0 when absent.
fn value(out: &str, family: &str, extra: &str) -> f64 {
    let labels = if extra.is_empty() {
        RS.to_string()
    } else {
        format!("{RS},{extra}")
    };
    let prefix = format!("{family}{{{labels}}} ");
    out.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn the_initial_list_counts_nothing_and_writes_only_headers() {
    let t = tracker();
    list(
        &t,
        &[p("a", 5, "Running").with(container(terminated("OOMKilled"), 4, None))],
    );
    let out = text(&t);
    assert_eq!(value(&out, "kube_pod_lifecycle_creations_total", ""), 0.0);
    assert!(!out.contains("terminations_total{"), "{out}");
    assert!(!out.contains("phase_transitions_total{"), "{out}");
}

#[test]
fn a_whole_life_counts_each_state_once() {
    let t = tracker();
    list(&t, &[]);
    let created = p("a", 10, "Pending");
    apply(&t, &created);
    apply(
        &t,
        &p("a", 11, "Pending").with(container(waiting("ContainerCreating"), 0, None)),
    );
    let mut ready = p("a", 12, "Running").with(container(running(), 0, None));
    ready.ready_at = Some(1004);
    apply(&t, &ready);
    // Seen terminated directly, then the same termination again as lastState.
    apply(
        &t,
        &p("a", 13, "Running").with(container(terminated("OOMKilled"), 0, None)),
    );
    apply(
        &t,
        &p("a", 14, "Running").with(container(running(), 1, Some(terminated("OOMKilled")))),
    );
    apply(
        &t,
        &p("a", 15, "Succeeded").with(container(
            terminated("Completed"),
            1,
            Some(terminated("OOMKilled")),
        )),
    );
    let mut gone = p("a", 16, "Succeeded").with(container(terminated("Completed"), 1, None));
    gone.deleted_at = Some(1030);
    t.handle(&None, &Event::Delete(gone.object()));

    let out = text(&t);
    let v = |family: &str, extra: &str| value(&out, family, extra);
    assert_eq!(v("kube_pod_lifecycle_creations_total", ""), 1.0);
    assert_eq!(
        v(
            "kube_pod_lifecycle_phase_transitions_total",
            "phase=\"Pending\""
        ),
        1.0
    );
    assert_eq!(
        v(
            "kube_pod_lifecycle_phase_transitions_total",
            "phase=\"Running\""
        ),
        1.0
    );
    assert_eq!(
        v(
            "kube_pod_lifecycle_phase_transitions_total",
            "phase=\"Succeeded\""
        ),
        1.0
    );
    let c = |reason: &str| format!("container=\"app\",reason=\"{reason}\"");
    assert_eq!(
        v(
            "kube_pod_lifecycle_container_waiting_total",
            &c("ContainerCreating")
        ),
        1.0
    );
    assert_eq!(
        v(
            "kube_pod_lifecycle_container_terminations_total",
            &c("OOMKilled")
        ),
        1.0
    );
    assert_eq!(
        v(
            "kube_pod_lifecycle_container_terminations_total",
            &c("Completed")
        ),
        1.0
    );
    assert_eq!(
        v("kube_pod_lifecycle_deletions_total", "phase=\"Succeeded\""),
        1.0
    );
    assert_eq!(
        v("kube_pod_lifecycle_startup_duration_seconds_count", ""),
        1.0
    );
    assert_eq!(
        v("kube_pod_lifecycle_startup_duration_seconds_sum", ""),
        4.0
    );
    assert_eq!(
        v(
            "kube_pod_lifecycle_lifetime_seconds_sum",
            "phase=\"Succeeded\""
        ),
        30.0
    );
    assert_eq!(t.tracked_pods(), 0);
}

#[test]
fn a_restart_count_jump_is_that_many_terminations() {
    let t = tracker();
    list(
        &t,
        &[p("a", 10, "Running").with(container(running(), 0, None))],
    );
    apply(
        &t,
        &p("a", 11, "Running").with(container(running(), 3, Some(terminated("OOMKilled")))),
    );
    let out = text(&t);
    let c = |reason: &str| format!("container=\"app\",reason=\"{reason}\"");
    let v = |extra: &str| {
        value(
            &out,
            "kube_pod_lifecycle_container_terminations_total",
            extra,
        )
    };
    assert_eq!(v(&c("OOMKilled")), 1.0, "{out}");
    assert_eq!(v(&c(UNOBSERVED)), 2.0, "{out}");
}

#[test]
fn waiting_again_after_a_restart_is_a_new_entry() {
    let t = tracker();
    list(
        &t,
        &[p("a", 10, "Running").with(container(running(), 0, None))],
    );
    let backoff = |rv, n, why| {
        p("a", rv, "Running").with(container(
            waiting("CrashLoopBackOff"),
            n,
            Some(terminated(why)),
        ))
    };
    apply(&t, &backoff(11, 1, "Error"));
    apply(&t, &backoff(12, 1, "Error")); // the same state again: nothing new
    apply(&t, &backoff(13, 2, "OOMKilled"));
    let out = text(&t);
    let c = |reason: &str| format!("container=\"app\",reason=\"{reason}\"");
    assert_eq!(
        value(
            &out,
            "kube_pod_lifecycle_container_waiting_total",
            &c("CrashLoopBackOff")
        ),
        2.0
    );
    assert_eq!(
        value(
            &out,
            "kube_pod_lifecycle_container_terminations_total",
            &c("Error")
        ),
        1.0
    );
    assert_eq!(
        value(
            &out,
            "kube_pod_lifecycle_container_terminations_total",
            &c("OOMKilled")
        ),
        1.0
    );
}

#[test]
fn replays_and_relists_count_nothing_twice() {
    let t = tracker();
    list(&t, &[]);
    let events = [
        p("a", 10, "Pending"),
        p("a", 11, "Running").with(container(running(), 0, None)),
        p("a", 12, "Running").with(container(
            waiting("CrashLoopBackOff"),
            1,
            Some(terminated("Error")),
        )),
    ];
    for e in &events {
        apply(&t, e);
    }
    let once = text(&t);
    // A reconnect that replays everything, out of order too, and a relist of the same.
    for e in events.iter().rev() {
        apply(&t, e);
    }
    list(&t, &[events[2].clone()]);
    assert_eq!(text(&t), once);
}

#[test]
fn a_relist_sees_what_the_gap_hid() {
    let t = tracker();
    list(&t, &[p("a", 10, "Running"), p("b", 11, "Pending")]);
    // While the watch was down: a deleted, b restarted twice, c created.
    let b = p("b", 20, "Running").with(container(running(), 2, Some(terminated("Error"))));
    let c = p("c", 21, "Pending");
    list(&t, &[b, c]);
    let out = text(&t);
    let v = |family: &str, extra: &str| value(&out, family, extra);
    assert_eq!(
        v("kube_pod_lifecycle_deletions_total", "phase=\"Running\""),
        1.0
    );
    assert_eq!(v("kube_pod_lifecycle_creations_total", ""), 1.0);
    let r = |reason: &str| format!("container=\"app\",reason=\"{reason}\"");
    assert_eq!(
        v(
            "kube_pod_lifecycle_container_terminations_total",
            &r("Error")
        ),
        1.0
    );
    assert_eq!(
        v(
            "kube_pod_lifecycle_container_terminations_total",
            &r(UNOBSERVED)
        ),
        1.0
    );
    // The DELETED event of `a`, delivered late, is not a second deletion.
    t.handle(&None, &Event::Delete(p("a", 19, "Running").object()));
    assert_eq!(text(&t), out);
}

#[test]
fn an_abandoned_list_does_not_delete_and_partitions_are_separate() {
    let t = tracker();
    let team_a: Partition = Some("team-a".into());
    t.handle(&team_a, &Event::Init);
    t.handle(&team_a, &Event::InitApply(p("a", 10, "Running").object()));
    t.handle(&team_a, &Event::InitDone);
    list(&t, &[p("x", 11, "Running")]);
    // The cluster-wide partition relists without `a`: not its pod to delete.
    t.handle(&None, &Event::Init);
    t.handle(&None, &Event::Init); // the first attempt failed part-way
    t.handle(&None, &Event::InitApply(p("x", 11, "Running").object()));
    t.handle(&None, &Event::InitDone);
    assert_eq!(t.tracked_pods(), 2);
    assert!(!text(&t).contains("deletions_total{"));
}

#[test]
fn owners_and_idle_workloads() {
    let t = tracker().with_retention(Duration::ZERO);
    list(&t, &[]);
    let mut bare = p("a", 10, "Pending");
    bare.owned = false;
    apply(&t, &bare);
    let out = text(&t);
    assert!(
        out.contains("kube_pod_lifecycle_creations_total{namespace=\"ns\",owner_kind=\"<none>\",owner_name=\"<none>\"} 1\n"),
        "{out}"
    );
    t.handle(&None, &Event::Delete(bare.object()));
    // Zero retention: the workload had its pods gone, so its series go.
    let _ = text(&t);
    assert_eq!(text(&t), "");
}

#[test]
fn startup_only_for_pods_born_under_watch_and_once() {
    let t = tracker();
    let mut old = p("old", 10, "Running");
    old.ready_at = None;
    list(&t, &[old.clone()]);
    old.rv = 11;
    old.ready_at = Some(1100);
    apply(&t, &old);
    let mut young = p("young", 12, "Running");
    young.ready_at = Some(1002);
    apply(&t, &young);
    young.rv = 13;
    young.ready_at = None;
    apply(&t, &young);
    young.rv = 14;
    young.ready_at = Some(1050);
    apply(&t, &young);
    let out = text(&t);
    assert_eq!(
        value(
            &out,
            "kube_pod_lifecycle_startup_duration_seconds_count",
            ""
        ),
        1.0
    );
    assert_eq!(
        value(&out, "kube_pod_lifecycle_startup_duration_seconds_sum", ""),
        2.0
    );
}

#[test]
fn the_denylist_turns_everything_off() {
    let filter = MetricFilter::new(&[], &["kube_pod_lifecycle_".to_string()], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(Tracker::new(&filter).is_none());
    let filter = MetricFilter::new(&[], &["kube_pod_lifecycle_lifetime".to_string()], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let t = Tracker::new(&filter).unwrap_or_else(|| panic!("others stay on"));
    list(&t, &[]);
    apply(&t, &p("a", 10, "Pending"));
    let out = text(&t);
    assert_eq!(out.matches("# TYPE").count(), 6);
    assert!(!out.contains("lifetime"));
}
