//! `nodes`: 13 families, in kube-state-metrics' order. Default label: node.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::api::core::v1::{Node, NodeSpec, NodeStatus, NodeSystemInfo};
use crate::api::resource::Quantity as QuantityMessage;
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{self, bool_value, s, zero_or};
use crate::metrics::resource::{name_only, ResourceDef};

#[rustfmt::skip]
pub static FAMILIES: &[Family<Node>] = &[
    generic::annotations("kube_node_annotations", Alpha),
    generic::created("kube_node_created", Stable),
    generic::deletion_timestamp("kube_node_deletion_timestamp", Alpha),
    gauge("kube_node_info", Stable, "Software versions and identity of the node.", &["kernel_version", "os_image", "container_runtime_version", "kubelet_version", "kubeproxy_version", "provider_id", "pod_cidr", "system_uuid", "internal_ip"], info),
    generic::labels("kube_node_labels", Stable),
    gauge("kube_node_role", Alpha, "Each role of the node (node-role.kubernetes.io/<role> labels).", &["role"], role),
    gauge("kube_node_spec_pod_cidrs", Alpha, "Each pod CIDR assigned to the node.", &["pod_cidr"], spec_pod_cidrs),
    gauge("kube_node_spec_taint", Stable, "Each taint of the node.", &["key", "value", "effect"], spec_taint),
    gauge("kube_node_spec_unschedulable", Stable, "1 when the node is cordoned.", &[], spec_unschedulable),
    gauge("kube_node_status_allocatable", Stable, "Resources of the node available to pods (cpu in cores, memory and storage in bytes).", &["resource", "unit"], status_allocatable),
    gauge("kube_node_status_capacity", Stable, "Total resources of the node (cpu in cores, memory and storage in bytes).", &["resource", "unit"], status_capacity),
    gauge("kube_node_status_condition", Stable, "Status of each node condition, one series per status.", &["condition", "status"], status_condition),
    gauge("kube_node_status_addresses", Alpha, "Each address of the node.", &["type", "address"], status_addresses),
];

pub static RESOURCE: ResourceDef<Node> = ResourceDef {
    default_labels: &["node"],
    default_values: name_only,
    families: FAMILIES,
};

// ---- accessors -------------------------------------------------------------

fn spec(n: &Node) -> &NodeSpec {
    zero_or!(n.spec, NodeSpec)
}

fn status(n: &Node) -> &NodeStatus {
    zero_or!(n.status, NodeStatus)
}

fn node_info(n: &Node) -> &NodeSystemInfo {
    zero_or!(status(n).node_info, NodeSystemInfo)
}

/// Node quantities all use KSM's milli-based conversion, `pods` included.
fn resources<'a>(list: &'a BTreeMap<String, QuantityMessage>, out: Out<'a, '_>) {
    for (name, value) in list {
        let (Some(kind), Some(q)) = (kube::resource_kind(name, true), kube::quantity(value)) else {
            continue;
        };
        out.push_owned(
            vec![kube::sanitize(name), Cow::Borrowed(kind.unit())],
            q.cores(),
        );
    }
}

// ---- families ----------------------------------------------------------------

/// `kubeproxy_version` is the constant `deprecated`; `internal_ip` is the last
/// InternalIP address.
fn info<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    let i = node_info(n);
    let internal_ip = status(n)
        .addresses
        .iter()
        .rfind(|a| s(&a.r#type) == "InternalIP")
        .map_or("", |a| s(&a.address));
    let (provider, cidr) = (s(&spec(n).provider_id), s(&spec(n).pod_cidr));
    out.push(
        [
            s(&i.kernel_version),
            s(&i.os_image),
            s(&i.container_runtime_version),
            s(&i.kubelet_version),
            "deprecated",
            provider,
            cidr,
            s(&i.system_uuid),
            internal_ip,
        ],
        1.0,
    );
}

fn role<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    for key in n.metadata().labels.keys() {
        if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
            out.push([role], 1.0);
        }
    }
}

fn spec_pod_cidrs<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    for cidr in &spec(n).pod_cid_rs {
        out.push([cidr.as_str()], 1.0);
    }
}

fn spec_taint<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    for t in &spec(n).taints {
        out.push([s(&t.key), s(&t.value), s(&t.effect)], 1.0);
    }
}

fn spec_unschedulable<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    out.push([], bool_value(spec(n).unschedulable.unwrap_or(false)));
}

fn status_allocatable<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    resources(&status(n).allocatable, out);
}

fn status_capacity<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    resources(&status(n).capacity, out);
}

fn status_condition<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    for c in &status(n).conditions {
        for (word, value) in kube::condition_statuses(s(&c.status)) {
            out.push([s(&c.r#type), word], value);
        }
    }
}

fn status_addresses<'a>(n: &'a Node, _: &Context, out: Out<'a, '_>) {
    for a in &status(n).addresses {
        out.push([s(&a.r#type), s(&a.address)], 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::family::Samples;

    #[test]
    fn table_has_thirteen_families_in_ksm_order() {
        let names: Vec<&str> = FAMILIES.iter().map(|f| f.meta.name).collect();
        assert_eq!(names.len(), 13);
        assert_eq!(names[0], "kube_node_annotations");
        assert_eq!(names[12], "kube_node_status_addresses");
        assert!(FAMILIES.iter().all(|f| !f.meta.opt_in));
    }

    #[test]
    fn conditions_give_three_series_each() {
        let mut node = Node::default();
        node.status
            .get_or_insert_with(NodeStatus::default)
            .conditions = vec![crate::api::core::v1::NodeCondition {
            r#type: Some("Ready".into()),
            status: Some("Unknown".into()),
            ..Default::default()
        }];
        let mut out = Samples::default();
        status_condition(&node, &Context::default(), &mut out);
        let got: Vec<(String, f64)> = out
            .samples
            .iter()
            .map(|s| (s.values[1].to_string(), s.value))
            .collect();
        assert_eq!(
            got,
            [
                ("true".to_string(), 0.0),
                ("false".to_string(), 0.0),
                ("unknown".to_string(), 1.0)
            ]
        );
    }
}
