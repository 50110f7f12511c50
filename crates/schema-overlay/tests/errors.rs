//! Acceptance tests of the merger's error reports: each bad overlay under
//! `tests/fixtures/` must be reported with its file:line, the message and field
//! concerned, and a fix.

use std::path::Path;

use prost_types::FileDescriptorSet;
use schema_overlay::{merge, Overlay, OverlayError, OverlayErrors};

/// The stand-in upstream (NodeStatus numbered as in 1.35).
fn upstream() -> FileDescriptorSet {
    protox::compile(
        ["k8s.io/api/core/v1/generated.proto"],
        ["tests/fixtures/upstream"],
    )
    .unwrap_or_else(|err| panic!("fixture upstream compiles: {err}"))
}

fn load(name: &str) -> Overlay {
    Overlay::load(&Path::new("tests/fixtures").join(name))
        .unwrap_or_else(|err| panic!("{name} loads: {err}"))
}

fn merge_errors(names: &[&str]) -> OverlayErrors {
    let overlays: Vec<Overlay> = names.iter().map(|name| load(name)).collect();
    match merge(&upstream(), &overlays) {
        Ok(_) => panic!("merging {names:?} should fail"),
        Err(errors) => errors,
    }
}

fn assert_contains(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

const FRAGMENT: &str = "k8s.io/api/core/v1/nodestatus.proto";

fn fragment(overlay: &str, line: u32) -> String {
    format!("tests/fixtures/{overlay}/{FRAGMENT}:{line}")
}

#[test]
fn duplicate_field_number() {
    let errors = merge_errors(&["dup-number"]);
    let [error @ OverlayError::DuplicateFieldNumber { .. }] = errors.errors() else {
        panic!("one duplicate-number error:\n{errors}");
    };
    assert_contains(
        &error.to_string(),
        &[
            &format!(
                "{}: NodeStatus: field number 14 is used by `features` (this line)",
                fragment("dup-number", 10)
            ),
            "`declaredFeatures` (upstream, k8s.io/api/core/v1/generated.proto)",
            "fix: every field needs its own number",
            "`repeated string declaredFeatures = 15;`",
            "`reserved \"declaredFeatures\";`",
        ],
    );
}

#[test]
fn unknown_target_message() {
    let errors = merge_errors(&["unknown-target"]);
    let [error @ OverlayError::UnknownTargetMessage { .. }] = errors.errors() else {
        panic!("one unknown-target error:\n{errors}");
    };
    assert_contains(
        &error.to_string(),
        &[
            &format!(
                "{}: message `NodeStatuss` does not exist upstream",
                fragment("unknown-target", 6)
            ),
            "(did you mean `NodeStatus`?)",
            "fix: rename it to the upstream message you meant to change",
        ],
    );
}

#[test]
fn unknown_field_type() {
    let errors = merge_errors(&["unknown-type"]);
    // The misspelled type explains why NodeDeviceInfo is unused: one error, not two.
    let [error @ OverlayError::UnknownFieldType { .. }] = errors.errors() else {
        panic!("one unknown-type error:\n{errors}");
    };
    assert_contains(
        &error.to_string(),
        &[
            &format!(
                "{}: NodeStatus.deviceInfo: unknown type `NodeDeviceInf` (did you mean `NodeDeviceInfo`?)",
                fragment("unknown-type", 6)
            ),
            "fix: use the name of a message of the upstream schema or of this overlay",
        ],
    );
}

#[test]
fn conflicting_overlays() {
    let errors = merge_errors(&["conflict-a", "conflict-b"]);
    let [error @ OverlayError::Conflict { .. }] = errors.errors() else {
        panic!("one conflict error:\n{errors}");
    };
    assert_contains(
        &error.to_string(),
        &[
            &format!(
                "{}: field `NodeStatus.deviceSummary` is defined differently by overlay `conflict-b` and by overlay `conflict-a` at {}",
                fragment("conflict-b", 7),
                fragment("conflict-a", 6)
            ),
            "here:  `optional string deviceSummary = 16;`",
            "there: `optional string deviceSummary = 15;`",
            "fix: the overlays disagree; make the definitions identical, or select only one of them in SCHEMA_OVERLAYS",
        ],
    );
    // Each overlay alone merges.
    for name in ["conflict-a", "conflict-b"] {
        merge(&upstream(), &[load(name)])
            .unwrap_or_else(|err| panic!("{name} alone merges: {err}"));
    }
}

#[test]
fn malformed_proto() {
    let errors = Overlay::load(Path::new("tests/fixtures/malformed"))
        .expect_err("malformed overlay must not load");
    let [error @ OverlayError::Parse { .. }] = errors.errors() else {
        panic!("one parse error:\n{errors}");
    };
    assert_contains(
        &error.to_string(),
        &[
            &format!(
                "{}:33: malformed proto: expected '=', but found '15'",
                fragment("malformed", 6)
            ),
            "fix: correct the proto syntax",
        ],
    );
}

#[test]
fn package_not_upstream() {
    let errors = merge_errors(&["bad-package"]);
    assert_contains(
        &errors.to_string(),
        &[
            &format!(
                "{}: package `api.core.v1` is not an upstream package",
                fragment("bad-package", 3)
            ),
            "(did you mean `k8s.io.api.core.v1`?)",
            "fix: a fragment must use the package of the upstream file it changes",
        ],
    );
}

#[test]
fn invalid_manifest() {
    let errors = Overlay::load(Path::new("tests/fixtures/bad-manifest"))
        .expect_err("bad manifest must not load");
    assert_contains(
        &errors.to_string(),
        &[
            "tests/fixtures/bad-manifest/overlay.toml:3:14: invalid overlay manifest",
            "fix: overlay.toml needs exactly",
        ],
    );
}

#[test]
fn missing_overlay_directory() {
    let errors =
        Overlay::load(Path::new("tests/fixtures/no-such-overlay")).expect_err("nothing to load");
    assert_contains(
        &errors.to_string(),
        &[
            "tests/fixtures/no-such-overlay/overlay.toml: cannot read the overlay",
            "check the SCHEMA_OVERLAYS entry",
        ],
    );
}

#[test]
fn errors_of_several_overlays_are_reported_together() {
    let errors = merge_errors(&["dup-number", "unknown-target", "bad-package"]);
    assert_eq!(errors.errors().len(), 3, "{errors}");
    assert!(
        errors.to_string().starts_with("schema overlay: 3 errors"),
        "{errors}"
    );
}
