//! `kube-state-exporter render`: the metrics of objects read from files, offline.
//!
//! Inputs, detected per path:
//! - a directory: a recording (`manifest.json` + bodies); the first complete list of
//!   each resource (status 200, no watch, no pagination) is fed as a relist;
//! - a protobuf body (`k8s\0` envelope): one object or a list;
//! - a JSON document: one object or a list;
//! - JSON Lines: one object, list or watch event (`{"type":…,"object":…}`) per line.
//!
//! Single objects and list items are applied in input order, keyed by uid, so a
//! later version of an object replaces an earlier one.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Deserialize;
use thiserror::Error;

use crate::api::envelope::{self, Body};
use crate::api::{json, Object};
use crate::metrics::resources;
use crate::metrics::{ExpositionFormat, MetricsSource, RenderRequest};
use crate::reflector::Event;
use crate::store::{Store, StoreError, StoreOptions};

#[derive(Debug, Error)]
pub enum RenderError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error("{path}: bad manifest.json: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the output: {0}")]
    Write(#[source] io::Error),
}

impl RenderError {
    /// A bad flag value (exit code 2) rather than a bad input or output.
    pub fn is_usage(&self) -> bool {
        matches!(self, RenderError::Store(_))
    }
}

/// What to render and how. The selection flags are the exporter's, parsed by
/// `crate::config` into the store's own types.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Plural names; empty: every resource with metrics, so that every object of the
    /// input is rendered.
    pub resources: Vec<String>,
    /// Families, label and annotation allowlists.
    pub store: StoreOptions,
    pub openmetrics: bool,
}

/// One unit of input for the store.
enum Feed {
    Objects(Vec<Object>),
    /// A complete list: replaces every object of its resource.
    Relist(&'static str, Vec<Object>),
}

pub fn run(
    options: &RenderOptions,
    inputs: &[PathBuf],
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    let store = build_store(options)?;
    for path in inputs {
        for feed in read_input(path)? {
            apply(&store, feed);
        }
    }
    let request = RenderRequest {
        format: if options.openmetrics {
            ExpositionFormat::OpenMetrics
        } else {
            ExpositionFormat::Text
        },
        include: None,
        exclude: BTreeSet::new(),
    };
    store
        .write_exposition(&request, out)
        .map_err(RenderError::Write)
}

fn build_store(options: &RenderOptions) -> Result<Store, RenderError> {
    let wanted: Vec<&str> = if options.resources.is_empty() {
        resources::all().iter().map(|r| r.plural()).collect()
    } else {
        options.resources.iter().map(String::as_str).collect()
    };
    // A resource named explicitly that has no metrics is an error, not a silent gap.
    Ok(Store::new(&wanted, &options.store)?)
}

fn apply(store: &Store, feed: Feed) {
    match feed {
        Feed::Objects(objects) => {
            for object in objects {
                let plural = object.resource().plural;
                store.apply(plural, Event::Apply(object));
            }
        }
        Feed::Relist(plural, objects) => {
            store.apply(plural, Event::Init);
            for object in objects {
                store.apply(plural, Event::InitApply(object));
            }
            store.apply(plural, Event::InitDone);
        }
    }
}

fn read_input(path: &Path) -> Result<Vec<Feed>, RenderError> {
    if path.is_dir() {
        return read_recording(path);
    }
    let bytes = std::fs::read(path).map_err(|source| RenderError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let decode_error = |reason: String| RenderError::Decode {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.starts_with(b"k8s\0") {
        let body = envelope::decode(Bytes::from(bytes)).map_err(|e| decode_error(e.to_string()))?;
        return Ok(vec![Feed::Objects(objects_of(body))]);
    }
    match json::decode(&bytes) {
        Ok(body) => Ok(vec![Feed::Objects(objects_of(body))]),
        Err(whole) => read_json_lines(&bytes).map_err(|line_error| {
            decode_error(if bytes.iter().filter(|&&b| b == b'\n').count() > 1 {
                line_error
            } else {
                whole.to_string()
            })
        }),
    }
}

fn read_json_lines(bytes: &[u8]) -> Result<Vec<Feed>, String> {
    let mut objects = Vec::new();
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let body = match json::decode(line) {
            Ok(body) => body,
            Err(error) => match json::decode_watch_event(line) {
                Ok(event) if event.event_type == "DELETED" => continue,
                Ok(event) => event.object,
                Err(_) => return Err(format!("line {}: {error}", number + 1)),
            },
        };
        objects.extend(objects_of(body));
    }
    Ok(vec![Feed::Objects(objects)])
}

fn objects_of(body: Body) -> Vec<Object> {
    match body {
        Body::Object(object) => vec![object],
        Body::List(list) => list.into_items(),
        // These name no kind: nothing says which resource their objects are.
        Body::PartialObjectMetadata(_)
        | Body::PartialObjectMetadataList(_)
        | Body::Status(_)
        | Body::Table(_) => Vec::new(),
    }
}

#[derive(Deserialize)]
struct Manifest {
    captures: Vec<Capture>,
}

#[derive(Deserialize)]
struct Capture {
    body: String,
    path: String,
    status: u16,
}

/// The first complete list of each resource in a recording, as relists.
fn read_recording(dir: &Path) -> Result<Vec<Feed>, RenderError> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read(&manifest_path).map_err(|source| RenderError::Read {
        path: manifest_path.clone(),
        source,
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|source| RenderError::Manifest {
            path: manifest_path.clone(),
            source,
        })?;
    let mut seen = BTreeSet::new();
    let mut feeds = Vec::new();
    for capture in manifest
        .captures
        .iter()
        .filter(|c| c.status == 200 && is_full_list(&c.path))
    {
        let path = dir.join(&capture.body);
        let bytes = std::fs::read(&path).map_err(|source| RenderError::Read {
            path: path.clone(),
            source,
        })?;
        let body = if bytes.starts_with(b"k8s\0") {
            envelope::decode(Bytes::from(bytes)).map_err(|e| e.to_string())
        } else {
            json::decode(&bytes).map_err(|e| e.to_string())
        }
        .map_err(|reason| RenderError::Decode {
            path: path.clone(),
            reason,
        })?;
        let Body::List(list) = body else { continue };
        let plural = list.resource().plural;
        if seen.insert(plural) {
            feeds.push(Feed::Relist(plural, list.into_items()));
        }
    }
    Ok(feeds)
}

fn is_full_list(path: &str) -> bool {
    if !(path.starts_with("/api/") || path.starts_with("/apis/")) {
        return false;
    }
    let query = path.split_once('?').map_or("", |(_, q)| q);
    !query
        .split('&')
        .any(|p| p.starts_with("watch=") || p.starts_with("limit=") || p.starts_with("continue="))
}
