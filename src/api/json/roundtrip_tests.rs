//! Property tests for both codecs on the same types: arbitrary Pods and Nodes (a
//! strategy over the fields the metrics read, with every special JSON type) survive
//! protobuf encode → envelope → decode and Kubernetes JSON write → read unchanged.
//!
//! Generated values are "Go-shaped": times carry `nanos: Some(0)` and a
//! MicroTime-free subset, as Go's encoder writes them, because that is the form the
//! JSON reader produces (see `special.rs`).

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use prost::Message;

use crate::api::core::v1::{
    Container, ContainerPort, ContainerState, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Node, NodeCondition, NodeSpec, NodeStatus, NodeSystemInfo, Pod, PodCondition,
    PodIp, PodSpec, PodStatus, ResourceRequirements, Secret, Taint,
};
use crate::api::envelope::{self, Body};
use crate::api::intstr::IntOrString;
use crate::api::meta::v1::{ObjectMeta, OwnerReference, Time};
use crate::api::resource::Quantity;
use crate::api::{json, Object};

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including quotes, backslashes and control characters.
    ".{0,12}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    option::of(text())
}

fn time() -> impl Strategy<Value = Time> {
    // Years 1970..=2100, whole seconds: what metav1.Time carries.
    (0i64..4_102_444_800).prop_map(|seconds| Time {
        seconds: Some(seconds),
        nanos: Some(0),
    })
}

fn quantity() -> impl Strategy<Value = Quantity> {
    prop_oneof![
        (0u32..100_000).prop_map(|n| format!("{n}m")),
        (0u32..1024).prop_map(|n| format!("{n}Gi")),
        (0u64..u64::from(u32::MAX)).prop_map(|n| n.to_string()),
    ]
    .prop_map(|text| Quantity { string: Some(text) })
}

fn resources() -> impl Strategy<Value = BTreeMap<String, Quantity>> {
    btree_map(
        prop_oneof![Just("cpu".to_string()), Just("memory".to_string()), text()],
        quantity(),
        0..3,
    )
}

fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(text(), text(), 0..4)
}

fn metadata() -> impl Strategy<Value = ObjectMeta> {
    let owner = (
        opt_text(),
        opt_text(),
        opt_text(),
        option::of(any::<bool>()),
    )
        .prop_map(|(kind, name, uid, controller)| OwnerReference {
            api_version: Some("apps/v1".into()),
            kind,
            name,
            uid,
            controller,
            block_owner_deletion: None,
        });
    (
        (
            opt_text(),
            opt_text(),
            opt_text(),
            opt_text(),
            option::of(any::<i64>()),
        ),
        (
            labels(),
            labels(),
            option::of(time()),
            option::of(time()),
            vec(owner, 0..2),
        ),
        vec(text(), 0..2),
    )
        .prop_map(
            |(
                (name, namespace, uid, resource_version, generation),
                (labels, annotations, created, deleted, owner_references),
                finalizers,
            )| ObjectMeta {
                name,
                namespace,
                uid,
                resource_version,
                generation,
                labels,
                annotations,
                creation_timestamp: created,
                deletion_timestamp: deleted,
                owner_references,
                finalizers,
                ..Default::default()
            },
        )
}

fn container() -> impl Strategy<Value = Container> {
    let port = (
        opt_text(),
        option::of(any::<i32>()),
        option::of(Just("TCP".to_string())),
    )
        .prop_map(|(name, container_port, protocol)| ContainerPort {
            name,
            container_port,
            protocol,
            ..Default::default()
        });
    (
        text(),
        opt_text(),
        resources(),
        resources(),
        vec(port, 0..3),
        vec(text(), 0..3),
    )
        .prop_map(
            |(name, image, limits, requests, ports, command)| Container {
                name: Some(name),
                image,
                resources: Some(ResourceRequirements {
                    limits,
                    requests,
                    claims: Vec::new(),
                }),
                ports,
                command,
                ..Default::default()
            },
        )
}

fn int_or_string() -> impl Strategy<Value = IntOrString> {
    // The Go-shaped triples the JSON reader produces.
    prop_oneof![
        any::<i32>().prop_map(|n| IntOrString {
            r#type: Some(0),
            int_val: Some(n),
            str_val: Some(String::new())
        }),
        text().prop_map(|s| IntOrString {
            r#type: Some(1),
            int_val: Some(0),
            str_val: Some(s)
        }),
    ]
}

fn container_status() -> impl Strategy<Value = ContainerStatus> {
    let state = prop_oneof![
        opt_text().prop_map(|reason| ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason,
                message: None
            }),
            ..Default::default()
        }),
        (any::<i32>(), opt_text(), option::of(time())).prop_map(
            |(exit_code, reason, finished_at)| {
                ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: Some(exit_code),
                        reason,
                        finished_at,
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
        ),
    ];
    (
        text(),
        option::of(state.clone()),
        option::of(state),
        any::<bool>(),
        0i32..1000,
    )
        .prop_map(
            |(name, state, last_state, ready, restart_count)| ContainerStatus {
                name: Some(name),
                state,
                last_state,
                ready: Some(ready),
                restart_count: Some(restart_count),
                ..Default::default()
            },
        )
}

pub(crate) fn pod() -> impl Strategy<Value = Pod> {
    let condition =
        (text(), text(), option::of(time())).prop_map(|(kind, status, at)| PodCondition {
            r#type: Some(kind),
            status: Some(status),
            last_transition_time: at,
            ..Default::default()
        });
    let spec = (
        opt_text(),
        vec(container(), 0..3),
        vec(container(), 0..2),
        option::of(any::<i32>()),
    )
        .prop_map(
            |(node_name, containers, init_containers, priority)| PodSpec {
                node_name,
                containers,
                init_containers,
                priority,
                ..Default::default()
            },
        );
    let status = (
        opt_text(),
        vec(condition, 0..3),
        vec(container_status(), 0..3),
        vec(text(), 0..2),
        option::of(time()),
    )
        .prop_map(
            |(phase, conditions, container_statuses, ips, start_time)| PodStatus {
                phase,
                conditions,
                container_statuses,
                pod_i_ps: ips.into_iter().map(|ip| PodIp { ip: Some(ip) }).collect(),
                start_time,
                ..Default::default()
            },
        );
    (option::of(metadata()), option::of(spec), option::of(status)).prop_map(
        |(metadata, spec, status)| Pod {
            metadata,
            spec,
            status,
        },
    )
}

fn node() -> impl Strategy<Value = Node> {
    let taint = (
        opt_text(),
        opt_text(),
        option::of(Just("NoSchedule".to_string())),
        option::of(time()),
    )
        .prop_map(|(key, value, effect, time_added)| Taint {
            key,
            value,
            effect,
            time_added,
        });
    let condition = (text(), text(), option::of(time()), option::of(time())).prop_map(
        |(kind, status, heartbeat, transition)| NodeCondition {
            r#type: Some(kind),
            status: Some(status),
            last_heartbeat_time: heartbeat,
            last_transition_time: transition,
            ..Default::default()
        },
    );
    let spec = (
        option::of(any::<bool>()),
        vec(taint, 0..3),
        vec(text(), 0..2),
    )
        .prop_map(|(unschedulable, taints, pod_cid_rs)| NodeSpec {
            unschedulable,
            taints,
            pod_cid_rs,
            ..Default::default()
        });
    let info =
        (opt_text(), opt_text(), opt_text()).prop_map(|(kubelet, os, arch)| NodeSystemInfo {
            kubelet_version: kubelet,
            operating_system: os,
            architecture: arch,
            ..Default::default()
        });
    let status = (
        resources(),
        resources(),
        vec(condition, 0..3),
        option::of(info),
    )
        .prop_map(
            |(capacity, allocatable, conditions, node_info)| NodeStatus {
                capacity,
                allocatable,
                conditions,
                node_info,
                ..Default::default()
            },
        );
    (option::of(metadata()), option::of(spec), option::of(status)).prop_map(
        |(metadata, spec, status)| Node {
            metadata,
            spec,
            status,
        },
    )
}

fn secret() -> impl Strategy<Value = Secret> {
    (
        option::of(metadata()),
        btree_map(text(), vec(any::<u8>(), 0..24), 0..3),
        option::of(text()),
    )
        .prop_map(|(metadata, data, kind)| Secret {
            metadata,
            data,
            r#type: kind,
            ..Default::default()
        })
}

/// protobuf: encode, seal in the envelope, decode through the generic dispatch.
fn through_protobuf(object: &Object) -> Object {
    let resource = object.resource();
    let sealed = envelope::seal(
        resource.api_version,
        resource.kind,
        Bytes::from(object.encode_proto()),
    );
    match envelope::decode(Bytes::from(sealed)) {
        Ok(Body::Object(decoded)) => decoded,
        other => panic!("protobuf round trip gave {other:?}"),
    }
}

/// JSON: write Kubernetes JSON text, read it back through the generic dispatch.
fn through_json(object: &Object) -> Object {
    let text = serde_json::to_vec(&object.to_json_value().expect("serializes")).expect("prints");
    match json::decode(&text) {
        Ok(Body::Object(decoded)) => decoded,
        other => panic!(
            "JSON round trip gave {other:?} for {}",
            String::from_utf8_lossy(&text)
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn pods_survive_both_codecs(pod in pod()) {
        let object = Object::Pod(Box::new(pod));
        prop_assert_eq!(&through_protobuf(&object), &object);
        prop_assert_eq!(&through_json(&object), &object);
    }

    #[test]
    fn nodes_survive_both_codecs(node in node()) {
        let object = Object::Node(Box::new(node));
        prop_assert_eq!(&through_protobuf(&object), &object);
        prop_assert_eq!(&through_json(&object), &object);
    }

    #[test]
    fn secrets_with_binary_data_survive_both_codecs(secret in secret()) {
        let object = Object::Secret(Box::new(secret));
        prop_assert_eq!(&through_protobuf(&object), &object);
        prop_assert_eq!(&through_json(&object), &object);
    }

    #[test]
    fn int_or_string_survives_json(value in int_or_string()) {
        let text = serde_json::to_string(&value).expect("serializes");
        prop_assert_eq!(serde_json::from_str::<IntOrString>(&text).expect("reads back"), value);
    }

    #[test]
    fn times_survive_json(time in time()) {
        let text = serde_json::to_string(&time).expect("serializes");
        prop_assert_eq!(serde_json::from_str::<Time>(&text).expect("reads back"), time);
    }

    #[test]
    fn object_encodings_decode_as_themselves(pod in pod()) {
        // The bytes prost writes decode with the plain message too (no envelope).
        let bytes = pod.encode_to_vec();
        prop_assert_eq!(Pod::decode(bytes.as_slice()).expect("decodes"), pod);
    }
}
