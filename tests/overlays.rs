//! The shipped `overlays/deviceinfo` merged onto the embedded upstream 1.35 schema:
//! the vendor's NodeStatus numbering, and the stock build left alone.

use std::path::Path;

use kube_state_exporter::api::schema;
use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};
use schema_overlay::Overlay;

fn deviceinfo() -> Overlay {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("overlays/deviceinfo");
    Overlay::load(&dir).unwrap_or_else(|err| panic!("overlays/deviceinfo loads: {err}"))
}

fn merged_pool() -> DescriptorPool {
    let merged = schema_overlay::merge(&schema::upstream_descriptors(), &[deviceinfo()])
        .unwrap_or_else(|err| panic!("overlays/deviceinfo merges onto upstream: {err}"));
    DescriptorPool::from_file_descriptor_set(merged).expect("merged schema builds a pool")
}

fn message(pool: &DescriptorPool, name: &str) -> MessageDescriptor {
    pool.get_message_by_name(name)
        .unwrap_or_else(|| panic!("{name} is in the pool"))
}

/// (name, message type or scalar kind, repeated) of field `number`.
fn field(message: &MessageDescriptor, number: u32) -> (String, String, bool) {
    let field = message
        .get_field(number)
        .unwrap_or_else(|| panic!("{} has field {number}", message.full_name()));
    let kind = match field.kind() {
        Kind::Message(m) => m.full_name().to_string(),
        other => format!("{other:?}"),
    };
    (field.name().to_string(), kind, field.is_list())
}

fn expect(name: &str, kind: &str, repeated: bool) -> (String, String, bool) {
    (name.to_string(), kind.to_string(), repeated)
}

#[test]
fn manifest_describes_the_overlay() {
    let overlay = deviceinfo();
    assert_eq!(overlay.name(), "deviceinfo");
    assert_eq!(overlay.kubernetes(), ["1.35"]);
    assert_eq!(overlay.version_warning(schema::UPSTREAM_KUBERNETES), None);
    assert!(
        overlay.description().contains("declaredFeatures"),
        "{}",
        overlay.description()
    );
}

#[test]
fn node_status_has_the_vendor_numbering() {
    let pool = merged_pool();
    let status = message(&pool, "k8s.io.api.core.v1.NodeStatus");
    assert_eq!(
        field(&status, 11),
        expect("deviceInfo", "k8s.io.api.core.v1.NodeDeviceInfo", false)
    );
    assert_eq!(
        field(&status, 12),
        expect("config", "k8s.io.api.core.v1.NodeConfigStatus", false)
    );
    assert_eq!(
        field(&status, 13),
        expect(
            "runtimeHandlers",
            "k8s.io.api.core.v1.NodeRuntimeHandler",
            true
        )
    );
    assert_eq!(
        field(&status, 14),
        expect("features", "k8s.io.api.core.v1.NodeFeatures", false)
    );
    assert_eq!(
        field(&status, 15),
        expect("declaredFeatures", "string", true)
    );
    // Fields 1-10 keep their upstream numbers.
    assert_eq!(field(&status, 3), expect("phase", "string", false));
    assert_eq!(field(&status, 10).0, "volumesAttached");
    assert_eq!(status.fields().count(), 15);
    assert_eq!(
        status
            .get_field_by_name("deviceInfo")
            .map(|f| f.json_name().to_string())
            .as_deref(),
        Some("deviceInfo")
    );
}

#[test]
fn node_device_messages_are_added_to_core_v1() {
    let pool = merged_pool();
    let info = message(&pool, "k8s.io.api.core.v1.NodeDeviceInfo");
    assert_eq!(
        info.parent_file().name(),
        "k8s.io/api/core/v1/generated.proto"
    );
    assert_eq!(
        field(&info, 1),
        expect("devices", "k8s.io.api.core.v1.NodeDevice", true)
    );
    let device = message(&pool, "k8s.io.api.core.v1.NodeDevice");
    let fields: Vec<_> = (1..=4).map(|n| field(&device, n)).collect();
    assert_eq!(
        fields,
        [
            expect("name", "string", false),
            expect("type", "string", false),
            expect("count", "int32", false),
            expect("healthy", "bool", false),
        ]
    );
    let json: Vec<String> = device.fields().map(|f| f.json_name().to_string()).collect();
    assert_eq!(json, ["name", "type", "count", "healthy"]);
}

#[test]
fn compiled_schema_matches_the_selected_overlays() {
    let status = message(&schema::compiled_pool(), "k8s.io.api.core.v1.NodeStatus");
    if schema::overlays().is_empty() {
        // A default build: stock upstream numbering, and no trace of the overlay.
        assert_eq!(
            field(&status, 11),
            expect("config", "k8s.io.api.core.v1.NodeConfigStatus", false)
        );
        assert_eq!(
            field(&status, 14),
            expect("declaredFeatures", "string", true)
        );
        assert!(status.get_field_by_name("deviceInfo").is_none());
        assert!(schema::compiled_pool()
            .get_message_by_name("k8s.io.api.core.v1.NodeDevice")
            .is_none());
    } else if schema::overlays() == ["deviceinfo"] {
        assert_eq!(field(&status, 11).0, "deviceInfo");
        assert_eq!(field(&status, 12).0, "config");
    }
}

#[test]
fn merging_twice_gives_the_same_schema_hash() {
    let upstream = schema::upstream_descriptors();
    let once = schema_overlay::merge(&upstream, &[deviceinfo()]).expect("merges");
    let twice = schema_overlay::merge(&upstream, &[deviceinfo()]).expect("merges");
    assert_eq!(
        schema_overlay::schema_hash(&once),
        schema_overlay::schema_hash(&twice)
    );
    assert_ne!(
        schema_overlay::schema_hash(&once),
        schema_overlay::schema_hash(&upstream)
    );
}

/// Upstream 1.35 already uses 14 for declaredFeatures: shifting only config,
/// runtimeHandlers and features (the vendor's pre-1.35 change as first reported)
/// must be caught, naming both fields and the free number 15.
#[test]
fn shifting_without_declared_features_collides_at_14() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("overlays/deviceinfo");
    let fragment_path = "k8s.io/api/core/v1/nodestatus.proto";
    let manifest = std::fs::read_to_string(dir.join("overlay.toml")).expect("manifest is readable");
    let fragment = std::fs::read_to_string(dir.join(fragment_path)).expect("fragment is readable");
    let without: String = fragment
        .lines()
        .filter(|line| !line.contains("declaredFeatures = 15"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(
        without, fragment,
        "the fragment moves declaredFeatures to 15"
    );
    let overlay = Overlay::from_sources(
        "overlays/deviceinfo",
        &manifest,
        &[(fragment_path, &without)],
    )
    .expect("the trimmed overlay parses");
    let errors = schema_overlay::merge(&schema::upstream_descriptors(), &[overlay])
        .expect_err("14 is used twice");
    let text = errors.to_string();
    let features_line = without
        .lines()
        .position(|line| line.contains("features = 14"))
        .map(|index| index + 1)
        .expect("features is in the fragment");
    for part in [
        format!("overlays/deviceinfo/{fragment_path}:{features_line}: NodeStatus: field number 14"),
        "`features` (this line) and `declaredFeatures` (upstream, k8s.io/api/core/v1/generated.proto)".to_string(),
        "`repeated string declaredFeatures = 15;`".to_string(),
    ] {
        assert!(text.contains(&part), "missing {part:?} in:\n{text}");
    }
    assert_eq!(errors.errors().len(), 1, "{text}");
}
