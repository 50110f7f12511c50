//! Controllers: Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs, with
//! statuses that agree with the planned states of the pods they own.

use std::collections::BTreeMap;

use crate::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetStatus, Deployment, DeploymentCondition, DeploymentSpec,
    DeploymentStatus, DeploymentStrategy, ReplicaSet, ReplicaSetSpec, ReplicaSetStatus,
    StatefulSet, StatefulSetSpec, StatefulSetStatus,
};
use crate::api::batch::v1::{Job, JobCondition, JobSpec, JobStatus};
use crate::api::core::v1::{Container, PodSpec, PodTemplateSpec, ResourceRequirements};
use crate::api::meta::v1::{LabelSelector, ObjectMeta};

use super::catalog::{ARCHETYPES, CLUSTER_NOW, DAEMONSETS, DAY};
use super::meta::{controller_ref, labels, quantity, some, time, Meta};
use super::plan::{Kind, Plan, Workload, WorkloadKind};
use super::rng::Rng;

fn selector_labels(workload: &Workload) -> BTreeMap<String, String> {
    labels([
        ("app.kubernetes.io/instance", workload.name.clone()),
        ("app.kubernetes.io/name", app_name(workload).to_string()),
    ])
}

fn app_name(workload: &Workload) -> &str {
    match workload.kind {
        WorkloadKind::DaemonSet => &workload.name,
        _ => ARCHETYPES[workload.archetype as usize % ARCHETYPES.len()].name,
    }
}

fn template(workload: &Workload, extra: Option<(&str, &str)>) -> PodTemplateSpec {
    let (image, cpu, memory) = match workload.kind {
        WorkloadKind::DaemonSet => {
            let ds = &DAEMONSETS[workload.archetype as usize % DAEMONSETS.len()];
            (ds.image, ds.cpu_milli, ds.memory_mib)
        }
        _ => {
            let a = &ARCHETYPES[workload.archetype as usize % ARCHETYPES.len()];
            (a.image, a.cpu_milli, a.memory_mib)
        }
    };
    let mut template_labels = selector_labels(workload);
    if let Some((key, value)) = extra {
        template_labels.insert(key.to_string(), value.to_string());
    }
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_string(), quantity(format!("{cpu}m")));
    requests.insert("memory".to_string(), quantity(format!("{memory}Mi")));
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: template_labels,
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: Some(app_name(workload).to_string()),
                image: some(image),
                resources: Some(ResourceRequirements {
                    requests,
                    ..Default::default()
                }),
                termination_message_path: some("/dev/termination-log"),
                termination_message_policy: some("File"),
                image_pull_policy: some("IfNotPresent"),
                ..Default::default()
            }],
            restart_policy: some(if workload.kind == WorkloadKind::Job {
                "Never"
            } else {
                "Always"
            }),
            termination_grace_period_seconds: Some(30),
            dns_policy: some("ClusterFirst"),
            scheduler_name: some("default-scheduler"),
            ..Default::default()
        }),
    }
}

fn selector(workload: &Workload) -> Option<LabelSelector> {
    Some(LabelSelector {
        match_labels: selector_labels(workload),
        match_expressions: Vec::new(),
    })
}

fn workload_meta(
    plan: &Plan,
    kind: Kind,
    workload: &Workload,
    rng: &mut Rng,
    generation: i64,
) -> ObjectMeta {
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "meta.helm.sh/release-name".to_string(),
        workload.name.clone(),
    );
    annotations.insert(
        "meta.helm.sh/release-namespace".to_string(),
        plan.namespaces[workload.namespace as usize].clone(),
    );
    let mut object_labels = selector_labels(workload);
    object_labels.insert("app.kubernetes.io/managed-by".into(), "Helm".into());
    Meta {
        name: workload.name.clone(),
        namespace: Some(&plan.namespaces[workload.namespace as usize]),
        uid: plan.uid(kind, workload.index),
        resource_version: plan.resource_version(kind, workload.index),
        created: CLUSTER_NOW - rng.range(30, 300) as i64 * DAY,
        generation: Some(generation),
        labels: object_labels,
        annotations,
        owner: None,
    }
    .build()
}

fn count(n: u32) -> Option<i32> {
    Some(i32::try_from(n).unwrap_or(i32::MAX))
}

pub fn deployment(plan: &Plan, workload: &Workload) -> Deployment {
    let mut rng = Rng::stream(
        plan.options.seed,
        Kind::Deployment.stream(),
        u64::from(workload.index),
    );
    let generation = rng.range(1, 12) as i64;
    let replicas = workload.pod_count;
    let ready = workload.ready_pods;
    let available_enough = ready * 4 >= replicas * 3;
    let changed = CLUSTER_NOW - rng.range(60, 10 * DAY as u64) as i64;
    let condition = |kind: &str, ok: bool, reason: &str, message: String| DeploymentCondition {
        r#type: some(kind),
        status: some(if ok { "True" } else { "False" }),
        last_update_time: time(changed),
        last_transition_time: time(changed),
        reason: some(reason),
        message: Some(message),
    };
    let rs_name = workload
        .current_replica_set
        .map(|rs| plan.replica_sets[rs as usize].name.clone())
        .unwrap_or_default();
    Deployment {
        metadata: Some(workload_meta(
            plan,
            Kind::Deployment,
            workload,
            &mut rng,
            generation,
        )),
        spec: Some(DeploymentSpec {
            replicas: count(replicas),
            selector: selector(workload),
            template: Some(template(workload, None)),
            strategy: Some(DeploymentStrategy {
                r#type: some("RollingUpdate"),
                rolling_update: None,
            }),
            revision_history_limit: Some(10),
            progress_deadline_seconds: Some(600),
            ..Default::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(generation),
            replicas: count(replicas),
            updated_replicas: count(replicas),
            ready_replicas: count(ready),
            available_replicas: count(ready),
            unavailable_replicas: count(replicas - ready).filter(|n| *n > 0),
            conditions: vec![
                condition(
                    "Available",
                    available_enough,
                    if available_enough {
                        "MinimumReplicasAvailable"
                    } else {
                        "MinimumReplicasUnavailable"
                    },
                    if available_enough {
                        "Deployment has minimum availability.".into()
                    } else {
                        "Deployment does not have minimum availability.".into()
                    },
                ),
                condition(
                    "Progressing",
                    true,
                    "NewReplicaSetAvailable",
                    format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                ),
            ],
            ..Default::default()
        }),
    }
}

pub fn replica_set(plan: &Plan, index: u32) -> ReplicaSet {
    let rs = &plan.replica_sets[index as usize];
    let workload = &plan.workloads[rs.deployment as usize];
    let mut rng = Rng::stream(
        plan.options.seed,
        Kind::ReplicaSet.stream(),
        u64::from(index),
    );
    let current = workload.current_replica_set == Some(index);
    let ready = if current { workload.ready_pods } else { 0 };
    let mut object_labels = selector_labels(workload);
    object_labels.insert("pod-template-hash".into(), rs.template_hash.clone());
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "deployment.kubernetes.io/revision".to_string(),
        rs.revision.to_string(),
    );
    annotations.insert(
        "deployment.kubernetes.io/desired-replicas".to_string(),
        workload.pod_count.to_string(),
    );
    annotations.insert(
        "deployment.kubernetes.io/max-replicas".to_string(),
        (workload.pod_count + workload.pod_count.div_ceil(4)).to_string(),
    );
    let generation = rng.range(1, 4) as i64;
    let metadata = Meta {
        name: rs.name.clone(),
        namespace: Some(&plan.namespaces[workload.namespace as usize]),
        uid: plan.uid(Kind::ReplicaSet, index),
        resource_version: plan.resource_version(Kind::ReplicaSet, index),
        created: CLUSTER_NOW - rng.range(1, 200) as i64 * DAY,
        generation: Some(generation),
        labels: object_labels,
        annotations,
        owner: Some(controller_ref(
            "apps/v1",
            "Deployment",
            &workload.name,
            plan.uid(Kind::Deployment, workload.index),
        )),
    }
    .build();
    let mut selector = selector(workload);
    if let Some(s) = selector.as_mut() {
        s.match_labels
            .insert("pod-template-hash".into(), rs.template_hash.clone());
    }
    ReplicaSet {
        metadata: Some(metadata),
        spec: Some(ReplicaSetSpec {
            replicas: count(rs.replicas),
            selector,
            template: Some(template(
                workload,
                Some(("pod-template-hash", &rs.template_hash)),
            )),
            ..Default::default()
        }),
        status: Some(ReplicaSetStatus {
            replicas: count(rs.replicas),
            fully_labeled_replicas: count(rs.replicas),
            ready_replicas: count(ready),
            available_replicas: count(ready),
            observed_generation: Some(generation),
            ..Default::default()
        }),
    }
}

pub fn stateful_set(plan: &Plan, workload: &Workload) -> StatefulSet {
    let mut rng = Rng::stream(
        plan.options.seed,
        Kind::StatefulSet.stream(),
        u64::from(workload.index),
    );
    let generation = rng.range(1, 6) as i64;
    let revision = format!("{}-{}", workload.name, rng.name_suffix(10));
    StatefulSet {
        metadata: Some(workload_meta(
            plan,
            Kind::StatefulSet,
            workload,
            &mut rng,
            generation,
        )),
        spec: Some(StatefulSetSpec {
            replicas: count(workload.pod_count),
            selector: selector(workload),
            template: Some(template(workload, None)),
            service_name: Some(workload.name.clone()),
            pod_management_policy: some("OrderedReady"),
            revision_history_limit: Some(10),
            ..Default::default()
        }),
        status: Some(StatefulSetStatus {
            observed_generation: Some(generation),
            replicas: count(workload.pod_count),
            ready_replicas: count(workload.ready_pods),
            current_replicas: count(workload.pod_count),
            updated_replicas: count(workload.pod_count),
            current_revision: Some(revision.clone()),
            update_revision: Some(revision),
            collision_count: Some(0),
            available_replicas: count(workload.ready_pods),
            ..Default::default()
        }),
    }
}

pub fn daemon_set(plan: &Plan, workload: &Workload) -> DaemonSet {
    let mut rng = Rng::stream(
        plan.options.seed,
        Kind::DaemonSet.stream(),
        u64::from(workload.index),
    );
    let generation = rng.range(1, 9) as i64;
    let scheduled = workload.pod_count;
    DaemonSet {
        metadata: Some(workload_meta(
            plan,
            Kind::DaemonSet,
            workload,
            &mut rng,
            generation,
        )),
        spec: Some(DaemonSetSpec {
            selector: selector(workload),
            template: Some(template(workload, None)),
            revision_history_limit: Some(10),
            ..Default::default()
        }),
        status: Some(DaemonSetStatus {
            current_number_scheduled: count(scheduled),
            number_misscheduled: Some(0),
            desired_number_scheduled: count(scheduled),
            number_ready: count(workload.ready_pods),
            observed_generation: Some(generation),
            updated_number_scheduled: count(scheduled),
            number_available: count(workload.ready_pods),
            number_unavailable: count(scheduled - workload.ready_pods).filter(|n| *n > 0),
            ..Default::default()
        }),
    }
}

pub fn job(plan: &Plan, workload: &Workload) -> Job {
    let mut rng = Rng::stream(
        plan.options.seed,
        Kind::Job.stream(),
        u64::from(workload.index),
    );
    let started = CLUSTER_NOW - rng.range(600, 5 * DAY as u64) as i64;
    let active = workload.pod_count - workload.succeeded_pods - workload.failed_pods;
    let complete = workload.succeeded_pods == workload.pod_count;
    let failed = active == 0 && !complete;
    let ended = started + rng.range(30, 1800) as i64;
    let condition = |kind: &str, reason: &str, message: &str| JobCondition {
        r#type: some(kind),
        status: some("True"),
        last_probe_time: time(ended),
        last_transition_time: time(ended),
        reason: some(reason),
        message: some(message),
    };
    let mut conditions = Vec::new();
    if complete {
        conditions.push(condition(
            "SuccessCriteriaMet",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        ));
        conditions.push(condition(
            "Complete",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        ));
    } else if failed {
        conditions.push(condition(
            "FailureTarget",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ));
        conditions.push(condition(
            "Failed",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ));
    }
    let uid = plan.uid(Kind::Job, workload.index);
    let mut meta = workload_meta(plan, Kind::Job, workload, &mut rng, 1);
    meta.labels
        .insert("batch.kubernetes.io/job-name".into(), workload.name.clone());
    meta.labels
        .insert("batch.kubernetes.io/controller-uid".into(), uid.clone());
    Job {
        metadata: Some(meta),
        spec: Some(JobSpec {
            parallelism: count(workload.pod_count),
            completions: count(workload.pod_count),
            backoff_limit: Some(0),
            selector: Some(LabelSelector {
                match_labels: labels([("batch.kubernetes.io/controller-uid", uid.clone())]),
                match_expressions: Vec::new(),
            }),
            template: Some(template(
                workload,
                Some(("batch.kubernetes.io/controller-uid", &uid)),
            )),
            ttl_seconds_after_finished: Some(86_400),
            completion_mode: some("NonIndexed"),
            suspend: Some(false),
            pod_replacement_policy: some("TerminatingOrFailed"),
            ..Default::default()
        }),
        status: Some(JobStatus {
            conditions,
            start_time: time(started),
            completion_time: if complete { time(ended) } else { None },
            active: count(active).filter(|n| *n > 0),
            succeeded: count(workload.succeeded_pods).filter(|n| *n > 0),
            failed: count(workload.failed_pods).filter(|n| *n > 0),
            terminating: Some(0),
            ready: count(active.min(workload.ready_pods)),
            ..Default::default()
        }),
    }
}
