//! Secret values out of recordings. A recording may have been made before `record`
//! fetched Secrets metadata-only (the demo recording was), so its bodies can hold a
//! Secret's `data` / `stringData` values and the `kubectl apply` annotation that copies
//! them. [`scrub_secret_values`] empties those values and drops that annotation in
//! every body, protobuf (lists, objects, watch frames) and JSON (lists, objects,
//! watch lines, Tables) alike, and fixes the sizes in the manifest;
//! [`secret_findings`] reports what is still there (the test over every recording).
//!
//! A body is searched when its request path names the `secrets` resource or when it
//! holds an object whose kind is `Secret`/`SecretList`. Everything else in a body is
//! kept byte for byte: protobuf fields are copied as they came, and a JSON body is only
//! re-serialised when something in it changed.

use bytes::Bytes;
use prost::encoding::{encode_key, encode_varint, WireType};

use super::recording::{Capture, Recording};
use super::wire::{fields, Field, WireError};
use crate::api::table::LAST_APPLIED;

const PROTOBUF_MAGIC: &[u8] = b"k8s\0";

#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    #[error("body {body}: {source}")]
    Protobuf {
        body: String,
        #[source]
        source: WireError,
    },
    #[error("body {body}: not JSON: {source}")]
    Json {
        body: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What scrubbing changed, per body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScrubReport {
    /// One line per value or annotation removed: `body: where`.
    pub removed: Vec<String>,
    /// Bodies rewritten.
    pub bodies: usize,
}

/// Empties every Secret value in `recording` and updates the manifest's sizes.
pub fn scrub_secret_values(recording: &mut Recording) -> Result<ScrubReport, ScrubError> {
    let mut report = ScrubReport::default();
    for capture in &mut recording.manifest.captures {
        let Some(body) = recording.bodies.get(&capture.body) else {
            continue;
        };
        let mut findings = Vec::new();
        let scrubbed = scrub_body(capture, body, &mut findings)?;
        if let Some(scrubbed) = scrubbed {
            capture.bytes = scrubbed.len() as u64;
            recording.bodies.insert(capture.body.clone(), scrubbed);
            report.bodies += 1;
        }
        report.removed.extend(findings);
    }
    Ok(report)
}

/// Every Secret value (and `kubectl apply` annotation of a Secret) still in `recording`,
/// one line each; a body that cannot be parsed is reported too, since it cannot be
/// shown to be clean.
pub fn secret_findings(recording: &Recording) -> Vec<String> {
    let mut findings = Vec::new();
    for capture in &recording.manifest.captures {
        let Some(body) = recording.bodies.get(&capture.body) else {
            continue;
        };
        if let Err(error) = scrub_body(capture, body, &mut findings) {
            findings.push(format!("cannot be checked: {error}"));
        }
    }
    findings
}

/// The scrubbed body, or `None` when it held nothing to remove.
fn scrub_body(
    capture: &Capture,
    body: &Bytes,
    findings: &mut Vec<String>,
) -> Result<Option<Bytes>, ScrubError> {
    let secrets_path = names_secrets(&capture.path);
    let before = findings.len();
    let label = |finding: String| format!("{}: {finding}", capture.body);
    let scrubbed = if is_json(capture, body) {
        let mut local = Vec::new();
        let out =
            scrub_json_body(body, secrets_path, &mut local).map_err(|source| ScrubError::Json {
                body: capture.body.clone(),
                source,
            })?;
        findings.extend(local.into_iter().map(label));
        out
    } else if body.starts_with(PROTOBUF_MAGIC) || capture.content_type.contains("protobuf") {
        let mut local = Vec::new();
        let out = scrub_protobuf_body(body, secrets_path, &mut local).map_err(|source| {
            ScrubError::Protobuf {
                body: capture.body.clone(),
                source,
            }
        })?;
        findings.extend(local.into_iter().map(label));
        out
    } else {
        None
    };
    Ok(scrubbed.filter(|_| findings.len() > before))
}

fn is_json(capture: &Capture, body: &Bytes) -> bool {
    capture.content_type.contains("json")
        || (!body.starts_with(PROTOBUF_MAGIC)
            && body.first().is_some_and(|b| *b == b'{' || *b == b'['))
}

/// `/api/v1/secrets`, `/api/v1/namespaces/x/secrets`, `.../secrets/name` (query ignored).
fn names_secrets(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    let resource = match segments.as_slice() {
        ["", "api", "v1", "namespaces", _, resource, ..] => resource,
        ["", "api", "v1", resource, ..] => resource,
        _ => return false,
    };
    *resource == "secrets"
}

// ---- protobuf ----

fn scrub_protobuf_body(
    body: &Bytes,
    secrets_path: bool,
    findings: &mut Vec<String>,
) -> Result<Option<Bytes>, WireError> {
    if body.starts_with(PROTOBUF_MAGIC) {
        return Ok(scrub_envelope(body, secrets_path, findings)?.map(Bytes::from));
    }
    // A watch stream: 4-byte big-endian length, then a meta.v1.WatchEvent.
    let mut out = Vec::with_capacity(body.len());
    let mut changed = false;
    let mut rest = body.clone();
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(WireError::Malformed("watch frame length cut short"));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + len {
            return Err(WireError::Malformed("watch frame runs past the end"));
        }
        let event = rest.slice(4..4 + len);
        rest = rest.slice(4 + len..);
        let new_event = rewrite(&event, |field| {
            if field.number != 2 {
                return Ok(None);
            }
            // RawExtension { raw = 1 }: the object's own envelope.
            rewrite(&field.payload, |raw| {
                if raw.number == 1 && raw.payload.starts_with(PROTOBUF_MAGIC) {
                    scrub_envelope(&raw.payload, secrets_path, findings)
                } else {
                    Ok(None)
                }
            })
        })?;
        changed |= new_event.is_some();
        let event = new_event.unwrap_or_else(|| event.to_vec());
        out.extend_from_slice(&(event.len() as u32).to_be_bytes());
        out.extend_from_slice(&event);
    }
    Ok(changed.then(|| Bytes::from(out)))
}

/// Rewrites one message, noting what it removed; `None` when nothing changed.
type Scrubber = fn(&Bytes, &mut Vec<String>) -> Result<Option<Vec<u8>>, WireError>;

/// `k8s\0` + runtime.Unknown { typeMeta = 1 { apiVersion = 1, kind = 2 }, raw = 2 }.
fn scrub_envelope(
    envelope: &Bytes,
    secrets_path: bool,
    findings: &mut Vec<String>,
) -> Result<Option<Vec<u8>>, WireError> {
    let unknown = envelope.slice(PROTOBUF_MAGIC.len()..);
    let mut kind = String::new();
    for field in fields(&unknown)? {
        if field.number == 1 {
            for type_meta in fields(&field.payload)? {
                if type_meta.number == 2 {
                    kind = String::from_utf8_lossy(&type_meta.payload).into_owned();
                }
            }
        }
    }
    let scrub: Scrubber = match kind.as_str() {
        "Secret" => scrub_secret,
        "SecretList" => scrub_secret_list,
        "PartialObjectMetadata" if secrets_path => scrub_secret,
        "PartialObjectMetadataList" if secrets_path => scrub_secret_list,
        _ => return Ok(None),
    };
    let rewritten = rewrite(&unknown, |field| {
        if field.number == 2 {
            scrub(&field.payload, findings)
        } else {
            Ok(None)
        }
    })?;
    Ok(rewritten.map(|unknown| [PROTOBUF_MAGIC, &unknown].concat()))
}

/// A list: ListMeta = 1, items = 2.
fn scrub_secret_list(
    list: &Bytes,
    findings: &mut Vec<String>,
) -> Result<Option<Vec<u8>>, WireError> {
    rewrite(list, |field| {
        if field.number == 2 {
            scrub_secret(&field.payload, findings)
        } else {
            Ok(None)
        }
    })
}

/// core.v1.Secret: metadata = 1, data = 2 (map<string, bytes>), stringData = 4
/// (map<string, string>); a PartialObjectMetadata has only field 1.
fn scrub_secret(secret: &Bytes, findings: &mut Vec<String>) -> Result<Option<Vec<u8>>, WireError> {
    rewrite(secret, |field| match field.number {
        1 => scrub_object_meta(&field.payload, findings),
        2 | 4 => {
            let map = if field.number == 2 {
                "data"
            } else {
                "stringData"
            };
            // A map entry: key = 1, value = 2; an absent value is the empty value.
            rewrite(&field.payload, |entry| {
                if entry.number == 2 && !entry.payload.is_empty() {
                    findings.push(format!("Secret {map} value"));
                    Ok(Some(Vec::new()))
                } else {
                    Ok(None)
                }
            })
        }
        _ => Ok(None),
    })
}

/// ObjectMeta: annotations = 12 (map entries key = 1, value = 2).
fn scrub_object_meta(
    meta: &Bytes,
    findings: &mut Vec<String>,
) -> Result<Option<Vec<u8>>, WireError> {
    let mut dropped = false;
    let mut out = Vec::with_capacity(meta.len());
    for field in fields(meta)? {
        if field.number == 12 && annotation_key(&field.payload)?.as_deref() == Some(LAST_APPLIED) {
            findings.push(format!("Secret annotation {LAST_APPLIED}"));
            dropped = true;
            continue;
        }
        put_field(&mut out, &field, &field.payload);
    }
    Ok(dropped.then_some(out))
}

fn annotation_key(entry: &Bytes) -> Result<Option<String>, WireError> {
    Ok(fields(entry)?
        .into_iter()
        .find(|f| f.number == 1)
        .map(|f| String::from_utf8_lossy(&f.payload).into_owned()))
}

/// Re-encodes `message` with the fields `replace` returns new payloads for; `None`
/// when nothing changed.
fn rewrite(
    message: &Bytes,
    mut replace: impl FnMut(&Field) -> Result<Option<Vec<u8>>, WireError>,
) -> Result<Option<Vec<u8>>, WireError> {
    let mut changed = false;
    let mut out = Vec::with_capacity(message.len());
    for field in fields(message)? {
        match replace(&field)? {
            Some(payload) => {
                changed = true;
                put_field(&mut out, &field, &payload);
            }
            None => put_field(&mut out, &field, &field.payload),
        }
    }
    Ok(changed.then_some(out))
}

fn put_field(out: &mut Vec<u8>, field: &Field, payload: &[u8]) {
    encode_key(field.number, field.wire_type, out);
    if field.wire_type == WireType::LengthDelimited {
        encode_varint(payload.len() as u64, out);
    }
    out.extend_from_slice(payload);
}

// ---- JSON ----

fn scrub_json_body(
    body: &Bytes,
    secrets_path: bool,
    findings: &mut Vec<String>,
) -> Result<Option<Bytes>, serde_json::Error> {
    let trailing_newline = body.ends_with(b"\n");
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) {
        if !scrub_json(&mut value, secrets_path, false, findings) {
            return Ok(None);
        }
        let mut out = serde_json::to_vec(&value)?;
        if trailing_newline {
            out.push(b'\n');
        }
        return Ok(Some(Bytes::from(out)));
    }
    // A watch stream: one event per line.
    let mut changed = false;
    let mut out = Vec::with_capacity(body.len());
    for line in body.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let mut value: serde_json::Value = serde_json::from_slice(line)?;
        if scrub_json(&mut value, secrets_path, false, findings) {
            changed = true;
            out.extend_from_slice(&serde_json::to_vec(&value)?);
        } else {
            out.extend_from_slice(line);
        }
        out.push(b'\n');
    }
    Ok(changed.then(|| Bytes::from(out)))
}

/// Walks `value`; an object with `metadata` is a Secret when the path names secrets,
/// its own kind is `Secret`, or it is an item of a `SecretList`. True if changed.
fn scrub_json(
    value: &mut serde_json::Value,
    secrets_path: bool,
    in_secret_list: bool,
    findings: &mut Vec<String>,
) -> bool {
    let mut changed = false;
    match value {
        serde_json::Value::Object(object) => {
            let kind = object
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default();
            let secret_list = kind == "SecretList";
            let is_secret = object.contains_key("metadata")
                && (secrets_path || in_secret_list || kind == "Secret");
            if is_secret {
                for map in ["data", "stringData"] {
                    if let Some(values) = object.get_mut(map).and_then(|m| m.as_object_mut()) {
                        for (_, v) in values.iter_mut() {
                            if v.as_str().is_some_and(|s| !s.is_empty()) {
                                findings.push(format!("Secret {map} value"));
                                *v = serde_json::Value::String(String::new());
                                changed = true;
                            }
                        }
                    }
                }
                if let Some(annotations) = object
                    .get_mut("metadata")
                    .and_then(|m| m.get_mut("annotations"))
                    .and_then(|a| a.as_object_mut())
                {
                    if annotations.shift_remove(LAST_APPLIED).is_some() {
                        findings.push(format!("Secret annotation {LAST_APPLIED}"));
                        changed = true;
                    }
                }
            }
            for (key, child) in object.iter_mut() {
                let items_of_list = secret_list && key == "items";
                changed |= scrub_json(child, secrets_path, items_of_list, findings);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                changed |= scrub_json(item, secrets_path, in_secret_list, findings);
            }
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::v1::{Secret, SecretList};
    use crate::api::meta::v1::ObjectMeta;
    use crate::api::runtime::{TypeMeta, Unknown};
    use crate::replay::{Capture, Manifest};
    use prost::Message;
    use std::collections::{BTreeMap, HashMap};

    fn secret(name: &str) -> Secret {
        Secret {
            metadata: Some(ObjectMeta {
                name: Some(name.into()),
                annotations: BTreeMap::from([
                    (
                        LAST_APPLIED.to_string(),
                        "{\"stringData\":{\"k\":\"v\"}}".into(),
                    ),
                    ("team".to_string(), "a".into()),
                ]),
                ..Default::default()
            }),
            data: BTreeMap::from([("password".to_string(), b"s3cr3t".to_vec())]),
            string_data: BTreeMap::from([("token".to_string(), "t0k3n".to_string())]),
            r#type: Some("Opaque".into()),
            ..Default::default()
        }
    }

    fn envelope(kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let unknown = Unknown {
            type_meta: Some(TypeMeta {
                api_version: Some("v1".into()),
                kind: Some(kind.into()),
            }),
            raw: Some(raw.into()),
            content_encoding: Some(String::new()),
            content_type: Some(String::new()),
        };
        [PROTOBUF_MAGIC, &unknown.encode_to_vec()].concat()
    }

    fn capture(body: &str, path: &str, content_type: &str, bytes: usize) -> Capture {
        Capture {
            body: body.into(),
            method: "GET".into(),
            path: path.into(),
            accept: content_type.into(),
            status: 200,
            content_type: content_type.into(),
            bytes: bytes as u64,
            seconds: 0.0,
            note: String::new(),
        }
    }

    #[test]
    fn finds_and_scrubs_secret_values_in_every_encoding() {
        let list = SecretList {
            items: vec![secret("a"), secret("b")],
            ..Default::default()
        };
        let proto_list = envelope("SecretList", list.encode_to_vec());
        let frame = super::super::wire::watch_frame(
            "ADDED",
            &envelope("Secret", secret("c").encode_to_vec()),
        );
        let json_list = serde_json::json!({"kind": "SecretList", "items": [{
            "metadata": {"name": "a", "annotations": {LAST_APPLIED: "{\"data\":{}}", "team": "a"}},
            "data": {"password": "czNjcjN0"}, "stringData": {"token": "t0k3n"}}]})
        .to_string();
        let json_watch = format!(
            "{}\n",
            serde_json::json!({"type": "ADDED", "object": {"kind": "Secret",
                "metadata": {"name": "c"}, "data": {"password": "czNjcjN0"}}})
        );
        let bodies = [
            (
                "1",
                "/api/v1/secrets",
                "application/vnd.kubernetes.protobuf",
                proto_list,
            ),
            (
                "2",
                "/api/v1/secrets?watch=1",
                "application/vnd.kubernetes.protobuf;stream=watch",
                frame,
            ),
            (
                "3",
                "/api/v1/secrets",
                "application/json",
                json_list.into_bytes(),
            ),
            (
                "4",
                "/api/v1/namespaces/x/secrets?watch=1",
                "application/json",
                json_watch.into_bytes(),
            ),
        ];
        let mut recording = Recording {
            manifest: Manifest {
                server_version: None,
                captures: bodies
                    .iter()
                    .map(|(name, path, ct, body)| capture(name, path, ct, body.len()))
                    .collect(),
            },
            bodies: bodies
                .iter()
                .map(|(name, _, _, body)| (name.to_string(), Bytes::from(body.clone())))
                .collect::<HashMap<_, _>>(),
        };
        let found = secret_findings(&recording);
        // proto list: 2 secrets × (data, stringData, annotation); watch: 3; JSON list: 3; JSON watch: 1.
        assert_eq!(found.len(), 6 + 3 + 3 + 1, "{found:#?}");

        let report = scrub_secret_values(&mut recording).expect("scrubs");
        assert_eq!(report.bodies, 4);
        assert_eq!(secret_findings(&recording), Vec::<String>::new());
        // Sizes in the manifest follow the bodies, and everything else survives.
        let recording =
            Recording::from_parts(recording.manifest, recording.bodies).expect("sizes consistent");
        let proto = &recording.bodies["1"];
        let unknown = Unknown::decode(&proto[4..]).expect("envelope");
        let list = SecretList::decode(unknown.raw.expect("raw")).expect("list");
        assert_eq!(list.items.len(), 2);
        let scrubbed = &list.items[0];
        assert!(scrubbed.data["password"].is_empty());
        assert_eq!(scrubbed.string_data["token"], "");
        let meta = scrubbed.metadata.as_ref().expect("metadata");
        assert_eq!(meta.name.as_deref(), Some("a"));
        assert_eq!(meta.annotations.get("team").map(String::as_str), Some("a"));
        assert!(!meta.annotations.contains_key(LAST_APPLIED));
        assert_eq!(scrubbed.r#type.as_deref(), Some("Opaque"));
        let json: serde_json::Value = serde_json::from_slice(&recording.bodies["3"]).expect("json");
        assert_eq!(json["items"][0]["data"]["password"], "");
        assert_eq!(json["items"][0]["metadata"]["annotations"]["team"], "a");
    }

    #[test]
    fn leaves_bodies_without_secrets_untouched() {
        let json =
            br#"{"kind":"ConfigMapList","items":[{"metadata":{"name":"a"},"data":{"k":"v"}}]}"#;
        let mut recording = Recording {
            manifest: Manifest {
                server_version: None,
                captures: vec![capture(
                    "1",
                    "/api/v1/configmaps",
                    "application/json",
                    json.len(),
                )],
            },
            bodies: HashMap::from([("1".to_string(), Bytes::from_static(json))]),
        };
        assert!(secret_findings(&recording).is_empty());
        let report = scrub_secret_values(&mut recording).expect("scrubs");
        assert_eq!(report.bodies, 0);
        assert_eq!(&recording.bodies["1"][..], &json[..]);
    }
}
