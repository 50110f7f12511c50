//! Declaration errors of overlay metric families (`[[metric]]` in overlay.toml): each
//! is reported with the manifest's file:line, the family and a fix, and all of them
//! together, as the merge errors are (tests/errors.rs).

use prost_types::FileDescriptorSet;
use schema_overlay::{check_families, merge, Overlay, OverlayErrors, ResourceRef};

fn upstream() -> FileDescriptorSet {
    protox::compile(
        ["k8s.io/api/core/v1/generated.proto"],
        ["tests/fixtures/upstream"],
    )
    .unwrap_or_else(|err| panic!("fixture upstream compiles: {err}"))
}

const FRAGMENT: &str = r#"syntax = "proto2";
package k8s.io.api.core.v1;
message NodeStatus {
  optional NodeDeviceInfo deviceInfo = 15;
}
message NodeDeviceInfo {
  repeated NodeDevice devices = 1;
}
message NodeDevice {
  optional string name = 1;
  optional int32 count = 3;
  optional bool healthy = 4;
}
"#;

const HEAD: &str = "name = \"o\"\ndescription = \"d\"\nkubernetes = [\"1.35\"]\n";

/// The stand-in upstream has no Node: the families' resource is NodeStatus itself.
fn check(metrics: &str) -> Result<Vec<schema_overlay::CheckedFamily>, OverlayErrors> {
    let overlay = Overlay::from_sources(
        "o",
        &format!("{HEAD}{metrics}"),
        &[("k8s.io/api/core/v1/nodestatus.proto", FRAGMENT)],
    )
    .unwrap_or_else(|e| panic!("overlay loads: {e}"));
    let merged = merge(&upstream(), std::slice::from_ref(&overlay)).expect("merges");
    let resources = [ResourceRef {
        plural: "nodes".into(),
        message: "k8s.io.api.core.v1.NodeStatus".into(),
    }];
    check_families(
        &merged,
        &[overlay],
        &resources,
        &["kube_node_info".to_string()],
    )
}

fn family(name: &str, each: &str, labels: &str, value: &str) -> String {
    format!(
        "\n[[metric]]\nname = \"{name}\"\nhelp = \"h\"\ntype = \"gauge\"\nstability = \"alpha\"\nresource = \"nodes\"\neach = \"{each}\"\nlabels = {labels}\nvalue = {value}\n"
    )
}

fn errors(metrics: &str) -> String {
    match check(metrics) {
        Ok(families) => panic!("should fail, checked {families:?}"),
        Err(errors) => errors.to_string(),
    }
}

fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

#[test]
fn a_good_declaration_checks() {
    let families = check(&family(
        "kube_node_device_healthy",
        "deviceInfo.devices[]",
        "{ device = \"name\" }",
        "\"healthy\"",
    ))
    .expect("checks");
    assert_eq!(families.len(), 1);
    assert_eq!(families[0].labels[0].name, "device");
}

#[test]
fn unknown_path() {
    // Lines: 3 of head, blank line 4, [[metric]] 5, name 6, …, each 11.
    let text = errors(&family("kube_node_x", "deviceInfo.devicez[]", "{}", "1"));
    assert_contains(
        &text,
        &[
            "o/overlay.toml:11:",
            "metric family `kube_node_x`",
            "`NodeDeviceInfo` has no field `devicez` (did you mean `devices`?)",
            "fix: use a field of NodeDeviceInfo",
        ],
    );
}

#[test]
fn repeated_used_as_a_scalar() {
    let text = errors(&family("kube_node_x", "deviceInfo.devices", "{}", "1"));
    assert_contains(
        &text,
        &[
            "o/overlay.toml:11:",
            "`deviceInfo.devices` is repeated but used as a single value",
            "fix: iterate it: `deviceInfo.devices[]`",
        ],
    );
}

#[test]
fn wrong_value_type() {
    let text = errors(&family(
        "kube_node_x",
        "deviceInfo.devices[]",
        "{}",
        "\"name\"",
    ));
    assert_contains(
        &text,
        &[
            "o/overlay.toml:13:",
            "value `name` is a string field",
            "fix: make `name` a label",
        ],
    );
}

#[test]
fn label_from_a_non_scalar() {
    let text = errors(&family("kube_node_x", "", "{ info = \"deviceInfo\" }", "1"));
    assert_contains(&text, &["o/overlay.toml:11:", "the path is empty"]);
    let no_each = errors(&format!(
        "{HEAD}\n[[metric]]\nname = \"kube_node_x\"\nhelp = \"h\"\ntype = \"gauge\"\nstability = \"alpha\"\nresource = \"nodes\"\nlabels = {{ info = \"deviceInfo\" }}\nvalue = 1\n"
    )
    .replacen(HEAD, "", 1));
    assert_contains(
        &no_each,
        &[
            "o/overlay.toml:11:",
            "label `info` ← `deviceInfo`: `deviceInfo` is a message (NodeDeviceInfo), not a scalar",
            "fix: name a string, bool or number field",
        ],
    );
}

#[test]
fn a_name_colliding_with_a_builtin_family() {
    let text = errors(&family("kube_node_info", "deviceInfo.devices[]", "{}", "1"));
    assert_contains(
        &text,
        &[
            "o/overlay.toml:6:",
            "`kube_node_info` is already a kube-state-metrics family",
            "fix: choose a name no built-in family uses",
        ],
    );
}

#[test]
fn every_problem_is_reported_together() {
    let text = errors(&format!(
        "{}{}",
        family("kube_node_info", "deviceInfo.devices[]", "{}", "1"),
        family("kube_node_count", "deviceInfo.devices", "{}", "1"),
    ));
    assert!(text.starts_with("schema overlay: 3 errors"), "{text}");
    assert_contains(
        &text,
        &["ends in `_count`", "fix: name what is counted instead"],
    );
}
