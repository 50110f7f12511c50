//! Builds the protobuf schema the exporter is compiled against: the pinned upstream
//! Kubernetes protos, with vendor overlays merged in at descriptor level.
//!
//! Used by the exporter's `build.rs` (before code generation) and at run time
//! (tests and diagnosis build descriptor pools with and without overlays).

mod pin;
mod upstream;

use thiserror::Error;

pub use pin::{Pin, Source};
pub use upstream::{load_upstream, UpstreamTree};

/// Errors while loading the upstream schema.
#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid upstream pin: {message}")]
    Pin { path: String, message: String },
    #[error("upstream proto tree not found at {path}; set UPSTREAM_PROTO_DIR or check the pinned package")]
    UpstreamMissing { path: String },
    #[error("upstream protos do not compile: {message}")]
    Upstream { message: String },
}

mod apply;
mod error;
mod families;
mod fragment;
mod manifest;
mod merge;
mod overlay;
mod plan;
mod symbols;
mod validate;

pub use error::{DidYouMean, Loc, OverlayError, OverlayErrors};
pub use families::{
    check_families, Access, CheckedFamily, CheckedLabel, CheckedValue, DeclaredValue, FamilyDecl,
    FamilyStability, FamilyType, Located, ResourceRef, Scalar, Step,
};
pub use manifest::Manifest;
pub use merge::{merge, merge_with_warnings, Merged};
pub use overlay::Overlay;

/// A short, stable fingerprint of a schema: the first 16 hex digits of the SHA-256 of
/// its encoded descriptor set. Same protos and overlays → same hash.
pub fn schema_hash(fds: &prost_types::FileDescriptorSet) -> String {
    use prost::Message;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(fds.encode_to_vec());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
