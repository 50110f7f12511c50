//! The schema this binary was compiled against, for `version`, build-info labels and
//! run-time drift diagnosis.

use prost::Message;
use prost_reflect::DescriptorPool;
use prost_types::FileDescriptorSet;

/// Upstream Kubernetes version of the pinned protos.
pub const UPSTREAM_KUBERNETES: &str = env!("KSE_UPSTREAM_KUBERNETES");
/// Comma-separated names of the overlays merged at build time (empty: stock).
pub const OVERLAYS: &str = env!("KSE_SCHEMA_OVERLAYS");
/// Fingerprint of the merged schema.
pub const SCHEMA_HASH: &str = env!("KSE_SCHEMA_HASH");

/// Encoded descriptor set of the upstream schema, before overlays.
pub const UPSTREAM_FDS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/upstream.fds"));
/// Encoded descriptor set the types were generated from (upstream + overlays).
pub const MERGED_FDS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/merged.fds"));

/// Names of the overlays in this build.
pub fn overlays() -> Vec<&'static str> {
    OVERLAYS
        .split(',')
        .filter(|name| !name.is_empty())
        .collect()
}

/// Decoded upstream descriptor set (tests merge other overlays onto it).
pub fn upstream_descriptors() -> FileDescriptorSet {
    FileDescriptorSet::decode(UPSTREAM_FDS).expect("embedded upstream.fds was written by build.rs")
}

/// A reflection pool over the schema the types were generated from.
pub fn compiled_pool() -> DescriptorPool {
    DescriptorPool::decode(MERGED_FDS).expect("embedded merged.fds was written by build.rs")
}
