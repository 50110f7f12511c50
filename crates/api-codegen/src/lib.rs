//! Code generation for the exporter's API types.
//!
//! Input: a merged `FileDescriptorSet` (upstream + overlays, from `schema-overlay`).
//! Output, in `OUT_DIR`: the prost types (`_includes.rs` and one file per package)
//! and `resources.rs`, the per-kind glue made with `quote`.

mod families;
mod glue;
mod serde_attrs;
mod table;

use std::path::Path;

use prost_types::FileDescriptorSet;
use schema_overlay::Pin;
use thiserror::Error;

pub use serde_attrs::HAND_WRITTEN_JSON;
pub use table::{ResourceSpec, ResourceTable, View};

#[derive(Debug, Error)]
pub enum CodegenError {
    #[error("cannot access {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid resource table: {message}")]
    Table { path: String, message: String },
    #[error("resource {resource}: apiVersion {api_version} has no protobuf package in proto/upstream.toml [groups]")]
    UnknownApiVersion {
        resource: String,
        api_version: String,
    },
    #[error("resource {resource}: message {message} is not in the schema")]
    MissingMessage { resource: String, message: String },
    #[error("prost-build failed: {0}")]
    Prost(std::io::Error),
    #[error("field {field}: cannot derive its JSON form: {reason}")]
    Serde { field: String, reason: String },
    #[error("generated glue does not parse: {0}")]
    Glue(String),
}

/// Fields whose bytes stay zero-copy views into the response buffer.
const BYTES_FIELDS: &[&str] = &[
    ".k8s.io.apimachinery.pkg.runtime.Unknown.raw",
    ".k8s.io.apimachinery.pkg.runtime.RawExtension.raw",
    // managedFields: a third of a typical object's bytes. As `Bytes` they are slices
    // of the page being decoded, not a copy each.
    ".k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1.Raw",
];

/// Generates everything into `out_dir`.
pub fn generate(
    fds: &FileDescriptorSet,
    pin: &Pin,
    table: &ResourceTable,
    out_dir: &Path,
) -> Result<(), CodegenError> {
    let mut config = prost_build::Config::new();
    config
        .out_dir(out_dir)
        .include_file("_includes.rs")
        // One call each: these setters replace earlier paths.
        .bytes(BYTES_FIELDS)
        .btree_map(["."]);
    // Kubernetes JSON on the same types. type_attribute/field_attribute accumulate.
    let serde_plan = serde_attrs::SerdePlan::from_descriptors(fds)?;
    for (path, attribute) in &serde_plan.type_attributes {
        config.type_attribute(path, attribute);
    }
    config
        .compile_fds(fds.clone())
        .map_err(CodegenError::Prost)?;
    serde_plan.inject_field_attributes(fds, out_dir)?;

    let glue = glue::resource_glue(fds, pin, table)?;
    write_rust(out_dir, "resources.rs", glue)
}

/// The per-kind glue (`resources.rs`) as formatted Rust source: what [`generate`]
/// writes, without the prost types. Its seam for expected-output tests.
pub fn glue_source(
    fds: &FileDescriptorSet,
    pin: &Pin,
    table: &ResourceTable,
) -> Result<String, CodegenError> {
    format_rust(glue::resource_glue(fds, pin, table)?)
}

/// Writes `overlay_families.rs`: the metric families the overlays declare (checked by
/// `schema_overlay::check_families`) and every served kind's `OverlayFamilies` impl.
pub fn generate_overlay_families(
    families: &[schema_overlay::CheckedFamily],
    pin: &Pin,
    table: &ResourceTable,
    out_dir: &Path,
) -> Result<(), CodegenError> {
    write_rust(
        out_dir,
        "overlay_families.rs",
        families::overlay_families(families, pin, table)?,
    )
}

/// What [`generate_overlay_families`] writes, as formatted source (for tests).
pub fn overlay_families_source(
    families: &[schema_overlay::CheckedFamily],
    pin: &Pin,
    table: &ResourceTable,
) -> Result<String, CodegenError> {
    format_rust(families::overlay_families(families, pin, table)?)
}

fn format_rust(tokens: proc_macro2::TokenStream) -> Result<String, CodegenError> {
    let file: syn::File = syn::parse2(tokens).map_err(|err| CodegenError::Glue(err.to_string()))?;
    Ok(prettyplease::unparse(&file))
}

fn write_rust(
    out_dir: &Path,
    name: &str,
    tokens: proc_macro2::TokenStream,
) -> Result<(), CodegenError> {
    let path = out_dir.join(name);
    std::fs::write(&path, format_rust(tokens)?).map_err(|source| CodegenError::Io {
        path: path.display().to_string(),
        source,
    })
}
