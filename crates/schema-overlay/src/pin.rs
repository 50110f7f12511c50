//! The upstream pin (`proto/upstream.toml`): which Kubernetes version, where its
//! protos come from and which files we compile.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::SchemaError;

#[derive(Debug, Clone, Deserialize)]
pub struct Pin {
    /// Upstream Kubernetes minor version, e.g. "1.35".
    pub kubernetes: String,
    pub source: Source,
    /// apiVersion ("v1", "apps/v1", …) → protobuf package ("k8s.io.api.apps.v1").
    pub groups: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    /// Registry package that carries the proto files.
    pub package: String,
    /// Directory inside that package holding the proto tree.
    pub root: String,
    /// Package prefix the registry package removed (restored when loading).
    #[serde(default)]
    pub stripped_prefix: Option<String>,
    /// Files to compile, relative to the tree root, without the stripped prefix.
    pub files: Vec<String>,
}

impl Pin {
    pub fn load(path: &Path) -> Result<Pin, SchemaError> {
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Pin::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Pin, SchemaError> {
        toml::from_str(text).map_err(|err| SchemaError::Pin {
            path: origin.to_string(),
            message: err.to_string(),
        })
    }

    /// The protobuf package serving an apiVersion, if the pin knows it.
    pub fn package_for(&self, api_version: &str) -> Option<&str> {
        self.groups.get(api_version).map(String::as_str)
    }
}
