//! The table of kinds the exporter serves (`proto/resources.toml`).

use std::path::Path;

use serde::Deserialize;

use crate::CodegenError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// Plural resource name as used in URLs and `--resources` (`pods`).
    pub plural: String,
    /// `v1`, `apps/v1`, …
    pub api_version: String,
    pub kind: String,
    pub namespaced: bool,
    /// What is asked for: the objects, their metadata only, or the server-side Table
    /// (so the content, e.g. secret values, never arrives).
    #[serde(default)]
    pub view: View,
}

/// `view` of a resource in `proto/resources.toml`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    #[default]
    Full,
    Metadata,
    Table,
}

impl View {
    /// The variant's name in the generated `crate::api::View`.
    pub fn variant(self) -> &'static str {
        match self {
            View::Full => "Full",
            View::Metadata => "Metadata",
            View::Table => "Table",
        }
    }
}

impl ResourceSpec {
    pub fn group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    pub fn version(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((_, version)) => version,
            None => &self.api_version,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceTable {
    #[serde(rename = "resource")]
    pub resources: Vec<ResourceSpec>,
}

impl ResourceTable {
    pub fn load(path: &Path) -> Result<ResourceTable, CodegenError> {
        let text = std::fs::read_to_string(path).map_err(|source| CodegenError::Io {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|err| CodegenError::Table {
            path: path.display().to_string(),
            message: err.to_string(),
        })
    }
}
