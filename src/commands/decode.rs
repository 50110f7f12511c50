//! `kube-state-exporter decode [--diagnose] FILE`: reads a response body the way the
//! exporter would and prints it as Kubernetes JSON.
//!
//! Accepted input, told apart by its first bytes:
//! - a protobuf body (`k8s\0` + `runtime.Unknown`): object, list, metadata-only list, Status;
//! - a protobuf watch stream: frames of a 4-byte big-endian length + `WatchEvent`;
//! - JSON: one document (object, list, Status) or a watch stream (one event per line).
//!
//! When protobuf does not decode (or with `--diagnose`), the wire data is walked against
//! the compiled schema to say where the server's schema and ours disagree.

use std::io::Write;
use std::ops::Range;
use std::process::ExitCode;

use bytes::Bytes;
use prost::Message;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::api::envelope::{self, Body, EnvelopeError, MAGIC};
use crate::api::json::{self, JsonError};
use crate::api::meta::v1::WatchEvent;
use crate::api::{diagnose, schema};
use crate::cli::DecodeArgs;

/// What the input looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    ProtobufWatch,
    Json,
}

/// Tells the formats apart. A watch frame starts with a big-endian length whose
/// first byte is 0 for any frame below 16 MiB, then tag 1 (`type`, wire type 2);
/// JSON starts with `{` after optional whitespace.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(MAGIC) {
        return Some(Format::Protobuf);
    }
    if bytes.len() > 4 && bytes[0] == 0 && bytes[4] == 0x0a {
        return Some(Format::ProtobufWatch);
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Some(Format::Json),
        _ => None,
    }
}

#[derive(Debug, Error)]
pub enum DecodeError {
    #[error(
        "not a Kubernetes body: neither protobuf (\"k8s\\0\"), a protobuf watch stream nor JSON"
    )]
    UnknownFormat,
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("watch frame {index} at byte {offset}: {detail}")]
    Framing {
        index: usize,
        offset: usize,
        detail: String,
    },
    #[error("watch frame {index} at byte {offset}: {source}")]
    Frame {
        index: usize,
        offset: usize,
        #[source]
        source: FrameError,
    },
    #[error("JSON document {index} at byte {offset}: {source}")]
    Json {
        index: usize,
        offset: usize,
        #[source]
        source: JsonError,
    },
    #[error("JSON document {index} at byte {offset} is not JSON: {source}")]
    JsonSyntax {
        index: usize,
        offset: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write the decoded object as JSON: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// What can be wrong inside one protobuf watch frame.
#[derive(Debug, Error)]
pub enum FrameError {
    #[error("WatchEvent does not decode: {0}")]
    Event(#[source] prost::DecodeError),
    #[error("WatchEvent has no object")]
    NoObject,
    #[error(transparent)]
    Object(#[from] EnvelopeError),
}

/// A failed decode, with the protobuf bytes worth diagnosing (the whole body, or the
/// watch frame that failed, length prefix included).
#[derive(Debug)]
pub struct Failure {
    pub error: DecodeError,
    pub protobuf: Option<Range<usize>>,
}

impl From<DecodeError> for Failure {
    fn from(error: DecodeError) -> Failure {
        Failure {
            error,
            protobuf: None,
        }
    }
}

/// Decodes a file's bytes into Kubernetes JSON documents: one for a body, one per
/// event (`{"type":…,"object":…}`) for a watch stream.
pub fn decode_bytes(bytes: &[u8]) -> Result<Vec<Value>, Failure> {
    match detect(bytes) {
        Some(Format::Protobuf) => {
            let body =
                envelope::decode(Bytes::copy_from_slice(bytes)).map_err(|error| Failure {
                    error: error.into(),
                    protobuf: Some(0..bytes.len()),
                })?;
            Ok(vec![
                json::body_to_value(&body).map_err(DecodeError::Serialize)?
            ])
        }
        Some(Format::ProtobufWatch) => decode_protobuf_watch(bytes),
        Some(Format::Json) => Ok(decode_json(bytes)?),
        None => Err(DecodeError::UnknownFormat.into()),
    }
}

/// The frames of a protobuf watch stream: (byte range of the whole frame, payload).
pub fn watch_frames(
    bytes: &[u8],
) -> impl Iterator<Item = Result<(Range<usize>, &[u8]), DecodeError>> {
    let mut offset = 0;
    let mut index = 0;
    std::iter::from_fn(move || {
        if offset >= bytes.len() {
            return None;
        }
        let this = index;
        index += 1;
        let start = offset;
        let Some(prefix) = bytes.get(start..start + 4) else {
            offset = bytes.len();
            return Some(Err(DecodeError::Framing {
                index: this,
                offset: start,
                detail: format!(
                    "{} trailing bytes, too few for a length prefix",
                    bytes.len() - start
                ),
            }));
        };
        let length = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        let end = start + 4 + length;
        let Some(payload) = bytes.get(start + 4..end) else {
            offset = bytes.len();
            return Some(Err(DecodeError::Framing {
                index: this,
                offset: start,
                detail: format!(
                    "length {length} runs past the end ({} bytes left)",
                    bytes.len() - start - 4
                ),
            }));
        };
        offset = end;
        Some(Ok((start..end, payload)))
    })
}

/// Decodes one watch frame's payload (a `WatchEvent`) into its type and object.
pub fn decode_watch_frame(payload: &[u8]) -> Result<(String, Body), FrameError> {
    let event = WatchEvent::decode(payload).map_err(FrameError::Event)?;
    let raw = event
        .object
        .and_then(|object| object.raw)
        .ok_or(FrameError::NoObject)?;
    let body = envelope::decode(raw)?;
    Ok((event.r#type.unwrap_or_default(), body))
}

fn decode_protobuf_watch(bytes: &[u8]) -> Result<Vec<Value>, Failure> {
    let mut events = Vec::new();
    for (index, frame) in watch_frames(bytes).enumerate() {
        let (range, payload) = frame?;
        let (event_type, body) = decode_watch_frame(payload).map_err(|source| Failure {
            error: DecodeError::Frame {
                index,
                offset: range.start,
                source,
            },
            protobuf: Some(range.clone()),
        })?;
        events.push(event_value(event_type, &body)?);
    }
    Ok(events)
}

fn event_value(event_type: String, body: &Body) -> Result<Value, DecodeError> {
    let mut event = Map::new();
    event.insert("type".into(), Value::String(event_type));
    event.insert(
        "object".into(),
        json::body_to_value(body).map_err(DecodeError::Serialize)?,
    );
    Ok(Value::Object(event))
}

/// Which JSON document this is: a body has `kind`, a watch event has `object`.
#[derive(Deserialize)]
struct Shape {
    kind: Option<IgnoredAny>,
    object: Option<IgnoredAny>,
}

fn decode_json(bytes: &[u8]) -> Result<Vec<Value>, DecodeError> {
    let mut documents = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<&RawValue>();
    let mut index = 0;
    loop {
        let offset = stream.byte_offset();
        let Some(next) = stream.next() else { break };
        let raw = next.map_err(|source| DecodeError::JsonSyntax {
            index,
            offset,
            source,
        })?;
        let text = raw.get().as_bytes();
        let shape: Shape =
            serde_json::from_slice(text).map_err(|source| DecodeError::JsonSyntax {
                index,
                offset,
                source,
            })?;
        let wrap = |source| DecodeError::Json {
            index,
            offset,
            source,
        };
        let document = if shape.kind.is_none() && shape.object.is_some() {
            let event = json::decode_watch_event(text).map_err(wrap)?;
            event_value(event.event_type, &event.object)?
        } else {
            json::body_to_value(&json::decode(text).map_err(wrap)?)
                .map_err(DecodeError::Serialize)?
        };
        documents.push(document);
        index += 1;
    }
    Ok(documents)
}

/// The diagnosis of `bytes` as text, `None` when it found nothing.
fn diagnosis(bytes: &[u8]) -> Option<String> {
    let found = diagnose::diagnose(&schema::compiled_pool(), bytes);
    (!found.is_clean()).then(|| found.to_string())
}

/// Runs the subcommand: JSON to `out`, errors and diagnosis to `err`.
pub fn run(
    args: &DecodeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<ExitCode> {
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(error) => {
            writeln!(err, "error: cannot read {}: {error}", args.file.display())?;
            return Ok(ExitCode::FAILURE);
        }
    };
    match decode_bytes(&bytes) {
        Ok(documents) => {
            for document in &documents {
                let text = serde_json::to_string_pretty(document).map_err(std::io::Error::other)?;
                writeln!(out, "{text}")?;
            }
            if args.diagnose {
                report_diagnosis(&bytes, err)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Failure { error, protobuf }) => {
            writeln!(err, "error: {}: {error}", args.file.display())?;
            if let Some(range) = protobuf {
                match diagnosis(&bytes[range.clone()]) {
                    Some(text) => writeln!(
                        err,
                        "diagnosis (bytes {}..{}):\n{text}",
                        range.start, range.end
                    )?,
                    None => writeln!(
                        err,
                        "diagnosis: no disagreement with the compiled schema found"
                    )?,
                }
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `--diagnose` on a body that decoded: walk every protobuf part anyway.
fn report_diagnosis(bytes: &[u8], err: &mut dyn Write) -> std::io::Result<()> {
    let parts: Vec<Range<usize>> = match detect(bytes) {
        Some(Format::Protobuf) => std::iter::once(0..bytes.len()).collect(),
        Some(Format::ProtobufWatch) => watch_frames(bytes)
            .filter_map(Result::ok)
            .map(|(r, _)| r)
            .collect(),
        _ => {
            writeln!(err, "diagnosis: only protobuf bodies are diagnosed")?;
            return Ok(());
        }
    };
    let mut clean = true;
    for range in parts {
        if let Some(text) = diagnosis(&bytes[range.clone()]) {
            clean = false;
            writeln!(
                err,
                "diagnosis (bytes {}..{}):\n{text}",
                range.start, range.end
            )?;
        }
    }
    if clean {
        writeln!(
            err,
            "diagnosis: no disagreement with the compiled schema found"
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::v1::Node;
    use crate::api::meta::v1::ObjectMeta;
    use crate::api::runtime::RawExtension;

    fn node_body(name: &str) -> Vec<u8> {
        let node = Node {
            metadata: Some(ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        envelope::seal("v1", "Node", Bytes::from(node.encode_to_vec()))
    }

    fn frame(event_type: &str, body: Vec<u8>) -> Vec<u8> {
        let event = WatchEvent {
            r#type: Some(event_type.into()),
            object: Some(RawExtension {
                raw: Some(Bytes::from(body)),
            }),
        };
        let payload = event.encode_to_vec();
        let mut out = (payload.len() as u32).to_be_bytes().to_vec();
        out.extend(payload);
        out
    }

    #[test]
    fn detects_the_formats() {
        assert_eq!(detect(&node_body("a")), Some(Format::Protobuf));
        assert_eq!(
            detect(&frame("ADDED", node_body("a"))),
            Some(Format::ProtobufWatch)
        );
        assert_eq!(detect(b"  {\"kind\":\"Pod\"}"), Some(Format::Json));
        assert_eq!(detect(b"hello"), None);
    }

    #[test]
    fn decodes_a_protobuf_body() {
        let documents = decode_bytes(&node_body("node-1")).unwrap();
        assert_eq!(documents.len(), 1);
        assert_eq!(documents[0]["kind"], "Node");
        assert_eq!(documents[0]["metadata"]["name"], "node-1");
    }

    #[test]
    fn decodes_a_protobuf_watch_stream() {
        let mut stream = frame("ADDED", node_body("a"));
        stream.extend(frame("DELETED", node_body("b")));
        let events = decode_bytes(&stream).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1]["type"], "DELETED");
        assert_eq!(events[1]["object"]["metadata"]["name"], "b");
    }

    #[test]
    fn a_truncated_frame_says_where() {
        let mut stream = frame("ADDED", node_body("a"));
        let first = stream.len();
        stream.extend(frame("ADDED", node_body("b")));
        stream.truncate(stream.len() - 3);
        let failure = decode_bytes(&stream).unwrap_err();
        let text = failure.error.to_string();
        assert!(
            text.starts_with(&format!("watch frame 1 at byte {first}: length")),
            "{text}"
        );
    }

    #[test]
    fn a_broken_object_points_the_diagnosis_at_its_frame() {
        let mut broken = node_body("a");
        broken.extend([0x0f]); // wire type 7 does not exist
        let mut stream = frame("ADDED", node_body("a"));
        let start = stream.len();
        stream.extend(frame("MODIFIED", broken));
        let failure = decode_bytes(&stream).unwrap_err();
        assert_eq!(failure.protobuf, Some(start..stream.len()));
        assert!(
            failure
                .error
                .to_string()
                .starts_with("watch frame 1 at byte"),
            "{}",
            failure.error
        );
    }

    #[test]
    fn decodes_json_bodies_and_json_watch_lines() {
        let body = br#"{"kind":"Node","apiVersion":"v1","metadata":{"name":"n"}}"#;
        assert_eq!(decode_bytes(body).unwrap()[0]["metadata"]["name"], "n");
        let watch = b"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\"}}}\n\
                      {\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"9\"}}}\n";
        let events = decode_bytes(watch).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1]["object"]["metadata"]["resourceVersion"], "9");
        let err =
            decode_bytes(b"{\"kind\":\"Node\",\"apiVersion\":\"v1\"}\n{\"kind\":").unwrap_err();
        assert!(
            err.error.to_string().starts_with("JSON document 1 at byte"),
            "{}",
            err.error
        );
    }

    fn run_on(bytes: &[u8], diagnose: bool, name: &str) -> (ExitCode, String, String) {
        let path = std::env::temp_dir().join(format!("kse-decode-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let args = DecodeArgs {
            diagnose,
            file: path.clone(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&args, &mut out, &mut err).unwrap();
        std::fs::remove_file(&path).unwrap();
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn run_prints_pretty_json_and_succeeds() {
        let (code, out, err) = run_on(&node_body("node-1"), false, "ok");
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(
            out.starts_with("{\n  \"kind\": \"Node\",\n  \"apiVersion\": \"v1\""),
            "{out}"
        );
        assert!(err.is_empty(), "{err}");
    }

    #[test]
    fn run_fails_on_a_broken_body_and_diagnoses_it() {
        let mut body = node_body("node-1");
        // Cut into `raw` (the envelope ends with `1a 00 22 00`).
        body.truncate(body.len() - 5);
        let (code, out, err) = run_on(&body, false, "broken");
        assert_eq!(code, ExitCode::FAILURE);
        assert!(out.is_empty());
        assert!(
            err.contains("does not decode") && err.contains("diagnosis"),
            "{err}"
        );
    }

    #[test]
    fn run_with_diagnose_reports_on_a_good_body() {
        let (code, _, err) = run_on(&node_body("node-1"), true, "diagnose");
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(err.starts_with("diagnosis"), "{err}");
    }
}
