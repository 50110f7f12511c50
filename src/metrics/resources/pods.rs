//! `pods`: 60 families, in kube-state-metrics' order. Default labels: namespace, pod, uid.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::api::core::v1::{
    Container, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus, ResourceRequirements,
};
use crate::api::resource::Quantity as QuantityMessage;
use crate::api::Kind;
use crate::metrics::family::{counter, dynamic_gauge, gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{
    self, bool_value, bool_word, last_state, s, state, unix, zero_or, ResourceKind,
};
use crate::metrics::resource::ResourceDef;

const C: &[&str] = &["container"];
const C_REASON: &[&str] = &["container", "reason"];
const RESOURCE_LABELS: &[&str] = &["container", "node", "resource", "unit"];
const PVC_LABELS: &[&str] = &["volume", "persistentvolumeclaim", "ephemeral"];

#[rustfmt::skip]
pub static FAMILIES: &[Family<Pod>] = &[
    gauge("kube_pod_completion_time", Stable, "Unix time at which the last container of the pod finished.", &[], completion_time),
    gauge("kube_pod_container_info", Stable, "Image and identity of each container of the pod.", &["container", "image_spec", "image", "image_id", "container_id"], container_info::<CONTAINERS>),
    gauge("kube_pod_container_resource_limits", Stable, "Resource limit of a container (cpu in cores, memory and storage in bytes).", RESOURCE_LABELS, resource_limits::<CONTAINERS>),
    gauge("kube_pod_container_resource_requests", Stable, "Resource request of a container (cpu in cores, memory and storage in bytes).", RESOURCE_LABELS, resource_requests::<CONTAINERS>),
    gauge("kube_pod_container_state_started", Stable, "Unix time at which the container started.", C, state_started::<CONTAINERS>),
    gauge("kube_pod_container_status_last_terminated_reason", Alpha, "Why the container's previous run terminated.", C_REASON, last_terminated_reason::<CONTAINERS>),
    gauge("kube_pod_container_status_last_terminated_exitcode", Alpha, "Exit code of the container's previous run.", C, last_terminated_exitcode::<CONTAINERS>),
    gauge("kube_pod_container_status_last_terminated_timestamp", Alpha, "Unix time at which the container's previous run finished.", C, last_terminated_timestamp::<CONTAINERS>),
    gauge("kube_pod_container_status_ready", Stable, "1 when the container passes its readiness check.", C, ready::<CONTAINERS>),
    counter("kube_pod_container_status_restarts_total", Stable, "How often the container has restarted.", C, restarts::<CONTAINERS>),
    gauge("kube_pod_container_status_running", Stable, "1 while the container is running.", C, running::<CONTAINERS>),
    gauge("kube_pod_container_status_terminated", Stable, "1 while the container is terminated.", C, terminated::<CONTAINERS>),
    gauge("kube_pod_container_status_terminated_reason", Alpha, "Why the container is terminated.", C_REASON, terminated_reason::<CONTAINERS>),
    gauge("kube_pod_container_status_waiting", Stable, "1 while the container is waiting.", C, waiting::<CONTAINERS>),
    gauge("kube_pod_container_status_waiting_reason", Stable, "Why the container is waiting.", C_REASON, waiting_reason::<CONTAINERS>),
    generic::created("kube_pod_created", Stable),
    generic::deletion_timestamp("kube_pod_deletion_timestamp", Alpha),
    gauge("kube_pod_info", Stable, "Placement and ownership of the pod.", &["host_ip", "pod_ip", "node", "created_by_kind", "created_by_name", "priority_class", "host_network"], info),
    gauge("kube_pod_ips", Alpha, "Each IP address of the pod with its family (4 or 6).", &["ip", "ip_family"], ips),
    gauge("kube_pod_init_container_info", Stable, "Image and identity of each init container of the pod.", &["container", "image_spec", "image", "image_id", "container_id", "restart_policy"], container_info::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_resource_limits", Alpha, "Resource limit of an init container (cpu in cores, memory and storage in bytes).", RESOURCE_LABELS, resource_limits::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_resource_requests", Alpha, "Resource request of an init container (cpu in cores, memory and storage in bytes).", RESOURCE_LABELS, resource_requests::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_state_started", Alpha, "Unix time at which the init container started.", C, state_started::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_last_terminated_reason", Alpha, "Why the init container's previous run terminated.", C_REASON, last_terminated_reason::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_last_terminated_exitcode", Alpha, "Exit code of the init container's previous run.", C, last_terminated_exitcode::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_last_terminated_timestamp", Alpha, "Unix time at which the init container's previous run finished.", C, last_terminated_timestamp::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_ready", Stable, "1 when the init container passes its readiness check.", C, ready::<INIT_CONTAINERS>),
    counter("kube_pod_init_container_status_restarts_total", Stable, "How often the init container has restarted.", C, restarts::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_running", Stable, "1 while the init container is running.", C, running::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_terminated", Stable, "1 while the init container is terminated.", C, terminated::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_terminated_reason", Alpha, "Why the init container is terminated.", C_REASON, terminated_reason::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_waiting", Stable, "1 while the init container is waiting.", C, waiting::<INIT_CONTAINERS>),
    gauge("kube_pod_init_container_status_waiting_reason", Alpha, "Why the init container is waiting.", C_REASON, waiting_reason::<INIT_CONTAINERS>),
    generic::annotations("kube_pod_annotations", Alpha),
    generic::labels("kube_pod_labels", Stable),
    gauge("kube_pod_overhead_cpu_cores", Alpha, "CPU overhead of the pod's runtime class, in cores.", &[], overhead_cpu_cores),
    gauge("kube_pod_overhead_memory_bytes", Alpha, "Memory overhead of the pod's runtime class, in bytes.", &[], overhead_memory_bytes),
    generic::owner("kube_pod_owner", Stable),
    gauge("kube_pod_resourceclaim_info", Alpha, "Each DRA resource claim of the pod, with the claim object's name once known.", &["claim_name", "resourceclaim_name", "resourceclaim_template_name"], resourceclaim_info),
    gauge("kube_pod_restart_policy", Stable, "Restart policy of the pod.", &["type"], restart_policy),
    gauge("kube_pod_runtimeclass_name_info", Alpha, "Runtime class of the pod.", &["runtimeclass_name"], runtimeclass_name_info),
    gauge("kube_pod_spec_volumes_persistentvolumeclaims_info", Stable, "Each persistent volume claim (or generic ephemeral volume) the pod mounts.", PVC_LABELS, volumes_pvc_info),
    gauge("kube_pod_spec_volumes_persistentvolumeclaims_readonly", Stable, "1 when the claim is mounted read-only (ephemeral volumes: always 0).", PVC_LABELS, volumes_pvc_readonly),
    gauge("kube_pod_start_time", Stable, "Unix time at which the kubelet accepted the pod.", &[], start_time),
    gauge("kube_pod_status_phase", Stable, "Phase of the pod, one series per phase.", &["phase"], status_phase),
    gauge("kube_pod_status_qos_class", Alpha, "Quality-of-service class of the pod, one series per class.", &["qos_class"], status_qos_class),
    gauge("kube_pod_status_ready", Stable, "Status of the pod's Ready condition.", &["condition"], status_ready),
    gauge("kube_pod_status_ready_time", Alpha, "Unix time at which the pod became ready.", &[], status_ready_time),
    gauge("kube_pod_status_initialized_time", Alpha, "Unix time at which the pod's init containers completed.", &[], status_initialized_time),
    gauge("kube_pod_status_container_ready_time", Alpha, "Unix time at which all containers of the pod became ready.", &[], status_container_ready_time),
    gauge("kube_pod_status_reason", Alpha, "Known reasons the pod is in its current state.", &["reason"], status_reason),
    gauge("kube_pod_status_disruption_reason", Alpha, "Reason of each DisruptionTarget condition of the pod.", &["reason"], status_disruption_reason),
    gauge("kube_pod_status_scheduled", Stable, "Status of the pod's PodScheduled condition.", &["condition"], status_scheduled),
    gauge("kube_pod_status_scheduled_time", Stable, "Unix time at which the pod was scheduled.", &[], status_scheduled_time),
    gauge("kube_pod_status_unschedulable", Stable, "1 when the scheduler could not place the pod.", &[], status_unschedulable),
    gauge("kube_pod_status_unscheduled_time", Alpha, "Unix time at which the pod was found unschedulable.", &[], status_unscheduled_time),
    gauge("kube_pod_tolerations", Alpha, "Each distinct toleration of the pod.", &["key", "operator", "value", "effect", "toleration_seconds"], tolerations),
    dynamic_gauge("kube_pod_nodeselectors", Alpha, "Node selector of the pod as labels.", nodeselectors).opt_in(),
    gauge("kube_pod_service_account", Alpha, "Service account the pod runs as.", &["service_account"], service_account),
    gauge("kube_pod_scheduler", Alpha, "Scheduler responsible for the pod.", &["name"], scheduler),
];

pub static RESOURCE: ResourceDef<Pod> = ResourceDef {
    default_labels: &["namespace", "pod", "uid"],
    default_values,
    families: FAMILIES,
};

fn default_values(pod: &Pod) -> Vec<&str> {
    let m = pod.metadata();
    vec![s(&m.namespace), s(&m.name), s(&m.uid)]
}

// ---- accessors -------------------------------------------------------------

fn spec(p: &Pod) -> &PodSpec {
    zero_or!(p.spec, PodSpec)
}

fn status(p: &Pod) -> &PodStatus {
    zero_or!(p.status, PodStatus)
}

/// Which list a container family reads: KSM has one family of each shape for
/// containers and one for init containers, with the same logic.
const CONTAINERS: bool = false;
const INIT_CONTAINERS: bool = true;

fn spec_containers<const INIT: bool>(p: &Pod) -> &[Container] {
    if INIT {
        &spec(p).init_containers
    } else {
        &spec(p).containers
    }
}

fn statuses<const INIT: bool>(p: &Pod) -> &[ContainerStatus] {
    if INIT {
        &status(p).init_container_statuses
    } else {
        &status(p).container_statuses
    }
}

fn conditions<'a>(p: &'a Pod, kind: &'a str) -> impl Iterator<Item = &'a PodCondition> + 'a {
    status(p)
        .conditions
        .iter()
        .filter(move |c| s(&c.r#type) == kind)
}

fn requests(c: &Container) -> &BTreeMap<String, QuantityMessage> {
    &zero_or!(c.resources, ResourceRequirements).requests
}

fn limits(c: &Container) -> &BTreeMap<String, QuantityMessage> {
    &zero_or!(c.resources, ResourceRequirements).limits
}

// ---- container and init-container families (one function for both lists) ------

fn each_status<'a, const INIT: bool>(
    p: &'a Pod,
    out: Out<'a, '_>,
    value: impl Fn(&ContainerStatus) -> f64,
) {
    for cs in statuses::<INIT>(p) {
        out.push([s(&cs.name)], value(cs));
    }
}

fn container_info<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    // Only init containers carry a restart policy label (sidecars).
    container_infos(spec_containers::<INIT>(p), statuses::<INIT>(p), INIT, out);
}

fn resource_limits<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    resources(p, spec_containers::<INIT>(p), limits, out);
}

fn resource_requests<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    resources(p, spec_containers::<INIT>(p), requests, out);
}

fn state_started<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for cs in statuses::<INIT>(p) {
        let st = state(cs);
        let started = match (&st.running, &st.terminated) {
            (Some(running), _) => unix(&running.started_at),
            (None, Some(terminated)) => unix(&terminated.started_at),
            (None, None) => continue,
        };
        out.push([s(&cs.name)], started);
    }
}

fn last_terminated_reason<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for cs in statuses::<INIT>(p) {
        if let Some(t) = &last_state(cs).terminated {
            out.push([s(&cs.name), s(&t.reason)], 1.0);
        }
    }
}

fn last_terminated_exitcode<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for cs in statuses::<INIT>(p) {
        if let Some(t) = &last_state(cs).terminated {
            out.push([s(&cs.name)], f64::from(t.exit_code.unwrap_or(0)));
        }
    }
}

fn last_terminated_timestamp<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for cs in statuses::<INIT>(p) {
        if let Some(t) = &last_state(cs).terminated {
            out.push([s(&cs.name)], unix(&t.finished_at));
        }
    }
}

fn ready<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    each_status::<INIT>(p, out, |cs| bool_value(cs.ready.unwrap_or(false)));
}

fn restarts<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    each_status::<INIT>(p, out, |cs| f64::from(cs.restart_count.unwrap_or(0)));
}

fn running<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    each_status::<INIT>(p, out, |cs| bool_value(state(cs).running.is_some()));
}

fn terminated<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    each_status::<INIT>(p, out, |cs| bool_value(state(cs).terminated.is_some()));
}

fn terminated_reason<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for cs in statuses::<INIT>(p) {
        if let Some(t) = &state(cs).terminated {
            out.push([s(&cs.name), s(&t.reason)], 1.0);
        }
    }
}

fn waiting<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    each_status::<INIT>(p, out, |cs| bool_value(state(cs).waiting.is_some()));
}

fn waiting_reason<'a, const INIT: bool>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for cs in statuses::<INIT>(p) {
        if let Some(w) = &state(cs).waiting {
            out.push([s(&cs.name), s(&w.reason)], 1.0);
        }
    }
}

// ---- shared shapes --------------------------------------------------------------

/// Containers of the spec that have a status of the same name.
fn container_infos<'a>(
    spec_list: &'a [Container],
    list: &'a [ContainerStatus],
    with_restart_policy: bool,
    out: Out<'a, '_>,
) {
    for c in spec_list {
        for cs in list.iter().filter(|cs| cs.name == c.name) {
            let mut values = vec![
                s(&cs.name),
                s(&c.image),
                s(&cs.image),
                s(&cs.image_id),
                s(&cs.container_id),
            ];
            if with_restart_policy {
                values.push(s(&c.restart_policy));
            }
            out.push_owned(values.into_iter().map(Cow::Borrowed).collect(), 1.0);
        }
    }
}

fn resources<'a>(
    p: &'a Pod,
    spec_list: &'a [Container],
    pick: fn(&Container) -> &BTreeMap<String, QuantityMessage>,
    out: Out<'a, '_>,
) {
    let node = s(&spec(p).node_name);
    for c in spec_list {
        for (name, value) in pick(c) {
            let (Some(kind), Some(q)) = (kube::resource_kind(name, false), kube::quantity(value))
            else {
                continue;
            };
            let number = if kind == ResourceKind::Cpu {
                q.cores()
            } else {
                q.value()
            };
            let values = vec![
                Cow::Borrowed(s(&c.name)),
                Cow::Borrowed(node),
                kube::sanitize(name),
                Cow::Borrowed(kind.unit()),
            ];
            out.push_owned(values, number);
        }
    }
}

fn condition_time<'a>(p: &'a Pod, kind: &'a str, wanted: &str, out: Out<'a, '_>) {
    for c in conditions(p, kind).filter(|c| s(&c.status) == wanted) {
        out.push([], unix(&c.last_transition_time));
    }
}

fn condition_series<'a>(p: &'a Pod, kind: &'a str, out: Out<'a, '_>) {
    for c in conditions(p, kind) {
        for (word, value) in kube::condition_statuses(s(&c.status)) {
            out.push([word], value);
        }
    }
}

fn pvc_volumes<'a>(p: &'a Pod, out: Out<'a, '_>, readonly: bool) {
    let pod_name = s(&p.metadata().name);
    for v in &spec(p).volumes {
        let Some(source) = &v.volume_source else {
            continue;
        };
        if let Some(claim) = &source.persistent_volume_claim {
            let value = if readonly {
                bool_value(claim.read_only.unwrap_or(false))
            } else {
                1.0
            };
            out.push([s(&v.name), s(&claim.claim_name), "false"], value);
        } else if source.ephemeral.is_some() {
            // The claim of a generic ephemeral volume is named <pod>-<volume>.
            let claim = Cow::Owned(format!("{pod_name}-{}", s(&v.name)));
            out.push_owned(
                vec![Cow::Borrowed(s(&v.name)), claim, Cow::Borrowed("true")],
                if readonly { 0.0 } else { 1.0 },
            );
        }
    }
}

fn one_of<'a>(current: &str, choices: &[&'a str], out: Out<'a, '_>) {
    if current.is_empty() {
        return;
    }
    for &choice in choices {
        out.push([choice], bool_value(current == choice));
    }
}

fn overhead<'a>(p: &'a Pod, resource: &str, out: Out<'a, '_>) {
    if let Some(q) = spec(p).overhead.get(resource).and_then(kube::quantity) {
        out.push(
            [],
            if resource == "cpu" {
                q.cores()
            } else {
                q.value()
            },
        );
    }
}

// ---- families ----------------------------------------------------------------

fn completion_time<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    let last = statuses::<CONTAINERS>(p)
        .iter()
        .filter_map(|cs| state(cs).terminated.as_ref())
        .map(|t| unix(&t.finished_at))
        .fold(0.0, f64::max);
    if last > 0.0 {
        out.push([], last);
    }
}

fn info<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    let (sp, st) = (spec(p), status(p));
    let controller = p
        .metadata()
        .owner_references
        .iter()
        .find(|o| o.controller == Some(true));
    let (kind, name) = controller.map_or(("", ""), |o| (s(&o.kind), s(&o.name)));
    let host_network = bool_word(sp.host_network.unwrap_or(false));
    out.push(
        [
            s(&st.host_ip),
            s(&st.pod_ip),
            s(&sp.node_name),
            kind,
            name,
            s(&sp.priority_class_name),
            host_network,
        ],
        1.0,
    );
}

fn ips<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for ip in &status(p).pod_i_ps {
        let text = s(&ip.ip);
        // Zones (fe80::1%eth0) parse in Go; std does not know them.
        let Ok(address) = text.split('%').next().unwrap_or(text).parse::<IpAddr>() else {
            continue;
        };
        let family = match address {
            IpAddr::V4(_) => "4",
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => "4",
            IpAddr::V6(_) => "6",
        };
        out.push([text, family], 1.0);
    }
}

fn overhead_cpu_cores<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    overhead(p, "cpu", out);
}

fn overhead_memory_bytes<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    overhead(p, "memory", out);
}

fn resourceclaim_info<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    let resolved = |name: &str| {
        status(p)
            .resource_claim_statuses
            .iter()
            .find(|st| s(&st.name) == name)
            .and_then(|st| st.resource_claim_name.as_deref())
    };
    for claim in &spec(p).resource_claims {
        let (direct, template) = (
            claim.resource_claim_name.as_deref(),
            claim.resource_claim_template_name.as_deref(),
        );
        if direct.is_none() && template.is_none() {
            continue; // references no claim at all
        }
        let claim_object = direct.or_else(|| resolved(s(&claim.name))).unwrap_or("");
        out.push([s(&claim.name), claim_object, template.unwrap_or("")], 1.0);
    }
}

fn restart_policy<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    out.push([s(&spec(p).restart_policy)], 1.0);
}

fn runtimeclass_name_info<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    if let Some(name) = &spec(p).runtime_class_name {
        out.push([name.as_str()], 1.0);
    }
}

fn volumes_pvc_info<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    pvc_volumes(p, out, false);
}

fn volumes_pvc_readonly<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    pvc_volumes(p, out, true);
}

fn start_time<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    if status(p).start_time.is_some() {
        out.push([], unix(&status(p).start_time));
    }
}

fn status_phase<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    one_of(
        s(&status(p).phase),
        &["Pending", "Succeeded", "Failed", "Unknown", "Running"],
        out,
    );
}

fn status_qos_class<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    one_of(
        s(&status(p).qos_class),
        &["BestEffort", "Burstable", "Guaranteed"],
        out,
    );
}

fn status_ready<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    condition_series(p, "Ready", out);
}

fn status_ready_time<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    condition_time(p, "Ready", "True", out);
}

fn status_initialized_time<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    condition_time(p, "Initialized", "True", out);
}

fn status_container_ready_time<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    condition_time(p, "ContainersReady", "True", out);
}

const STATUS_REASONS: &[&str] = &[
    "Evicted",
    "NodeAffinity",
    "NodeLost",
    "PreemptionByScheduler",
    "SchedulingGated",
    "Shutdown",
    "TerminationByKubelet",
    "UnexpectedAdmissionError",
];

/// A reason counts when the pod status, any condition, or any container's current
/// termination carries it; an unknown non-empty status reason becomes `Other`.
fn status_reason<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    let st = status(p);
    let present = |reason: &str| {
        s(&st.reason) == reason
            || st.conditions.iter().any(|c| s(&c.reason) == reason)
            || statuses::<CONTAINERS>(p).iter().any(|cs| {
                state(cs)
                    .terminated
                    .as_ref()
                    .is_some_and(|t| s(&t.reason) == reason)
            })
    };
    for &reason in STATUS_REASONS.iter().filter(|r| present(r)) {
        out.push([reason], 1.0);
    }
    if !s(&st.reason).is_empty() && !STATUS_REASONS.contains(&s(&st.reason)) {
        out.push(["Other"], 1.0);
    }
}

const DISRUPTION_REASONS: &[&str] = &[
    "PreemptionByScheduler",
    "DeletionByTaintManager",
    "EvictionByEvictionAPI",
    "DeletionByPodGC",
    "TerminationByKubelet",
];

fn status_disruption_reason<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for c in conditions(p, "DisruptionTarget") {
        let reason = DISRUPTION_REASONS
            .iter()
            .copied()
            .find(|r| *r == s(&c.reason))
            .unwrap_or("Other");
        out.push([reason], 1.0);
    }
}

fn status_scheduled<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    condition_series(p, "PodScheduled", out);
}

fn status_scheduled_time<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    condition_time(p, "PodScheduled", "True", out);
}

fn status_unschedulable<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for _ in conditions(p, "PodScheduled").filter(|c| s(&c.status) == "False") {
        out.push([], 1.0);
    }
}

fn status_unscheduled_time<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    condition_time(p, "PodScheduled", "False", out);
}

/// Duplicate tolerations collapse into one series (the samples' deduplication).
fn tolerations<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    for t in &spec(p).tolerations {
        let seconds = t
            .toleration_seconds
            .map_or(Cow::Borrowed(""), |secs| Cow::Owned(secs.to_string()));
        let values = [s(&t.key), s(&t.operator), s(&t.value), s(&t.effect)]
            .into_iter()
            .map(Cow::Borrowed)
            .chain([seconds]);
        out.push_owned(values.collect(), 1.0);
    }
}

fn nodeselectors<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    out.push_dynamic(kube::all_pairs("nodeselector", &spec(p).node_selector), 1.0);
}

fn service_account<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    out.push([s(&spec(p).service_account_name)], 1.0);
}

fn scheduler<'a>(p: &'a Pod, _: &Context, out: Out<'a, '_>) {
    out.push([s(&spec(p).scheduler_name)], 1.0);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::core::v1::PodIp;
    use crate::api::meta::v1::{ObjectMeta, OwnerReference};
    use crate::metrics::family::Samples;

    fn run(family: &str, pod: &Pod, ctx: &Context) -> Vec<(Vec<String>, Vec<String>, f64)> {
        let family = FAMILIES
            .iter()
            .find(|f| f.meta.name == family)
            .unwrap_or_else(|| panic!("no family {family}"));
        let mut out = Samples::default();
        (family.generate)(pod, ctx, &mut out);
        out.dedup();
        out.samples
            .into_iter()
            .map(|s| {
                let strings =
                    |v: Vec<Cow<'_, str>>| v.into_iter().map(|c| c.into_owned()).collect();
                (strings(s.keys), strings(s.values), s.value)
            })
            .collect()
    }

    fn values(samples: &[(Vec<String>, Vec<String>, f64)]) -> Vec<(Vec<&str>, f64)> {
        samples
            .iter()
            .map(|(_, v, value)| (v.iter().map(String::as_str).collect(), *value))
            .collect()
    }

    #[test]
    fn table_has_sixty_families_in_ksm_order() {
        assert_eq!(FAMILIES.len(), 60);
        assert_eq!(FAMILIES[0].meta.name, "kube_pod_completion_time");
        assert_eq!(FAMILIES[59].meta.name, "kube_pod_scheduler");
        assert_eq!(
            FAMILIES
                .iter()
                .filter(|f| f.meta.opt_in)
                .map(|f| f.meta.name)
                .collect::<Vec<_>>(),
            ["kube_pod_nodeselectors"]
        );
    }

    #[test]
    fn overhead_in_cores_and_bytes() {
        let mut pod = Pod::default();
        let spec = pod.spec.get_or_insert_with(PodSpec::default);
        let q = |s: &str| QuantityMessage {
            string: Some(s.into()),
        };
        spec.overhead = BTreeMap::from([("cpu".into(), q("250m")), ("memory".into(), q("120Mi"))]);
        assert_eq!(
            values(&run(
                "kube_pod_overhead_cpu_cores",
                &pod,
                &Context::default()
            )),
            vec![(vec![], 0.25)]
        );
        assert_eq!(
            values(&run(
                "kube_pod_overhead_memory_bytes",
                &pod,
                &Context::default()
            )),
            vec![(vec![], 125_829_120.0)]
        );
    }

    #[test]
    fn ips_skip_garbage_and_unmap_ipv4() {
        let mut pod = Pod::default();
        let ips = ["10.0.0.1", "not-an-ip", "fe80::1%eth0", "::ffff:10.0.0.2"];
        pod.status.get_or_insert_with(PodStatus::default).pod_i_ps = ips
            .iter()
            .map(|ip| PodIp {
                ip: Some(ip.to_string()),
            })
            .collect();
        assert_eq!(
            values(&run("kube_pod_ips", &pod, &Context::default())),
            vec![
                (vec!["10.0.0.1", "4"], 1.0),
                (vec!["fe80::1%eth0", "6"], 1.0),
                (vec!["::ffff:10.0.0.2", "4"], 1.0)
            ]
        );
    }

    #[test]
    fn owners_without_controller_flag_read_false() {
        let pod = Pod {
            metadata: Some(ObjectMeta {
                owner_references: vec![OwnerReference {
                    kind: Some("Node".into()),
                    name: Some("n1".into()),
                    ..Default::default()
                }],
                ..ObjectMeta::default()
            }),
            ..Pod::default()
        };
        assert_eq!(
            values(&run("kube_pod_owner", &pod, &Context::default())),
            vec![(vec!["Node", "n1", "false"], 1.0)]
        );
        let info = run("kube_pod_info", &pod, &Context::default());
        assert_eq!(
            info[0].1[3], "",
            "no controller owner: created_by_kind stays empty"
        );
    }

    #[test]
    fn nodeselectors_sanitise_and_resolve_conflicts() {
        let mut pod = Pod::default();
        pod.spec.get_or_insert_with(PodSpec::default).node_selector = BTreeMap::from([
            ("disk-type".into(), "ssd".into()),
            ("disk_type".into(), "nvme".into()),
        ]);
        let samples = run("kube_pod_nodeselectors", &pod, &Context::default());
        assert_eq!(
            samples[0].0,
            [
                "nodeselector_disk_type_conflict1",
                "nodeselector_disk_type_conflict2"
            ]
        );
        assert_eq!(samples[0].1, ["ssd", "nvme"]);
    }

    #[test]
    fn hugepages_and_unknown_native_resources() {
        let mut pod = Pod::default();
        let q = |s: &str| QuantityMessage {
            string: Some(s.into()),
        };
        let requests = BTreeMap::from([
            ("hugepages-2Mi".into(), q("4Mi")),
            ("pods".into(), q("1")),
            ("example.com/dongle".into(), q("2")),
        ]);
        pod.spec.get_or_insert_with(PodSpec::default).containers = vec![Container {
            name: Some("c".into()),
            resources: Some(ResourceRequirements {
                requests,
                ..ResourceRequirements::default()
            }),
            ..Container::default()
        }];
        assert_eq!(
            values(&run(
                "kube_pod_container_resource_requests",
                &pod,
                &Context::default()
            )),
            vec![
                (vec!["c", "", "example_com_dongle", "integer"], 2.0),
                (vec!["c", "", "hugepages_2Mi", "byte"], 4_194_304.0)
            ]
        );
    }
}
