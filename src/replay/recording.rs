//! The recording format: a `manifest.json` listing every captured response in
//! request order, and one file per response body, byte for byte as received.
//! See docs/recording-format.md.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// What `/version` answered, when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<serde_json::Value>,
    pub captures: Vec<Capture>,
}

/// One recorded response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Capture {
    /// Body file name, relative to the manifest.
    pub body: String,
    #[serde(default = "get")]
    pub method: String,
    /// Request path with query.
    pub path: String,
    /// Request Accept header.
    pub accept: String,
    pub status: u16,
    /// Response Content-Type.
    pub content_type: String,
    pub bytes: u64,
    /// Time the response took, in seconds (informational).
    #[serde(default)]
    pub seconds: f64,
    /// What this capture is, in words.
    #[serde(default)]
    pub note: String,
}

fn get() -> String {
    "GET".to_string()
}

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest: {0}")]
    Manifest(#[source] serde_json::Error),
    #[error("capture {body}: the manifest says {expected} bytes, the file has {actual}")]
    Size {
        body: String,
        expected: u64,
        actual: usize,
    },
    #[error("capture {0}: no body given")]
    MissingBody(String),
}

/// A manifest and its bodies, in memory.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub manifest: Manifest,
    pub bodies: HashMap<String, Bytes>,
}

impl Recording {
    /// Reads `DIR/manifest.json` and every body it names.
    pub fn load(dir: &Path) -> Result<Recording, RecordingError> {
        let manifest_path = dir.join("manifest.json");
        let manifest = std::fs::read(&manifest_path).map_err(|source| RecordingError::Io {
            path: manifest_path.display().to_string(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_slice(&manifest).map_err(RecordingError::Manifest)?;
        let mut bodies = HashMap::new();
        for capture in &manifest.captures {
            let path = dir.join(&capture.body);
            let body = std::fs::read(&path).map_err(|source| RecordingError::Io {
                path: path.display().to_string(),
                source,
            })?;
            bodies.insert(capture.body.clone(), Bytes::from(body));
        }
        Recording::from_parts(manifest, bodies)
    }

    /// Builds a recording from a manifest and bodies held elsewhere (e.g. embedded in
    /// the binary for `--demo`); checks every body is there with its recorded size.
    pub fn from_parts(
        manifest: Manifest,
        bodies: HashMap<String, Bytes>,
    ) -> Result<Recording, RecordingError> {
        for capture in &manifest.captures {
            let body = bodies
                .get(&capture.body)
                .ok_or_else(|| RecordingError::MissingBody(capture.body.clone()))?;
            if body.len() as u64 != capture.bytes {
                return Err(RecordingError::Size {
                    body: capture.body.clone(),
                    expected: capture.bytes,
                    actual: body.len(),
                });
            }
        }
        Ok(Recording { manifest, bodies })
    }

    /// Parses a manifest from its JSON text.
    pub fn parse_manifest(json: &[u8]) -> Result<Manifest, RecordingError> {
        serde_json::from_slice(json).map_err(RecordingError::Manifest)
    }

    /// Writes the manifest and bodies into `dir` (created if needed).
    pub fn save(&self, dir: &Path) -> Result<(), RecordingError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| RecordingError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for capture in &self.manifest.captures {
            let body = self
                .bodies
                .get(&capture.body)
                .ok_or_else(|| RecordingError::MissingBody(capture.body.clone()))?;
            let path = dir.join(&capture.body);
            std::fs::write(&path, body).map_err(io(&path))?;
        }
        let manifest =
            serde_json::to_vec_pretty(&self.manifest).map_err(RecordingError::Manifest)?;
        let path = dir.join("manifest.json");
        std::fs::write(&path, manifest).map_err(io(&path))
    }

    pub fn body(&self, capture: &Capture) -> Option<&Bytes> {
        self.bodies.get(&capture.body)
    }
}
