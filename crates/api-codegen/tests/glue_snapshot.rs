//! Expected-output test of the per-kind glue: a small descriptor set (one core kind,
//! one grouped kind) and its resource table go in, the formatted Rust that `build.rs`
//! would write comes out and is compared with `tests/fixtures/glue.expected.rs`.
//! After an intended change of the generator, rewrite the fixture with
//! `UPDATE_GOLDEN=1 cargo test -p api-codegen --test glue_snapshot` and review its diff.

use std::path::PathBuf;

use api_codegen::{glue_source, CodegenError, ResourceTable};
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};
use schema_overlay::Pin;

fn file(package: &str, messages: &[&str]) -> FileDescriptorProto {
    FileDescriptorProto {
        name: Some(format!("{}/generated.proto", package.replace('.', "/"))),
        package: Some(package.to_string()),
        message_type: messages
            .iter()
            .map(|name| DescriptorProto {
                name: Some((*name).to_string()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn descriptors() -> FileDescriptorSet {
    FileDescriptorSet {
        file: vec![
            file("k8s.io.api.core.v1", &["Pod", "PodList", "PodSpec"]),
            file("k8s.io.api.apps.v1", &["Deployment", "DeploymentList"]),
        ],
    }
}

fn pin() -> Pin {
    Pin::parse(
        r#"
kubernetes = "1.35"
[source]
package = "example"
root = "src"
files = []
[groups]
"v1" = "k8s.io.api.core.v1"
"apps/v1" = "k8s.io.api.apps.v1"
"#,
        "test pin",
    )
    .expect("the test pin parses")
}

fn table(extra: &str) -> ResourceTable {
    let text = format!(
        r#"
[[resource]]
plural = "pods"
api_version = "v1"
kind = "Pod"
namespaced = true

[[resource]]
plural = "deployments"
api_version = "apps/v1"
kind = "Deployment"
namespaced = true
view = "table"
{extra}"#
    );
    toml::from_str(&text).expect("the test table parses")
}

#[test]
fn glue_matches_the_expected_output() {
    let got = glue_source(&descriptors(), &pin(), &table("")).expect("glue generates");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/glue.expected.rs");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).expect("fixture written");
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "generated glue differs from {} from line {}:\n got: {:?}\nwant: {:?}",
            path.display(),
            first + 1,
            got.lines().nth(first),
            want.lines().nth(first)
        );
    }
}

#[test]
fn every_kind_gets_its_kind_impl_and_enum_variant() {
    let got = glue_source(&descriptors(), &pin(), &table("")).expect("glue generates");
    for kind in ["Pod", "Deployment"] {
        assert!(got.contains(&format!("::{kind} {{")) || got.contains(&format!("::{kind}{{")));
        assert!(
            got.contains(&format!("Object::{kind}(typed) => Some(typed)")),
            "no downcast arm for {kind}"
        );
    }
    assert_eq!(got.matches("impl crate::api::Kind for").count(), 2);
    assert!(got.contains("const TYPE: &'static ResourceType = &RESOURCES[1usize];"));
}

#[test]
fn a_kind_missing_from_the_schema_is_an_error_naming_it() {
    let extra = "\n[[resource]]\nplural = \"widgets\"\napi_version = \"apps/v1\"\nkind = \"Widget\"\nnamespaced = true\n";
    match glue_source(&descriptors(), &pin(), &table(extra)) {
        Err(CodegenError::MissingMessage { resource, message }) => {
            assert_eq!(resource, "widgets");
            assert_eq!(message, "k8s.io.api.apps.v1.Widget");
        }
        other => panic!("expected MissingMessage, got {:?}", other.map(|_| "glue")),
    }
}

#[test]
fn an_api_version_without_a_package_is_an_error_naming_it() {
    let extra = "\n[[resource]]\nplural = \"widgets\"\napi_version = \"example.com/v1\"\nkind = \"Widget\"\nnamespaced = true\n";
    assert!(matches!(
        glue_source(&descriptors(), &pin(), &table(extra)),
        Err(CodegenError::UnknownApiVersion { resource, .. }) if resource == "widgets"
    ));
}
