//! Schema drift: a vendor Node encoded by protoc (tests/fixtures/vendor-node) against
//! the stock schema and against one with the vendor change, the diagnosis of both, no
//! false positives on real apiserver bodies, and no panics on any input.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage, Value};

use kube_state_exporter::api::diagnose::{diagnose, diagnose_object, Diagnosis, FindingKind};
use kube_state_exporter::api::{envelope, schema};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn vendor_node_body() -> Vec<u8> {
    let path = manifest_dir().join("tests/fixtures/vendor-node/vendor-node.pb");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The object bytes inside the fixture's envelope.
fn vendor_node_raw() -> Bytes {
    envelope::open(Bytes::from(vendor_node_body()))
        .expect("the fixture's envelope is well formed")
        .raw
}

// ---------------------------------------------------------------------------------
// The two schemas: the upstream one (what a stock build compiles) and upstream plus
// overlays/deviceinfo, merged by the same code build.rs uses.
// ---------------------------------------------------------------------------------

/// The vendor pool, built once per test binary.
fn vendor_pool() -> DescriptorPool {
    static POOL: std::sync::LazyLock<DescriptorPool> = std::sync::LazyLock::new(|| {
        let overlay = schema_overlay::Overlay::load(&manifest_dir().join("overlays/deviceinfo"))
            .unwrap_or_else(|e| panic!("overlays/deviceinfo: {e}"));
        let merged = schema_overlay::merge(&schema::upstream_descriptors(), &[overlay])
            .unwrap_or_else(|e| panic!("merging overlays/deviceinfo: {e}"));
        DescriptorPool::from_file_descriptor_set(merged).expect("the merged schema is valid")
    });
    POOL.clone()
}

/// The stock pool: upstream without overlays, whatever this build was compiled with.
fn stock_pool() -> DescriptorPool {
    static POOL: std::sync::LazyLock<DescriptorPool> = std::sync::LazyLock::new(|| {
        DescriptorPool::from_file_descriptor_set(schema::upstream_descriptors())
            .expect("the upstream schema is valid")
    });
    POOL.clone()
}

fn message(pool: &DescriptorPool, name: &str) -> MessageDescriptor {
    pool.get_message_by_name(name)
        .unwrap_or_else(|| panic!("{name} is not in the pool"))
}

// ---------------------------------------------------------------------------------
// Stock schema against the vendor body.
// ---------------------------------------------------------------------------------

#[test]
fn stock_types_fail_on_the_vendor_node() {
    let err = envelope::decode(Bytes::from(vendor_node_body()))
        .expect_err("stock types must not decode it");
    let text = err.to_string();
    println!("{text}");
    assert!(text.starts_with("v1 Node: "), "{text}");
    assert!(text.contains("wire type"), "{text}");
}

#[test]
fn diagnosis_points_at_status_field_11() {
    let diagnosis = diagnose(&stock_pool(), &vendor_node_body());
    println!("{diagnosis}");
    println!("summary: {}", diagnosis.summary());

    assert_eq!(diagnosis.kind.as_deref(), Some("v1.Node"));
    assert_eq!(diagnosis.name.as_deref(), Some("gpu-node-1"));
    assert!(!diagnosis.is_clean());
    assert!(!diagnosis.decodes());

    let first = &diagnosis.findings[0];
    assert_eq!(first.kind, FindingKind::WrongType);
    assert_eq!(first.path, "status.config");
    assert_eq!(first.within, "status");
    assert_eq!(first.message, "NodeStatus");
    assert_eq!(first.field_number, 11);
    assert_eq!(first.wire_type, 2);
    assert_eq!(first.expected.as_deref(), Some("NodeConfigStatus"));
    assert_eq!(
        first.to_string(),
        "status (NodeStatus) field 11: expected NodeConfigStatus, but its bytes do not parse \
         as one (at assigned.configMap: field 13 has illegal wire type 6)"
    );
    assert!(diagnosis.summary().starts_with(
        "v1.Node \"gpu-node-1\": status (NodeStatus) field 11: expected NodeConfigStatus"
    ));
    assert!(diagnosis
        .summary()
        .contains("hint: the server's schema differs from this build"));

    // config moved to 12 and runtimeHandlers to 13: both land on fields of other types.
    let fields: Vec<(u32, &str)> = diagnosis
        .findings
        .iter()
        .map(|f| (f.field_number, f.expected.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        fields,
        vec![
            (11, "NodeConfigStatus"),
            (12, "NodeRuntimeHandler"),
            (13, "NodeFeatures")
        ]
    );
    assert!(diagnosis.findings.iter().all(|f| f.within == "status"));
}

// ---------------------------------------------------------------------------------
// The vendor schema decodes it.
// ---------------------------------------------------------------------------------

fn get<'a>(message: &'a DynamicMessage, name: &str) -> std::borrow::Cow<'a, Value> {
    assert!(
        message.has_field_by_name(name),
        "{} has no {name}",
        message.descriptor().name()
    );
    message.get_field_by_name(name).expect("field exists")
}

fn sub(message: &DynamicMessage, name: &str) -> DynamicMessage {
    get(message, name)
        .as_message()
        .unwrap_or_else(|| panic!("{name} is not a message"))
        .clone()
}

fn text(message: &DynamicMessage, name: &str) -> String {
    get(message, name)
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string"))
        .to_string()
}

#[test]
fn vendor_schema_decodes_device_info_and_config() {
    let pool = vendor_pool();
    let node = DynamicMessage::decode(message(&pool, "k8s.io.api.core.v1.Node"), vendor_node_raw())
        .expect("the vendor schema decodes the vendor node");
    assert_eq!(text(&sub(&node, "metadata"), "name"), "gpu-node-1");
    let status = sub(&node, "status");

    let devices = sub(&status, "deviceInfo");
    let devices = get(&devices, "devices");
    let devices = devices.as_list().expect("devices is a list");
    let read: Vec<(String, String, i32, bool)> = devices
        .iter()
        .map(|device| {
            let device = device.as_message().expect("a device is a message");
            (
                text(device, "name"),
                text(device, "type"),
                get(device, "count").as_i32().expect("count is int32"),
                get(device, "healthy").as_bool().expect("healthy is bool"),
            )
        })
        .collect();
    assert_eq!(
        read,
        vec![
            ("nvidia.com/gpu".into(), "nvidia-h100".into(), 4, true),
            ("xilinx.com/fpga".into(), "xilinx-u250".into(), 1, false),
        ]
    );

    let config = sub(&status, "config");
    for source in ["assigned", "active"] {
        let config_map = sub(&sub(&config, source), "configMap");
        assert_eq!(text(&config_map, "namespace"), "kube-system", "{source}");
        assert_eq!(text(&config_map, "name"), "gpu-kubelet-config", "{source}");
        assert_eq!(text(&config_map, "kubeletConfigKey"), "kubelet", "{source}");
    }
    assert!(!config.has_field_by_name("lastKnownGood"));

    let handlers = get(&status, "runtimeHandlers");
    let handlers: Vec<String> = handlers
        .as_list()
        .expect("runtimeHandlers is a list")
        .iter()
        .map(|h| text(h.as_message().expect("message"), "name"))
        .collect();
    assert_eq!(handlers, vec!["".to_string(), "nvidia".to_string()]);
    let features = sub(&status, "features");
    assert_eq!(
        get(&features, "supplementalGroupsPolicy").as_bool(),
        Some(true)
    );

    // Every byte was understood: re-encoding gives as many bytes (map entries may come
    // out in another order, so the bytes themselves are not compared).
    assert_eq!(node.encoded_len(), vendor_node_raw().len());
}

#[test]
fn vendor_schema_diagnosis_is_clean() {
    let diagnosis = diagnose(&vendor_pool(), &vendor_node_body());
    assert!(diagnosis.is_clean(), "{diagnosis}");
    assert_eq!(diagnosis.kind.as_deref(), Some("v1.Node"));
    assert_eq!(diagnosis.name.as_deref(), Some("gpu-node-1"));
    assert_eq!(
        diagnosis.to_string(),
        "v1.Node \"gpu-node-1\": matches the schema of this build"
    );
}

#[test]
fn the_json_twin_describes_the_same_node() {
    let path = manifest_dir().join("tests/fixtures/vendor-node/vendor-node.json");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("vendor-node.json"))
            .expect("valid JSON");
    let pool = vendor_pool();
    let node = DynamicMessage::decode(message(&pool, "k8s.io.api.core.v1.Node"), vendor_node_raw())
        .expect("decodes");
    let status = sub(&node, "status");
    let devices = get(&sub(&status, "deviceInfo"), "devices").into_owned();
    let devices = devices.as_list().expect("list");
    let json_devices = json["status"]["deviceInfo"]["devices"]
        .as_array()
        .expect("devices array");
    assert_eq!(devices.len(), json_devices.len());
    for (device, expected) in devices.iter().zip(json_devices) {
        let device = device.as_message().expect("message");
        assert_eq!(text(device, "name"), expected["name"]);
        assert_eq!(text(device, "type"), expected["type"]);
        assert_eq!(
            i64::from(get(device, "count").as_i32().unwrap_or(-1)),
            expected["count"]
        );
        assert_eq!(
            get(device, "healthy").as_bool(),
            expected["healthy"].as_bool()
        );
    }
    let capacity = json["status"]["capacity"].as_object().expect("capacity");
    let encoded = get(&status, "capacity").into_owned();
    let encoded = encoded.as_map().expect("capacity is a map");
    assert_eq!(encoded.len(), capacity.len());
    assert_eq!(json["metadata"]["name"], "gpu-node-1");
    assert_eq!(
        json["status"]["config"]["active"]["configMap"]["name"],
        text(
            &sub(&sub(&sub(&status, "config"), "active"), "configMap"),
            "name"
        )
    );
}

// ---------------------------------------------------------------------------------
// Lists, watch streams, unknown fields, packed numbers.
// ---------------------------------------------------------------------------------

fn length_delimited(number: u32, bytes: &[u8], out: &mut Vec<u8>) {
    prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn stock_node(name: &str) -> Vec<u8> {
    use kube_state_exporter::api::core::v1::{Node, NodeStatus};
    use kube_state_exporter::api::meta::v1::ObjectMeta;
    Node {
        metadata: Some(ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            phase: Some("Running".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn a_list_names_the_item_that_drifted() {
    let mut list = Vec::new();
    length_delimited(1, &[0x12, 0x02, b'4', b'2'], &mut list); // metadata.resourceVersion
    length_delimited(2, &stock_node("node-a"), &mut list);
    length_delimited(2, &vendor_node_raw(), &mut list);
    length_delimited(2, &stock_node("node-c"), &mut list);
    let body = envelope::seal("v1", "NodeList", Bytes::from(list));

    let diagnosis = diagnose(&stock_pool(), &body);
    assert_eq!(diagnosis.kind.as_deref(), Some("v1.NodeList"));
    assert_eq!(diagnosis.name, None);
    assert_eq!(diagnosis.findings.len(), 3, "{diagnosis}");
    let first = &diagnosis.findings[0];
    let item = first.item.as_ref().expect("a list finding names its item");
    assert_eq!(item.index, 1);
    assert_eq!(item.name.as_deref(), Some("gpu-node-1"));
    assert_eq!(item.event, None);
    assert_eq!(
        (first.path.as_str(), first.field_number),
        ("status.config", 11)
    );
    assert!(diagnosis
        .summary()
        .starts_with("v1.NodeList item 1 \"gpu-node-1\": status (NodeStatus) field 11:"));
}

#[test]
fn a_watch_stream_names_the_event_that_drifted() {
    let mut stream = Vec::new();
    for (event_type, object) in [
        (
            "ADDED",
            envelope::seal("v1", "Node", Bytes::from(stock_node("node-a"))),
        ),
        ("MODIFIED", vendor_node_body()),
    ] {
        let mut raw_extension = Vec::new();
        length_delimited(1, &object, &mut raw_extension);
        let mut event = Vec::new();
        length_delimited(1, event_type.as_bytes(), &mut event);
        length_delimited(2, &raw_extension, &mut event);
        stream.extend_from_slice(&(event.len() as u32).to_be_bytes());
        stream.extend_from_slice(&event);
    }
    let diagnosis = diagnose(&stock_pool(), &stream);
    assert_eq!(diagnosis.kind.as_deref(), Some("v1.Node"));
    let item = diagnosis.findings[0]
        .item
        .as_ref()
        .expect("event reference");
    assert_eq!(item.index, 1);
    assert_eq!(item.event.as_deref(), Some("MODIFIED"));
    assert_eq!(item.name.as_deref(), Some("gpu-node-1"));
    assert!(
        diagnosis.summary().starts_with(
            "v1.Node watch event 1 (MODIFIED) \"gpu-node-1\": status (NodeStatus) field 11:"
        ),
        "{}",
        diagnosis.summary()
    );

    // A stream cut inside a frame says so.
    let cut = diagnose(&stock_pool(), &stream[..stream.len() - 10]);
    let last = cut.findings.last().expect("finding");
    assert_eq!(last.kind, FindingKind::CutOff);
    assert!(last.detail.contains("truncated"), "{}", last.detail);
}

/// Node{metadata{name}, status{<status fields>}} from raw status bytes.
fn node_with_status(name: &str, status: &[u8]) -> Vec<u8> {
    let mut metadata = Vec::new();
    length_delimited(1, name.as_bytes(), &mut metadata);
    let mut node = Vec::new();
    length_delimited(1, &metadata, &mut node);
    length_delimited(3, status, &mut node);
    node
}

#[test]
fn a_message_that_is_recognisably_itself_is_entered() {
    // nodeInfo has a readable systemUUID, so it is a NodeSystemInfo with one bad field:
    // the finding is at that field, not at status.nodeInfo as a whole.
    let mut node_info = Vec::new();
    length_delimited(1, &[0xff, 0xfe], &mut node_info);
    length_delimited(2, b"4c4c4544-0051", &mut node_info);
    let mut status = Vec::new();
    length_delimited(3, b"Running", &mut status);
    length_delimited(7, &node_info, &mut status);
    let node = node_with_status("n1", &status);

    let diagnosis = diagnose_object(&stock_pool(), "v1", "Node", &node);
    assert_eq!(diagnosis.findings.len(), 1, "{diagnosis}");
    let finding = &diagnosis.findings[0];
    assert_eq!(finding.path, "status.nodeInfo.machineID");
    assert_eq!(
        finding.to_string(),
        "status.nodeInfo (NodeSystemInfo) field 1: expected string, but its bytes are not valid UTF-8"
    );
    // machineID's key is the first byte of nodeInfo, which ends the node.
    assert_eq!(finding.offset, node.len() - node_info.len());
}

#[test]
fn map_entries_are_named_by_their_key() {
    // capacity["cpu"] holds a Quantity whose only field comes as a varint.
    let mut entry = Vec::new();
    length_delimited(1, b"cpu", &mut entry);
    length_delimited(2, &[0x08, 0x04], &mut entry);
    let mut status = Vec::new();
    length_delimited(1, &entry, &mut status);
    let diagnosis = diagnose_object(
        &stock_pool(),
        "v1",
        "Node",
        &node_with_status("n1", &status),
    );
    assert_eq!(diagnosis.findings.len(), 1, "{diagnosis}");
    assert_eq!(
        diagnosis.findings[0].to_string(),
        "status.capacity[\"cpu\"] (CapacityEntry) field 2: expected Quantity, but its bytes do \
         not parse as one (field 1 (string): expected string, but it has wire type 0 (varint))"
    );
}

#[test]
fn a_cut_off_body_says_so_and_still_names_the_object() {
    let body = vendor_node_body();
    let diagnosis = diagnose(&stock_pool(), &body[..300]);
    assert_eq!(diagnosis.kind.as_deref(), Some("v1.Node"));
    assert_eq!(diagnosis.name.as_deref(), Some("gpu-node-1"));
    let first = &diagnosis.findings[0];
    assert_eq!(first.kind, FindingKind::CutOff);
    assert_eq!(
        first.detail,
        format!(
            "the body is cut off: the object claims {} bytes but only {} arrived",
            vendor_node_raw().len(),
            // "k8s\0", typeMeta (2 + 10 bytes), raw's key and 2-byte length.
            300 - 4 - 12 - 3
        )
    );
    println!("{diagnosis}");
    assert!(
        diagnosis
            .findings
            .iter()
            .any(|f| f.detail.contains("truncated")),
        "{diagnosis}"
    );
}

#[test]
fn unknown_fields_are_findings_but_still_decode() {
    // NodeSpec with a field 40 our schema does not have.
    let mut spec = Vec::new();
    length_delimited(1, b"10.0.0.0/24", &mut spec);
    length_delimited(40, b"vendor-extension", &mut spec);
    let mut node = stock_node("node-x");
    length_delimited(2, &spec, &mut node);

    let diagnosis = diagnose_object(&stock_pool(), "v1", "Node", &node);
    assert!(diagnosis.decodes());
    assert_eq!(diagnosis.findings.len(), 1, "{diagnosis}");
    let finding = &diagnosis.findings[0];
    assert_eq!(finding.kind, FindingKind::UnknownField);
    assert_eq!(
        (finding.path.as_str(), finding.field_number),
        ("spec.#40", 40)
    );
    assert_eq!(
        diagnosis.to_string(),
        "v1.Node \"node-x\": spec (NodeSpec) field 40: not in NodeSpec of this build \
         (length-delimited, 16 bytes) — the server has a newer or vendor schema; hint: the field \
         is dropped when decoding; an overlay makes it available (see docs/overlays.md)"
    );
    // prost agrees: it decodes and drops the field.
    assert!(kube_state_exporter::api::core::v1::Node::decode(node.as_slice()).is_ok());
}

#[test]
fn packed_and_unpacked_repeated_numbers_are_both_legal() {
    // PodSecurityContext.supplementalGroups (repeated int64 = 4) inside PodSpec.securityContext (14).
    let pool = stock_pool();
    let wrap = |security_context: &[u8]| {
        let mut spec = Vec::new();
        length_delimited(14, security_context, &mut spec);
        let mut pod = Vec::new();
        length_delimited(2, &spec, &mut pod);
        pod
    };
    let unpacked = wrap(&[0x20, 0x01, 0x20, 0x96, 0x01]);
    let packed = wrap(&[0x22, 0x03, 0x01, 0x96, 0x01]);
    let broken_packed = wrap(&[0x22, 0x02, 0x01, 0x96]);
    for (bytes, clean) in [(unpacked, true), (packed, true), (broken_packed, false)] {
        let diagnosis = diagnose_object(&pool, "v1", "Pod", &bytes);
        assert_eq!(diagnosis.is_clean(), clean, "{diagnosis}");
        let prost_ok = kube_state_exporter::api::core::v1::Pod::decode(bytes.as_slice()).is_ok();
        assert_eq!(prost_ok, clean);
    }
}

#[test]
fn not_a_protobuf_body_is_said_so() {
    let diagnosis = diagnose(&stock_pool(), b"{\"kind\":\"Node\"}");
    assert_eq!(diagnosis.findings.len(), 1);
    assert_eq!(diagnosis.findings[0].kind, FindingKind::Envelope);
    assert_eq!(
        diagnosis.to_string(),
        "body: not a Kubernetes protobuf body: starts with [7b 22 6b 69], expected 6b 38 73 00 \
         (\"k8s\\0\") or a watch frame; hint: the body is not an apiserver protobuf body of a \
         kind this build knows"
    );

    let unknown_kind = envelope::seal("example.com/v1", "Widget", Bytes::from(stock_node("w")));
    let diagnosis = diagnose(&stock_pool(), &unknown_kind);
    assert_eq!(diagnosis.kind.as_deref(), Some("example.com/v1.Widget"));
    assert_eq!(diagnosis.name.as_deref(), Some("w"));
    assert!(diagnosis.findings[0]
        .detail
        .contains("not in the schema of this build"));
}

// ---------------------------------------------------------------------------------
// No false positives on real bodies.
// ---------------------------------------------------------------------------------

#[test]
fn real_apiserver_bodies_are_clean() {
    let dir = manifest_dir().join("tests/fixtures/drift/real-1.28-demo");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index.json"))
            .expect("JSON");
    let pool = stock_pool();
    let mut checked = 0;
    for entry in index.as_array().expect("array") {
        let file = entry["body"].as_str().expect("body");
        let body = std::fs::read(dir.join(file)).expect("recorded body");
        let diagnosis = diagnose(&pool, &body);
        assert!(
            diagnosis.is_clean(),
            "{file} ({}): {diagnosis}",
            entry["note"]
        );
        assert!(diagnosis.kind.is_some(), "{file}: kind not read");
        checked += 1;
    }
    assert_eq!(checked, 37);
}

/// Kubernetes' own 1.35 serialization fixtures, copied into the repository.
fn k8s_testdata_dir() -> PathBuf {
    manifest_dir().join("tests/fixtures/k8s-testdata")
}

#[test]
fn kubernetes_serialization_fixtures_are_clean() {
    // Every field of every kind filled, as Go's 1.35 encoder writes them.
    let dir = k8s_testdata_dir().join("v1.35.0");
    let pool = stock_pool();
    let mut checked = 0;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata dir")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "pb"))
        .collect();
    entries.sort();
    for path in entries {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        // Written by Kubernetes code newer than 1.35: see the next test.
        // WatchEvent: wrapped with an empty typeMeta, which the apiserver never sends.
        if file.contains("after_roundtrip") || file == "core.v1.WatchEvent.pb" {
            continue;
        }
        let body = std::fs::read(&path).expect("fixture");
        let diagnosis = diagnose(&pool, &body);
        assert!(diagnosis.is_clean(), "{file}: {diagnosis}");
        checked += 1;
    }
    assert!(checked >= 70, "only {checked} fixtures found");
}

#[test]
fn newer_upstream_fields_are_found_as_unknown() {
    // The `after_roundtrip` fixtures were written by Kubernetes code newer than 1.35:
    // two of them carry a field 1.35 does not have. Real drift, found without a hint.
    let dir = k8s_testdata_dir().join("v1.35.0");
    let pool = stock_pool();
    for (file, path, message, number) in [
        (
            "core.v1.ListOptions.after_roundtrip.pb",
            "#15",
            "ListOptions",
            15,
        ),
        (
            "storage.k8s.io.v1.CSINode.after_roundtrip.pb",
            "#3",
            "CSINode",
            3,
        ),
    ] {
        let body = std::fs::read(dir.join(file)).expect("fixture");
        let diagnosis = diagnose(&pool, &body);
        assert!(diagnosis.decodes(), "{file}: {diagnosis}");
        assert_eq!(diagnosis.findings.len(), 1, "{file}: {diagnosis}");
        let finding = &diagnosis.findings[0];
        assert_eq!(finding.kind, FindingKind::UnknownField);
        assert_eq!(
            (
                finding.path.as_str(),
                finding.message.as_str(),
                finding.field_number
            ),
            (path, message, number)
        );
    }

    let watch_event = std::fs::read(dir.join("core.v1.WatchEvent.pb")).expect("fixture");
    let diagnosis = diagnose(&pool, &watch_event);
    assert_eq!(diagnosis.kind, None);
    assert!(
        diagnosis.to_string().contains("typeMeta names no kind"),
        "{diagnosis}"
    );
}

// ---------------------------------------------------------------------------------
// No panics, and agreement with prost on what decodes.
// ---------------------------------------------------------------------------------

/// 512 cases, or `PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512)
}

/// Applies byte edits: overwrite, insert or delete at a position.
fn mutate(mut bytes: Vec<u8>, edits: &[(u8, prop::sample::Index, u8)]) -> Vec<u8> {
    for (op, at, byte) in edits {
        if bytes.is_empty() {
            bytes.push(*byte);
            continue;
        }
        let i = at.index(bytes.len());
        match op % 3 {
            0 => bytes[i] = *byte,
            1 => bytes.insert(i, *byte),
            _ => {
                bytes.remove(i);
            }
        }
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(u8, prop::sample::Index, u8)>> {
    proptest::collection::vec(
        (any::<u8>(), any::<prop::sample::Index>(), any::<u8>()),
        1..5,
    )
}

fn assert_consistent(diagnosis: &Diagnosis) {
    assert!(diagnosis.findings.len() <= kube_state_exporter::api::diagnose::MAX_FINDINGS);
    // Rendering never panics either.
    let _ = diagnosis.to_string();
    let _ = diagnosis.summary();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let pool = stock_pool();
        assert_consistent(&diagnose(&pool, &body));
        let mut enveloped = b"k8s\0".to_vec();
        enveloped.extend_from_slice(&body);
        assert_consistent(&diagnose(&pool, &enveloped));
        assert_consistent(&diagnose_object(&pool, "v1", "Node", &body));
    }

    #[test]
    fn mutated_vendor_bodies_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut body = vendor_node_body();
        for (at, byte) in &edits {
            let i = at.index(body.len());
            body[i] = *byte;
        }
        if truncate {
            body.truncate(cut.index(body.len()));
        }
        let pool = stock_pool();
        assert_consistent(&diagnose(&pool, &body));
        assert_consistent(&diagnose(&vendor_pool(), &body));
    }

    /// The walker's verdict "decodes" is prost's: mutate a Node the stock types read
    /// and compare. (prost-reflect's DynamicMessage is no reference here: it keeps a
    /// field with the wrong wire type as an unknown field where prost refuses it.)
    #[test]
    fn the_walker_agrees_with_prost(edits in edits()) {
        let raw = mutate(stock_rich_node(), &edits);
        let diagnosis = diagnose_object(&stock_pool(), "v1", "Node", &raw);
        let prost = kube_state_exporter::api::core::v1::Node::decode(raw.as_slice());
        prop_assert_eq!(diagnosis.decodes(), prost.is_ok(), "{} / {:?}", diagnosis, prost.err());
    }
}

/// A Node from the real recording (node list, first item), as the stock types read it.
fn stock_rich_node() -> Vec<u8> {
    let body = std::fs::read(manifest_dir().join("tests/fixtures/drift/real-1.28-demo/0031.body"))
        .expect("node list");
    match envelope::decode(Bytes::from(body)).expect("recorded node list decodes") {
        envelope::Body::List(kube_state_exporter::api::ObjectList::Node(list)) => {
            list.items.first().expect("a node").encode_to_vec()
        }
        other => panic!("0031 is not a node list: {other:?}"),
    }
}
