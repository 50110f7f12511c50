//! The recording's `manifest.json` (format: docs/recording-format.md on the client
//! branch; same fields as `record` writes) and where each resource is requested.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::api::envelope::PROTOBUF_CONTENT_TYPE;
use crate::api::ResourceType;

#[derive(Debug, Clone, Serialize)]
pub struct Capture {
    pub body: String,
    pub method: String,
    pub path: String,
    pub accept: String,
    pub status: u16,
    pub content_type: String,
    pub bytes: u64,
    pub seconds: f64,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct Manifest {
    pub server_version: serde_json::Value,
    pub captures: Vec<Capture>,
}

/// How long the recorded watches claim to have lasted (`timeoutSeconds`).
pub const WATCH_SECONDS: u32 = 30;

/// Collection path of a resource: `/api/v1/pods`, `/apis/apps/v1/deployments`.
pub fn collection_path(resource: &ResourceType) -> String {
    if resource.group.is_empty() {
        format!("/api/{}/{}", resource.version, resource.plural)
    } else {
        format!(
            "/apis/{}/{}/{}",
            resource.group, resource.version, resource.plural
        )
    }
}

/// The two encodings a recording can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Protobuf => "protobuf",
            Format::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => PROTOBUF_CONTENT_TYPE,
            Format::Json => "application/json",
        }
    }
}

/// The Accept header `record` sends (protobuf first with JSON as fallback, or JSON).
pub fn accept(resource: &ResourceType, format: Format, watch: bool) -> String {
    let suffix = match (resource.metadata_only(), watch) {
        (false, _) => "",
        (true, false) => ";as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        (true, true) => ";as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
    };
    match format {
        Format::Protobuf => format!("{PROTOBUF_CONTENT_TYPE}{suffix}, application/json{suffix}"),
        Format::Json => format!("application/json{suffix}"),
    }
}

/// Hands out body file names in request order and collects the captures.
pub struct RecordingWriter {
    dir: PathBuf,
    captures: Vec<Capture>,
}

impl RecordingWriter {
    pub fn new(dir: &Path) -> RecordingWriter {
        RecordingWriter {
            dir: dir.to_path_buf(),
            captures: Vec::new(),
        }
    }

    pub fn add_list(&mut self, body: String, resource: &ResourceType, format: Format, bytes: u64) {
        self.captures.push(Capture {
            body,
            method: "GET".into(),
            path: collection_path(resource),
            accept: accept(resource, format, false),
            status: 200,
            content_type: format.content_type().into(),
            bytes,
            seconds: 0.0,
            note: format!("list {} {}", resource.plural, format.label()),
        });
    }

    pub fn add_watch(
        &mut self,
        body: String,
        resource: &ResourceType,
        format: Format,
        from_rv: u64,
        bytes: u64,
    ) {
        let content_type = match format {
            Format::Protobuf => format!("{PROTOBUF_CONTENT_TYPE};stream=watch"),
            Format::Json => "application/json".to_string(),
        };
        self.captures.push(Capture {
            body,
            method: "GET".into(),
            path: format!(
                "{}?watch=1&resourceVersion={from_rv}&allowWatchBookmarks=true&timeoutSeconds={WATCH_SECONDS}",
                collection_path(resource)
            ),
            accept: accept(resource, format, true),
            status: 200,
            content_type,
            bytes,
            seconds: f64::from(WATCH_SECONDS),
            note: format!("watch {} {}", resource.plural, format.label()),
        });
    }

    pub fn captures(&self) -> &[Capture] {
        &self.captures
    }

    /// Writes `manifest.json`.
    pub fn finish(self) -> std::io::Result<()> {
        let manifest = Manifest {
            server_version: serde_json::json!({
                "major": "1",
                "minor": "35",
                "gitVersion": "v1.35.0",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2026-11-15T00:00:00Z",
                "goVersion": "go1.25.0",
                "compiler": "gc",
                "platform": "linux/amd64"
            }),
            captures: self.captures,
        };
        let text = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
        let path = self.dir.join("manifest.json");
        std::fs::write(&path, text)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}
