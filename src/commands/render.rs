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
//! later version of an object replaces an earlier one. Lists (files and recording
//! bodies) are decoded as they are read, with the same incremental walker as the
//! client's lists: memory does not grow with the size of the input.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::api::envelope::{self, Body};
use crate::api::{json, Object};
use crate::client::{Format, ListDecoder};
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

/// Bytes read from an input file at a time: lists are decoded as they are read, so
/// a recording of any size costs one chunk plus the item being decoded.
const READ_CHUNK: usize = 256 * 1024;

pub fn run(
    options: &RenderOptions,
    inputs: &[PathBuf],
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    let store = build_store(options)?;
    for path in inputs {
        read_input(&store, path)?;
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

fn apply_all(store: &Store, objects: Vec<Object>) {
    for object in objects {
        let plural = object.resource().plural;
        store.apply(plural, Event::Apply(object));
    }
}

fn open(path: &Path) -> Result<std::fs::File, RenderError> {
    std::fs::File::open(path).map_err(|source| RenderError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Why a file did not decode.
enum StreamFailure {
    Read(io::Error),
    Decode(String),
}

/// Reads `file` chunk by chunk through a discovering list decoder, handing each
/// object to `on_object` as soon as it is decoded (`false` from it: stop reading).
/// Returns the decoder, which says whether the body was a list and of what.
fn stream_file(
    mut file: impl io::Read,
    head: &[u8],
    format: Format,
    mut on_object: impl FnMut(&'static crate::api::ResourceType, Object) -> bool,
) -> Result<ListDecoder, StreamFailure> {
    let mut decoder = ListDecoder::discovering(format);
    let mut chunk = vec![0u8; READ_CHUNK];
    decoder.push(head);
    loop {
        while let Some(object) = decoder
            .next_object()
            .map_err(|e| StreamFailure::Decode(e.source.to_string()))?
        {
            let resource = decoder.resource().unwrap_or_else(|| object.resource());
            if !on_object(resource, object) {
                return Ok(decoder);
            }
        }
        let read = match file.read(&mut chunk) {
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(StreamFailure::Read(error)),
        };
        if read == 0 {
            break;
        }
        decoder.push(&chunk[..read]);
    }
    decoder.end();
    while let Some(object) = decoder
        .next_object()
        .map_err(|e| StreamFailure::Decode(e.source.to_string()))?
    {
        let resource = decoder.resource().unwrap_or_else(|| object.resource());
        if !on_object(resource, object) {
            break;
        }
    }
    Ok(decoder)
}

/// The first bytes of a file (to tell protobuf from JSON) and the file after them.
fn head_of(path: &Path) -> Result<(Vec<u8>, std::fs::File), RenderError> {
    use std::io::Read;
    let mut file = open(path)?;
    let mut head = Vec::with_capacity(4);
    (&mut file)
        .take(4)
        .read_to_end(&mut head)
        .map_err(|source| RenderError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok((head, file))
}

fn read_input(store: &Store, path: &Path) -> Result<(), RenderError> {
    if path.is_dir() {
        return read_recording(store, path);
    }
    let decode_error = |reason: String| RenderError::Decode {
        path: path.to_path_buf(),
        reason,
    };
    let read_error = |source: io::Error| RenderError::Read {
        path: path.to_path_buf(),
        source,
    };
    let (head, file) = head_of(path)?;
    let format = if head.starts_with(envelope::MAGIC) {
        Format::Protobuf
    } else {
        Format::Json
    };
    let streamed = stream_file(file, &head, format, |resource, object| {
        store.apply(resource.plural, Event::Apply(object));
        true
    });
    match streamed {
        Ok(decoder) if format == Format::Protobuf || decoder.is_list() => Ok(()),
        // One JSON object (its members were skipped by the list walk): small, read whole.
        Ok(_) => {
            let bytes = std::fs::read(path).map_err(read_error)?;
            let body = json::decode(&bytes).map_err(|e| decode_error(e.to_string()))?;
            apply_all(store, objects_of(body));
            Ok(())
        }
        Err(StreamFailure::Read(source)) => Err(read_error(source)),
        Err(StreamFailure::Decode(reason)) if format == Format::Protobuf => {
            Err(decode_error(reason))
        }
        // Not one JSON document: JSON Lines, read line by line.
        Err(StreamFailure::Decode(whole)) => {
            let file = open(path)?;
            read_json_lines(store, io::BufReader::new(file)).map_err(|failure| match failure {
                LinesFailure::Read(source) => read_error(source),
                LinesFailure::Decode { line: 1, .. } => decode_error(whole),
                LinesFailure::Decode { line, reason } => {
                    decode_error(format!("line {line}: {reason}"))
                }
            })
        }
    }
}

enum LinesFailure {
    Read(io::Error),
    Decode { line: usize, reason: String },
}

fn read_json_lines(store: &Store, mut reader: impl io::BufRead) -> Result<(), LinesFailure> {
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        number += 1;
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(LinesFailure::Read)?;
        if read == 0 {
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let body = match json::decode(&line) {
            Ok(body) => body,
            Err(error) => match json::decode_watch_event(&line) {
                Ok(event) if event.event_type == "DELETED" => continue,
                Ok(event) => event.object,
                Err(_) => {
                    return Err(LinesFailure::Decode {
                        line: number,
                        reason: error.to_string(),
                    })
                }
            },
        };
        apply_all(store, objects_of(body));
    }
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

/// The first complete list of each resource in a recording, fed as relists while
/// each body is read.
fn read_recording(store: &Store, dir: &Path) -> Result<(), RenderError> {
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
    for capture in manifest
        .captures
        .iter()
        .filter(|c| c.status == 200 && is_full_list(&c.path))
    {
        let path = dir.join(&capture.body);
        let (head, file) = head_of(&path)?;
        let format = if head.starts_with(envelope::MAGIC) {
            Format::Protobuf
        } else {
            Format::Json
        };
        // The resource this body relists, once its first object (or its end) says.
        let mut relisting: Option<&'static str> = None;
        let mut skipped = false;
        let streamed = stream_file(file, &head, format, |resource, object| {
            if relisting.is_none() {
                if !seen.insert(resource.plural) {
                    skipped = true;
                    return false;
                }
                relisting = Some(resource.plural);
                store.apply(resource.plural, Event::Init);
            }
            store.apply(resource.plural, Event::InitApply(object));
            true
        });
        let decoder = streamed.map_err(|failure| match failure {
            StreamFailure::Read(source) => RenderError::Read {
                path: path.clone(),
                source,
            },
            StreamFailure::Decode(reason) => RenderError::Decode {
                path: path.clone(),
                reason,
            },
        })?;
        if skipped || !decoder.is_list() {
            continue;
        }
        match (relisting, decoder.resource()) {
            (Some(plural), _) => store.apply(plural, Event::InitDone),
            // An empty list still replaces (empties) its resource.
            (None, Some(resource)) if seen.insert(resource.plural) => {
                store.apply(resource.plural, Event::Init);
                store.apply(resource.plural, Event::InitDone);
            }
            _ => {}
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::v1::{Pod, PodList};
    use crate::api::meta::v1::{ListMeta, ObjectMeta};
    use crate::api::ObjectList;
    use prost::Message;

    fn pod(name: &str) -> Pod {
        Pod {
            metadata: Some(ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("default".to_string()),
                uid: Some(format!("uid-{name}")),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn pod_list(names: &[&str]) -> PodList {
        PodList {
            metadata: Some(ListMeta {
                resource_version: Some("5".to_string()),
                ..Default::default()
            }),
            items: names.iter().map(|n| pod(n)).collect(),
        }
    }

    fn rendered(files: &[(&str, Vec<u8>)]) -> String {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let inputs: Vec<PathBuf> = files
            .iter()
            .map(|(name, bytes)| {
                let path = dir.path().join(name);
                std::fs::write(&path, bytes).expect("written");
                path
            })
            .collect();
        let options = RenderOptions {
            resources: vec!["pods".to_string()],
            ..RenderOptions::default()
        };
        let mut out = Vec::new();
        run(&options, &inputs, &mut out).expect("renders");
        String::from_utf8(out).expect("text")
    }

    fn pod_names(text: &str) -> Vec<String> {
        let mut names: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with("kube_pod_info{"))
            .filter_map(|l| l.split("pod=\"").nth(1))
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_input_shape_is_read_incrementally_or_whole_as_it_needs() {
        let protobuf = crate::api::envelope::seal(
            "v1",
            "PodList",
            bytes::Bytes::from(pod_list(&["a", "b"]).encode_to_vec()),
        );
        // JSON written with its kind after the items: the items wait for it.
        let mut json = ObjectList::Pod(pod_list(&["c", "d"]))
            .to_json_value()
            .expect("serializes");
        let items = json["items"].take();
        let object = json.as_object_mut().expect("an object");
        object.remove("items");
        let kind = object.remove("kind").expect("kind");
        let mut reordered = serde_json::Map::new();
        reordered.insert("items".to_string(), items);
        reordered.extend(object.clone());
        reordered.insert("kind".to_string(), kind);
        let kind_last = serde_json::to_vec_pretty(&reordered).expect("prints");
        let single = serde_json::to_vec(
            &Object::Pod(Box::new(pod("e")))
                .to_json_value()
                .expect("serializes"),
        )
        .expect("prints");
        let mut lines = serde_json::to_vec(
            &Object::Pod(Box::new(pod("f")))
                .to_json_value()
                .expect("serializes"),
        )
        .expect("prints");
        lines.push(b'\n');
        lines.extend_from_slice(&single);
        lines.push(b'\n');
        let text = rendered(&[
            ("list.pb", protobuf),
            ("kind-last.json", kind_last),
            ("single.json", single.clone()),
            ("lines.jsonl", lines),
        ]);
        assert_eq!(pod_names(&text), ["a", "b", "c", "d", "e", "f"], "{text}");
    }

    #[test]
    fn a_damaged_list_names_the_file_and_the_byte() {
        let mut protobuf = crate::api::envelope::seal(
            "v1",
            "PodList",
            bytes::Bytes::from(pod_list(&["a", "b"]).encode_to_vec()),
        );
        protobuf.truncate(protobuf.len() - 3);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("cut.pb");
        std::fs::write(&path, &protobuf).expect("written");
        let error =
            run(&RenderOptions::default(), &[path], &mut Vec::new()).expect_err("a cut body");
        let text = error.to_string();
        assert!(text.contains("cut.pb"), "{text}");
        assert!(text.contains("at byte"), "{text}");
    }
}
