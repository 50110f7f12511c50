//! Decodes every body recorded from a real kube-apiserver 1.28
//! (`tests/fixtures/recordings/real-1.28-demo`, see its manifest) and checks each
//! protobuf body against its JSON twin.
//!
//! Twin: the next capture of the same path that asked for JSON. For the
//! metadata-only secret list, the JSON list of full secrets (same path): each item's
//! metadata must match.
//!
//! Comparison rule (normalisation): both sides are written as Kubernetes JSON by our
//! writer, then every object member whose value is `null`, `""`, `0`, `false`, `{}` or
//! `[]` (after pruning its own members) is removed. Reason: Go's protobuf encoder
//! writes zero-valued non-pointer fields (prost gives `Some("")`, `Some(0)`,
//! `Some(false)`), while Go's JSON encoder leaves `omitempty` ones out; a zero value
//! and an absent one mean the same to Kubernetes. Array elements are never removed,
//! so list lengths and positions are compared as they are.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use kube_state_exporter::api::envelope::{self, Body};
use kube_state_exporter::api::json;
use kube_state_exporter::commands::decode::{decode_watch_frame, watch_frames};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Manifest {
    captures: Vec<Capture>,
}

#[derive(Debug, Clone, Deserialize)]
struct Capture {
    body: String,
    path: String,
    accept: String,
    status: u16,
    content_type: String,
    note: String,
}

impl Capture {
    fn is_protobuf(&self) -> bool {
        self.content_type
            .starts_with(envelope::PROTOBUF_CONTENT_TYPE)
    }
    fn is_watch(&self) -> bool {
        self.path.contains("watch=1")
    }
    fn is_metadata_only(&self) -> bool {
        self.accept.contains("as=PartialObjectMetadataList")
    }
    fn is_json(&self) -> bool {
        self.content_type.starts_with("application/json") && self.path != "/version"
    }
}

fn recording_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings/real-1.28-demo")
}

fn manifest() -> Vec<Capture> {
    let text = std::fs::read(recording_dir().join("manifest.json")).expect("manifest.json");
    serde_json::from_slice::<Manifest>(&text)
        .expect("manifest parses")
        .captures
}

fn read(capture: &Capture) -> Vec<u8> {
    std::fs::read(recording_dir().join(&capture.body)).expect("body file")
}

/// The comparison rule of this file (see the module comment).
fn normalise(value: &Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, member)| (key.clone(), normalise(member)))
                .filter(|(_, member)| !is_empty_or_zero(member))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

fn is_empty_or_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.is_empty(),
    }
}

fn to_json(body: &Body) -> Value {
    normalise(&json::body_to_value(body).expect("decoded bodies serialize"))
}

/// A readable account of the first difference between two JSON values.
fn difference(left: &Value, right: &Value, path: &str) -> Option<String> {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            for key in l.keys().chain(r.keys()) {
                let here = format!("{path}.{key}");
                match (l.get(key), r.get(key)) {
                    (Some(a), Some(b)) => {
                        if let Some(found) = difference(a, b, &here) {
                            return Some(found);
                        }
                    }
                    (a, b) => return Some(format!("{here}: protobuf {a:?} / json {b:?}")),
                }
            }
            None
        }
        (Value::Array(l), Value::Array(r)) if l.len() == r.len() => l
            .iter()
            .zip(r)
            .enumerate()
            .find_map(|(i, (a, b))| difference(a, b, &format!("{path}[{i}]"))),
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: protobuf {a} / json {b}")),
    }
}

fn assert_same(protobuf: &Value, json: &Value, what: &str) {
    if protobuf != json {
        panic!(
            "{what}: {}",
            difference(protobuf, json, "").unwrap_or_default()
        );
    }
}

fn decode_protobuf(capture: &Capture) -> Body {
    envelope::decode(Bytes::from(read(capture)))
        .unwrap_or_else(|err| panic!("{} ({}): {err}", capture.body, capture.note))
}

fn decode_json(capture: &Capture) -> Body {
    json::decode(&read(capture))
        .unwrap_or_else(|err| panic!("{} ({}): {err}", capture.body, capture.note))
}

/// The JSON capture to compare a protobuf capture with, if the recording has one.
fn twin(captures: &[Capture], index: usize) -> Option<&Capture> {
    let capture = &captures[index];
    if capture.is_metadata_only() {
        return captures
            .iter()
            .find(|c| c.path == capture.path && c.is_json());
    }
    captures[index + 1..]
        .iter()
        .find(|c| c.path == capture.path && c.is_json())
}

fn protobuf_watch_events(capture: &Capture) -> Vec<(String, Body)> {
    let bytes = read(capture);
    let mut events = Vec::new();
    for (index, frame) in watch_frames(&bytes).enumerate() {
        let (_, payload) = frame.unwrap_or_else(|err| panic!("{}: {err}", capture.body));
        events.push(
            decode_watch_frame(payload)
                .unwrap_or_else(|err| panic!("{} frame {index}: {err}", capture.body)),
        );
    }
    events
}

fn json_watch_events(capture: &Capture) -> Vec<(String, Body)> {
    let bytes = read(capture);
    bytes
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .enumerate()
        .map(|(index, line)| {
            let event = json::decode_watch_event(line)
                .unwrap_or_else(|err| panic!("{} line {index}: {err}", capture.body));
            (event.event_type, event.object)
        })
        .collect()
}

#[test]
fn every_protobuf_body_decodes_and_matches_its_json_twin() {
    let captures = manifest();
    let mut decoded = 0;
    let mut compared = 0;
    for (index, capture) in captures.iter().enumerate() {
        if !capture.is_protobuf() || capture.is_watch() {
            continue;
        }
        let body = decode_protobuf(capture);
        decoded += 1;
        let Some(twin) = twin(&captures, index) else {
            continue;
        };
        let json_body = decode_json(twin);
        let what = format!("{} vs {} ({})", capture.body, twin.body, capture.note);
        if capture.is_metadata_only() {
            let (Body::PartialObjectMetadataList(partial), Body::List(full)) = (&body, &json_body)
            else {
                panic!("{what}: expected a metadata-only list and a full list");
            };
            let full_items = full.clone().into_items();
            assert_eq!(partial.items.len(), full_items.len(), "{what}: item count");
            assert!(
                !partial.items.is_empty(),
                "{what}: the recording has secrets"
            );
            for (item, full_item) in partial.items.iter().zip(&full_items) {
                let ours = normalise(&serde_json::to_value(&item.metadata).expect("serializes"));
                let theirs =
                    normalise(&serde_json::to_value(full_item.metadata()).expect("serializes"));
                assert_same(&ours, &theirs, &what);
            }
        } else {
            assert_same(&to_json(&body), &to_json(&json_body), &what);
        }
        compared += 1;
    }
    // 29 resource lists, the metadata-only list, 2 protobuf pages, the 404, the final pod list.
    assert_eq!(decoded, 34, "protobuf bodies decoded");
    // Every list and page has a JSON twin; the 404 and the final pod list do not.
    assert_eq!(compared, 32, "protobuf bodies compared with a JSON twin");
}

#[test]
fn the_recorded_lists_hold_what_the_demo_cluster_had() {
    let captures = manifest();
    let pods = captures
        .iter()
        .find(|c| c.body == "0039.body")
        .expect("pods list");
    let Body::List(list) = decode_protobuf(pods) else {
        panic!("pods: not a list")
    };
    let items = list.into_items();
    assert_eq!(items.len(), 10, "the ten pods of the demo namespace");
    let names: Vec<&str> = items
        .iter()
        .filter_map(|p| p.metadata()?.name.as_deref())
        .collect();
    assert!(names.contains(&"web-5d8f7b9c6-oom1"), "{names:?}");

    let not_found = captures
        .iter()
        .find(|c| c.status == 404)
        .expect("404 capture");
    let Body::Status(status) = decode_protobuf(not_found) else {
        panic!("404: not a Status")
    };
    assert_eq!(status.code, Some(404));
    assert_eq!(status.reason.as_deref(), Some("NotFound"));
}

#[test]
fn every_json_body_decodes() {
    let captures = manifest();
    let mut bodies = 0;
    for capture in captures.iter().filter(|c| c.is_json()) {
        if capture.is_watch() {
            assert!(!json_watch_events(capture).is_empty(), "{}", capture.body);
        } else {
            decode_json(capture);
        }
        bodies += 1;
    }
    assert_eq!(
        bodies, 38,
        "JSON bodies in the recording (without /version)"
    );
}

#[test]
fn protobuf_watch_streams_decode_frame_by_frame() {
    let captures = manifest();
    let by_body = |name: &str| {
        captures
            .iter()
            .find(|c| c.body == name)
            .expect("capture")
            .clone()
    };

    let too_old = protobuf_watch_events(&by_body("0069.body"));
    assert_eq!(too_old.len(), 1);
    let (event_type, Body::Status(status)) = &too_old[0] else {
        panic!("not a Status event")
    };
    assert_eq!(event_type, "ERROR");
    assert_eq!(
        (status.code, status.reason.as_deref()),
        (Some(410), Some("Expired"))
    );

    let nodes = protobuf_watch_events(&by_body("0072.body"));
    assert!(nodes
        .iter()
        .all(|(_, body)| matches!(body, Body::Object(_))));
    assert_eq!(nodes.last().map(|(t, _)| t.as_str()), Some("BOOKMARK"));
    assert!(
        nodes.iter().filter(|(t, _)| t == "MODIFIED").count() >= 2,
        "node-2 flapped"
    );
}

#[test]
fn the_protobuf_pod_watch_matches_the_json_pod_watch_event_by_event() {
    let captures = manifest();
    let protobuf = captures
        .iter()
        .find(|c| c.body == "0073.body")
        .expect("pb watch");
    let json_watch = captures
        .iter()
        .find(|c| c.body == "0074.body")
        .expect("json watch");
    assert_eq!(protobuf.path, json_watch.path);
    let ours = protobuf_watch_events(protobuf);
    let theirs = json_watch_events(json_watch);
    assert_eq!(ours.len(), theirs.len(), "event count");
    assert!(
        ours.len() >= 10,
        "the pod lifecycle produced {} events",
        ours.len()
    );
    for (index, ((pb_type, pb_body), (json_type, json_body))) in
        ours.iter().zip(&theirs).enumerate()
    {
        assert_eq!(pb_type, json_type, "event {index}");
        assert_same(
            &to_json(pb_body),
            &to_json(json_body),
            &format!("watch event {index} ({pb_type})"),
        );
    }
    let types: Vec<&str> = ours.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types.first(), Some(&"ADDED"));
    assert!(types.contains(&"DELETED"), "{types:?}");
    assert_eq!(types.last(), Some(&"BOOKMARK"));
}
