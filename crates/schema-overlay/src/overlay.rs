//! Vendor overlays: loading and merging. (Placeholder: only the stock schema is
//! supported until the merger lands.)

use std::path::{Path, PathBuf};

use prost_types::FileDescriptorSet;

use crate::SchemaError;

#[derive(Debug, Clone)]
pub struct Overlay {
    name: String,
    dir: PathBuf,
}

impl Overlay {
    pub fn load(dir: &Path) -> Result<Overlay, SchemaError> {
        Err(SchemaError::Upstream {
            message: format!("overlay support is not built yet ({})", dir.display()),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

pub fn merge(
    upstream: &FileDescriptorSet,
    overlays: &[Overlay],
) -> Result<FileDescriptorSet, SchemaError> {
    if !overlays.is_empty() {
        return Err(SchemaError::Upstream {
            message: "overlay support is not built yet".into(),
        });
    }
    Ok(upstream.clone())
}
