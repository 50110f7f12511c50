//! Merge semantics on small synthetic upstream schemas compiled in memory.

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};

use crate::{merge, merge_with_warnings, Overlay, OverlayError, OverlayErrors};

/// Serves proto sources from memory to protox.
struct Sources(Vec<(&'static str, &'static str)>);

impl protox::file::FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match self.0.iter().find(|(file, _)| *file == name) {
            Some((file, source)) => protox::file::File::from_source(file, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

const UPSTREAM_P: &str = r#"
syntax = "proto2";
package p;
import "q/remote.proto";

message S {
  optional string a = 1;
  optional int32 b = 2;
  optional Other other = 3;
  map<string, string> labels = 4;
  optional Inner inner = 5;

  message Inner {
    optional string x = 1;
  }
}

message Other {
  optional string y = 1;
  optional q.Remote remote = 2;
}
"#;

const UPSTREAM_Q: &str = r#"
syntax = "proto2";
package q;

message Remote {
  optional string z = 1;
}
"#;

fn upstream() -> FileDescriptorSet {
    let mut compiler = protox::Compiler::with_file_resolver(Sources(vec![
        ("p/types.proto", UPSTREAM_P),
        ("q/remote.proto", UPSTREAM_Q),
    ]));
    compiler.include_imports(true);
    compiler
        .open_file("p/types.proto")
        .expect("synthetic upstream compiles");
    compiler.file_descriptor_set()
}

const MANIFEST: &str = "name = \"test\"\ndescription = \"test overlay\"\nkubernetes = [\"1.35\"]\n";

fn overlay(fragment: &'static str) -> Overlay {
    named_overlay("test", fragment)
}

fn named_overlay(name: &str, fragment: &'static str) -> Overlay {
    let manifest = MANIFEST.replace("\"test\"", &format!("\"{name}\""));
    Overlay::from_sources(
        &format!("overlays/{name}"),
        &manifest,
        &[("p/x.proto", fragment)],
    )
    .unwrap_or_else(|err| panic!("overlay parses: {err}"))
}

fn merged(fragment: &'static str) -> FileDescriptorSet {
    let merged = merge(&upstream(), &[overlay(fragment)])
        .unwrap_or_else(|err| panic!("merge succeeds: {err}"));
    prost_reflect::DescriptorPool::from_file_descriptor_set(merged.clone())
        .expect("merged set builds a pool");
    merged
}

fn merge_errors(overlays: &[Overlay]) -> OverlayErrors {
    match merge(&upstream(), overlays) {
        Ok(_) => panic!("merge should fail"),
        Err(errors) => errors,
    }
}

fn message<'a>(fds: &'a FileDescriptorSet, full: &str) -> &'a DescriptorProto {
    crate::apply::find_message(fds, full)
        .map(|(_, m)| m)
        .unwrap_or_else(|| panic!("{full} exists"))
}

fn field<'a>(message: &'a DescriptorProto, name: &str) -> &'a FieldDescriptorProto {
    message
        .field
        .iter()
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("field {name} exists"))
}

fn numbers(message: &DescriptorProto) -> Vec<(String, i32)> {
    message
        .field
        .iter()
        .map(|f| (f.name().to_string(), f.number()))
        .collect()
}

#[test]
fn no_overlays_leave_upstream_untouched() {
    assert_eq!(merge(&upstream(), &[]).unwrap(), upstream());
}

#[test]
fn same_name_replaces_number_type_and_label() {
    let fds = merged("package p;\nmessage S {\n  repeated int64 b = 7;\n}\n");
    let s = message(&fds, ".p.S");
    let b = field(s, "b");
    assert_eq!(
        (b.number(), b.r#type(), b.label()),
        (7, Type::Int64, Label::Repeated)
    );
    assert_eq!(s.field.iter().filter(|f| f.name() == "b").count(), 1);
    // Fields stay in number order, like upstream.
    assert_eq!(
        numbers(s),
        [
            ("a", 1),
            ("other", 3),
            ("labels", 4),
            ("inner", 5),
            ("b", 7)
        ]
        .map(|(n, i)| (n.to_string(), i))
    );
}

#[test]
fn new_name_adds_a_field_with_its_json_name() {
    let fds = merged("package p;\nmessage S {\n  optional bool device_ready = 6;\n}\n");
    let s = message(&fds, ".p.S");
    let added = field(s, "device_ready");
    assert_eq!((added.number(), added.r#type()), (6, Type::Bool));
    assert_eq!(added.json_name(), "deviceReady");
    assert_eq!(field(s, "a").number(), 1);
}

#[test]
fn reserved_name_removes_the_upstream_field() {
    let fds = merged("package p;\nmessage S {\n  reserved \"a\";\n}\n");
    let s = message(&fds, ".p.S");
    assert!(s.field.iter().all(|f| f.name() != "a"));
    assert_eq!(s.reserved_name, ["a"]);
}

#[test]
fn reserved_number_removes_the_field_using_it_and_keeps_the_number_free() {
    let fds = merged("package p;\nmessage S {\n  reserved 2;\n}\n");
    let s = message(&fds, ".p.S");
    assert!(s.field.iter().all(|f| f.name() != "b"));
    assert_eq!(
        (s.reserved_range[0].start(), s.reserved_range[0].end()),
        (2, 3)
    );

    // Unless the field is redefined by name: then it moves.
    let fds = merged("package p;\nmessage S {\n  reserved 2;\n  optional int32 b = 9;\n}\n");
    assert_eq!(field(message(&fds, ".p.S"), "b").number(), 9);
}

#[test]
fn new_messages_join_the_file_of_their_package() {
    let fds = merged(
        "package p;\nmessage S {\n  optional Extra extra = 6;\n}\nmessage Extra {\n  repeated Item items = 1;\n}\nmessage Item {\n  optional string name = 1;\n}\n",
    );
    let file = fds
        .file
        .iter()
        .find(|f| f.name() == "p/types.proto")
        .unwrap();
    let names: Vec<&str> = file.message_type.iter().map(|m| m.name()).collect();
    assert_eq!(names, ["S", "Other", "Extra", "Item"]);
    let extra = field(message(&fds, ".p.S"), "extra");
    assert_eq!(
        (extra.type_name(), extra.r#type()),
        (".p.Extra", Type::Message)
    );
    assert_eq!(
        field(message(&fds, ".p.Extra"), "items").type_name(),
        ".p.Item"
    );
}

#[test]
fn type_names_resolve_relative_partial_and_absolute() {
    let fds = merged(
        "package p;\nmessage S {\n  optional Other o1 = 10;\n  optional .p.Other o2 = 11;\n  optional q.Remote r1 = 12;\n  optional .q.Remote r2 = 13;\n  optional Inner i1 = 14;\n  optional S.Inner i2 = 15;\n}\n",
    );
    let s = message(&fds, ".p.S");
    for (name, expected) in [
        ("o1", ".p.Other"),
        ("o2", ".p.Other"),
        ("r1", ".q.Remote"),
        ("r2", ".q.Remote"),
        ("i1", ".p.S.Inner"),
        ("i2", ".p.S.Inner"),
    ] {
        assert_eq!(field(s, name).type_name(), expected, "{name}");
    }
}

#[test]
fn new_message_referring_to_another_package_gets_the_import() {
    let fds = merged(
        "package p;\nmessage S {\n  optional Holder holder = 6;\n}\nmessage Holder {\n  optional q.Remote remote = 1;\n}\n",
    );
    let file = fds
        .file
        .iter()
        .find(|f| f.name() == "p/types.proto")
        .unwrap();
    assert!(file.dependency.contains(&"q/remote.proto".to_string()));
}

#[test]
fn nested_messages_patch_and_add() {
    let fds = merged(
        "package p;\nmessage S {\n  message Inner {\n    optional int32 w = 2;\n  }\n  message Fresh {\n    optional string v = 1;\n  }\n  optional Fresh fresh = 6;\n}\n",
    );
    assert_eq!(
        numbers(message(&fds, ".p.S.Inner")),
        [("x".to_string(), 1), ("w".to_string(), 2)]
    );
    assert_eq!(
        field(message(&fds, ".p.S"), "fresh").type_name(),
        ".p.S.Fresh"
    );
    assert_eq!(field(message(&fds, ".p.S.Fresh"), "v").number(), 1);
}

#[test]
fn map_fields_can_be_added_and_replaced() {
    let fds = merged("package p;\nmessage S {\n  map<string, int32> counts = 6;\n  map<string, Other> labels = 4;\n}\n");
    let s = message(&fds, ".p.S");
    assert_eq!(field(s, "counts").type_name(), ".p.S.CountsEntry");
    let value = field(message(&fds, ".p.S.LabelsEntry"), "value");
    assert_eq!(value.type_name(), ".p.Other");
}

#[test]
fn identical_definitions_in_two_overlays_agree() {
    let fragment = "package p;\nmessage S {\n  optional string c = 6;\n}\n";
    let merged = merge(
        &upstream(),
        &[
            named_overlay("one", fragment),
            named_overlay("two", fragment),
        ],
    )
    .unwrap();
    assert_eq!(field(message(&merged, ".p.S"), "c").number(), 6);
}

#[test]
fn fragment_outside_the_mirrored_layout_is_a_warning() {
    let merged = merge_with_warnings(
        &upstream(),
        &[overlay(
            "package p;\nmessage S {\n  optional string c = 6;\n}\n",
        )],
    )
    .unwrap();
    // The fragment is at p/x.proto, which mirrors package p: no warning.
    assert!(merged.warnings.is_empty(), "{:?}", merged.warnings);
    let misplaced = Overlay::from_sources(
        "overlays/test",
        MANIFEST,
        &[(
            "elsewhere/x.proto",
            "package p;\nmessage S {\n  optional string c = 6;\n}\n",
        )],
    )
    .unwrap();
    let merged = merge_with_warnings(&upstream(), &[misplaced]).unwrap();
    assert_eq!(merged.warnings.len(), 1);
    assert!(
        merged.warnings[0].contains("overlays/test/elsewhere/x.proto"),
        "{:?}",
        merged.warnings
    );
}

#[test]
fn duplicate_number_names_both_fields_and_a_free_number() {
    let errors = merge_errors(&[overlay(
        "package p;\nmessage S {\n\n  optional string c = 2;\n}\n",
    )]);
    let [OverlayError::DuplicateFieldNumber {
        at,
        message,
        number,
        fields,
        fix,
    }] = errors.errors()
    else {
        panic!("one duplicate-number error: {errors}");
    };
    assert_eq!(at.to_string(), "overlays/test/p/x.proto:4");
    assert_eq!((message.as_str(), *number), ("S", 2));
    assert!(
        fields == "`c` (this line) and `b` (upstream, p/types.proto)",
        "{fields}"
    );
    assert!(fix.contains("`optional int32 b = 6;`"), "{fix}");
}

#[test]
fn numbers_reserved_by_an_overlay_cannot_be_used() {
    let errors = merge_errors(&[overlay(
        "package p;\nmessage S {\n  reserved 6 to 8;\n  optional string c = 7;\n}\n",
    )]);
    let text = errors.to_string();
    assert!(
        text.contains(
            "overlays/test/p/x.proto:4: S.c: number 7 is reserved in S (`reserved 6 to 8;`)"
        ),
        "{text}"
    );
}

#[test]
fn unknown_target_suggests_the_closest_upstream_message() {
    let errors = merge_errors(&[overlay(
        "package p;\nmessage Sx {\n  optional string c = 6;\n}\n",
    )]);
    let text = errors.to_string();
    assert!(
        text.contains("overlays/test/p/x.proto:2: message `Sx` does not exist upstream"),
        "{text}"
    );
    let errors = merge_errors(&[overlay(
        "package p;\nmessage Othr {\n  optional string c = 6;\n}\n",
    )]);
    assert!(
        errors.to_string().contains("(did you mean `Other`?)"),
        "{errors}"
    );
}

#[test]
fn self_reference_does_not_make_a_new_message_used() {
    let errors = merge_errors(&[overlay(
        "package p;\nmessage Tree {\n  repeated Tree children = 1;\n}\n",
    )]);
    assert!(
        matches!(errors.errors(), [OverlayError::UnknownTargetMessage { .. }]),
        "{errors}"
    );
}

#[test]
fn removing_a_field_upstream_lacks_is_an_error() {
    let errors = merge_errors(&[overlay("package p;\nmessage S {\n  reserved \"bb\";\n}\n")]);
    let text = errors.to_string();
    assert!(
        text.contains("overlays/test/p/x.proto:3: S: `reserved \"bb\";` removes nothing"),
        "{text}"
    );
    assert!(text.contains("(did you mean `b`?)"), "{text}");
}

#[test]
fn enums_oneofs_and_proto3_are_rejected_with_a_fix() {
    let errors = merge_errors(&[overlay(
        "package p;\nenum Color {\n  RED = 0;\n}\nmessage S {\n  oneof choice {\n    string c = 6;\n  }\n}\n",
    )]);
    let text = errors.to_string();
    assert!(
        text.contains("overlays/test/p/x.proto:2: an enum is not supported"),
        "{text}"
    );
    assert!(text.contains("use `optional string`"), "{text}");
    assert!(
        text.contains("overlays/test/p/x.proto:6: a oneof is not supported"),
        "{text}"
    );
    let errors = merge_errors(&[overlay(
        "syntax = \"proto3\";\npackage p;\nmessage S {\n  string c = 6;\n}\n",
    )]);
    assert!(
        errors
            .to_string()
            .contains("overlays/test/p/x.proto:1: `syntax = \"proto3\"` is not supported"),
        "{errors}"
    );
}

#[test]
fn all_errors_are_collected() {
    let errors = merge_errors(&[overlay(
        "package p;\nmessage S {\n  optional Nope n = 6;\n  optional string c = 1;\n}\nmessage Typo {\n  optional string t = 1;\n}\n",
    )]);
    let kinds: Vec<&str> = errors
        .errors()
        .iter()
        .map(|e| match e {
            OverlayError::UnknownFieldType { .. } => "type",
            OverlayError::DuplicateFieldNumber { .. } => "number",
            OverlayError::UnknownTargetMessage { .. } => "target",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["type", "number", "target"], "{errors}");
    assert!(
        errors.to_string().starts_with("schema overlay: 3 errors"),
        "{errors}"
    );
}

#[test]
fn import_cycle_from_an_overlay_field_is_a_warning() {
    let overlay = Overlay::from_sources(
        "overlays/test",
        MANIFEST,
        &[(
            "q/x.proto",
            "package q;\nmessage Remote {\n  optional p.Other back = 2;\n}\n",
        )],
    )
    .unwrap();
    let merged = merge_with_warnings(&upstream(), &[overlay]).unwrap_or_else(|err| panic!("{err}"));
    let file = merged
        .descriptors
        .file
        .iter()
        .find(|f| f.name() == "q/remote.proto")
        .unwrap();
    assert_eq!(file.dependency, ["p/types.proto"]);
    assert_eq!(merged.warnings.len(), 1, "{:?}", merged.warnings);
    assert!(merged.warnings[0]
        .contains("q/remote.proto import p/types.proto, which already imports it"));
    prost_reflect::DescriptorPool::from_file_descriptor_set(merged.descriptors)
        .expect("pool accepts the cycle");
}

#[test]
fn two_overlays_with_one_name_are_a_warning() {
    let fragment = "package p;\nmessage S {\n  optional string c = 6;\n}\n";
    let merged = merge_with_warnings(&upstream(), &[overlay(fragment), overlay(fragment)]).unwrap();
    assert_eq!(merged.warnings.len(), 1, "{:?}", merged.warnings);
    assert!(
        merged.warnings[0].contains("both named `test`"),
        "{:?}",
        merged.warnings
    );
}
