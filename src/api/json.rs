//! The apiserver's JSON on the same generated types as protobuf.
//!
//! The generated structs derive serde with one `rename` per field taken from the
//! descriptor (see `crates/api-codegen/src/serde_attrs.rs`); the few messages whose
//! JSON is not an object of their fields are written by hand in [`special`].
//! Dispatch is on the body's own `apiVersion`/`kind`, as for the protobuf envelope,
//! and the result is the same [`Body`].

mod duration;
pub mod fields;
#[cfg(test)]
pub(crate) mod roundtrip_tests;
mod special;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use thiserror::Error;

use super::envelope::Body;
use super::meta::v1::{PartialObjectMetadata, PartialObjectMetadataList, Status};
use super::{Object, ObjectList};

pub use duration::DurationError;

/// apiVersion of the meta kinds (Status, PartialObjectMetadata[List]) in JSON.
pub const META_API_VERSION: &str = "meta.k8s.io/v1";

/// A JSON value that did not fit the type: where in the document and why.
#[derive(Debug, Error)]
#[error("at {path}: {source}")]
pub struct FieldError {
    /// Field path from the document root (`spec.containers[0].ports[0].containerPort`).
    pub path: String,
    /// serde_json's error, with line and column.
    #[source]
    pub source: serde_json::Error,
}

#[derive(Debug, Error)]
pub enum JsonError {
    #[error("body is not a JSON object: {0}")]
    NotAnObject(#[source] serde_json::Error),
    #[error("JSON body has no kind (apiVersion {api_version:?}): cannot tell what it is")]
    NoKind { api_version: String },
    #[error("unknown kind {api_version:?} {kind:?}: not a kind this build serves")]
    UnknownKind { api_version: String, kind: String },
    #[error("{api_version} {kind}: {source}")]
    Object {
        api_version: String,
        kind: String,
        #[source]
        source: FieldError,
    },
    #[error("not a watch event ({{\"type\":…,\"object\":…}}): {0}")]
    WatchEvent(#[source] FieldError),
}

/// Deserializes one value, saying where it failed. The fast path has no path
/// tracking; only a failing document is read a second time to find the field.
pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, FieldError> {
    match serde_json::from_slice(raw) {
        Ok(value) => Ok(value),
        Err(first) => {
            let mut deserializer = serde_json::Deserializer::from_slice(raw);
            match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                Err(located) => Err(FieldError {
                    path: located.path().to_string(),
                    source: located.into_inner(),
                }),
                // Cannot happen (same input, same type), but never lose the error.
                Ok(_) => Err(FieldError {
                    path: ".".to_string(),
                    source: first,
                }),
            }
        }
    }
}

/// The type fields every Kubernetes JSON document starts with.
#[derive(Deserialize)]
struct TypeMeta {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
}

/// Decodes a whole JSON body (object, list, metadata-only list or Status).
pub fn decode(body: &[u8]) -> Result<Body, JsonError> {
    let TypeMeta { api_version, kind } =
        serde_json::from_slice(body).map_err(JsonError::NotAnObject)?;
    if kind.is_empty() {
        return Err(JsonError::NoKind { api_version });
    }
    let wrap = |source| JsonError::Object {
        api_version: api_version.clone(),
        kind: kind.clone(),
        source,
    };
    match (api_version.as_str(), kind.as_str()) {
        ("v1" | META_API_VERSION, "Status") => {
            parse::<Status>(body).map(Body::Status).map_err(wrap)
        }
        (META_API_VERSION, "PartialObjectMetadata") => parse::<PartialObjectMetadata>(body)
            .map(Body::PartialObjectMetadata)
            .map_err(wrap),
        (META_API_VERSION, "PartialObjectMetadataList") => parse::<PartialObjectMetadataList>(body)
            .map(Body::PartialObjectMetadataList)
            .map_err(wrap),
        (META_API_VERSION, "Table") => parse::<super::table::Table>(body)
            .map(Body::Table)
            .map_err(wrap),
        (version, name) => {
            if let Some(result) = Object::from_json(version, name, body) {
                result.map(Body::Object).map_err(wrap)
            } else if let Some(result) = ObjectList::from_json(version, name, body) {
                result.map(Body::List).map_err(wrap)
            } else {
                Err(JsonError::UnknownKind {
                    api_version: api_version.clone(),
                    kind: kind.clone(),
                })
            }
        }
    }
}

/// One event of a JSON watch stream.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    pub event_type: String,
    /// The object; a `Status` for `ERROR`.
    pub object: Body,
}

#[derive(Deserialize)]
struct WatchEventLine<'a> {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(borrow)]
    object: &'a RawValue,
}

/// Decodes one line of a JSON watch stream: `{"type":"ADDED","object":{…}}`.
pub fn decode_watch_event(line: &[u8]) -> Result<WatchEvent, JsonError> {
    let event: WatchEventLine<'_> = match serde_json::from_slice(line) {
        Ok(event) => event,
        Err(_) => {
            // Read again with path tracking for the message.
            let mut deserializer = serde_json::Deserializer::from_slice(line);
            let err = match serde_path_to_error::deserialize::<_, WatchEventLine<'_>>(
                &mut deserializer,
            ) {
                Err(located) => FieldError {
                    path: located.path().to_string(),
                    source: located.into_inner(),
                },
                Ok(_) => unreachable_parse(line),
            };
            return Err(JsonError::WatchEvent(err));
        }
    };
    let object = decode(event.object.get().as_bytes())?;
    Ok(WatchEvent {
        event_type: event.event_type,
        object,
    })
}

/// Builds the error for the (impossible) case of a second parse succeeding where the
/// first failed, without panicking on input-derived data.
fn unreachable_parse(line: &[u8]) -> FieldError {
    let source = serde_json::from_slice::<Value>(line)
        .err()
        .unwrap_or_else(|| serde::de::Error::custom("inconsistent JSON parse"));
    FieldError {
        path: ".".to_string(),
        source,
    }
}

/// Serializes `value` as a Kubernetes JSON object with `kind` and `apiVersion` first,
/// in the order the apiserver writes them.
pub fn with_type_meta<T: Serialize + ?Sized>(
    api_version: &str,
    kind: &str,
    value: &T,
) -> Result<Value, serde_json::Error> {
    let fields = match serde_json::to_value(value)? {
        Value::Object(fields) => fields,
        other => {
            return Err(serde::ser::Error::custom(format_args!(
                "{api_version} {kind} serialized to {other}, not to a JSON object"
            )))
        }
    };
    let mut out = Map::with_capacity(fields.len() + 2);
    out.insert("kind".to_string(), Value::String(kind.to_string()));
    out.insert(
        "apiVersion".to_string(),
        Value::String(api_version.to_string()),
    );
    out.extend(fields);
    Ok(Value::Object(out))
}

/// A decoded body (from protobuf or JSON) as Kubernetes JSON.
pub fn body_to_value(body: &Body) -> Result<Value, serde_json::Error> {
    match body {
        Body::Object(object) => object.to_json_value(),
        Body::List(list) => list.to_json_value(),
        Body::PartialObjectMetadata(object) => {
            with_type_meta(META_API_VERSION, "PartialObjectMetadata", object)
        }
        Body::PartialObjectMetadataList(list) => {
            with_type_meta(META_API_VERSION, "PartialObjectMetadataList", list)
        }
        // The apiserver answers errors as `v1 Status` in JSON.
        Body::Status(status) => with_type_meta("v1", "Status", status),
        Body::Table(table) => with_type_meta(META_API_VERSION, "Table", table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::v1::Pod;

    #[test]
    fn decodes_a_pod_with_kubernetes_names() {
        let body =
            br#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","labels":{"app":"x"}},
            "spec":{"nodeName":"n1","containers":[{"name":"c","ports":[{"containerPort":80}]}]},
            "status":{"podIPs":[{"ip":"10.0.0.1"}],"phase":"Running"}}"#;
        let Body::Object(Object::Pod(pod)) = decode(body).unwrap() else {
            panic!("not a pod");
        };
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("n1"));
        assert_eq!(spec.containers[0].ports[0].container_port, Some(80));
        assert_eq!(
            pod.status.as_ref().unwrap().pod_i_ps[0].ip.as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn writes_kind_and_api_version_first() {
        let pod = Pod {
            metadata: Some(crate::api::meta::v1::ObjectMeta {
                name: Some("web".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let value = Object::Pod(Box::new(pod)).to_json_value().unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["kind", "apiVersion", "metadata"]);
        assert_eq!(value["metadata"]["name"], "web");
    }

    #[test]
    fn reads_null_lists_and_maps_as_empty() {
        let body =
            br#"{"kind":"Pod","apiVersion":"v1","metadata":{"finalizers":null,"labels":null}}"#;
        let Body::Object(Object::Pod(pod)) = decode(body).unwrap() else {
            panic!("not a pod");
        };
        let metadata = pod.metadata.unwrap();
        assert!(metadata.finalizers.is_empty() && metadata.labels.is_empty());
    }

    #[test]
    fn a_wrong_type_names_kind_and_field_path() {
        let body = br#"{"kind":"Pod","apiVersion":"v1","spec":{"containers":[{"name":"c","ports":[{"containerPort":"eighty"}]}]}}"#;
        let err = decode(body).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("v1 Pod: at spec.containers[0].ports[0].containerPort: invalid type"),
            "{text}"
        );
        assert!(text.contains("line 1 column"), "{text}");
    }

    #[test]
    fn names_unknown_kinds_and_missing_kind() {
        let err = decode(br#"{"kind":"Widget","apiVersion":"example.com/v1"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown kind \"example.com/v1\" \"Widget\": not a kind this build serves"
        );
        assert!(matches!(
            decode(br#"{"apiVersion":"v1"}"#),
            Err(JsonError::NoKind { .. })
        ));
        assert!(matches!(decode(b"k8s\0"), Err(JsonError::NotAnObject(_))));
    }

    #[test]
    fn secret_data_is_base64() {
        let body =
            br#"{"kind":"Secret","apiVersion":"v1","data":{"k":"aGVsbG8="},"type":"Opaque"}"#;
        let Body::Object(Object::Secret(secret)) = decode(body).unwrap() else {
            panic!("not a secret");
        };
        assert_eq!(secret.data.get("k").map(Vec::as_slice), Some(&b"hello"[..]));
        let value = Object::Secret(secret).to_json_value().unwrap();
        assert_eq!(value["data"]["k"], "aGVsbG8=");
        let bad = br#"{"kind":"Secret","apiVersion":"v1","data":{"k":"%%%"}}"#;
        let err = decode(bad).unwrap_err().to_string();
        assert!(
            err.contains("at data") && err.contains("invalid base64"),
            "{err}"
        );
    }

    #[test]
    fn decodes_a_watch_event_line() {
        let line = br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","code":410,"reason":"Expired"}}"#;
        let event = decode_watch_event(line).unwrap();
        assert_eq!(event.event_type, "ERROR");
        let Body::Status(status) = event.object else {
            panic!("not a status")
        };
        assert_eq!(status.code, Some(410));
        let err = decode_watch_event(br#"{"object":{}}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `type`"), "{err}");
    }
}
