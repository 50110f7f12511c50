//! The apiserver's protobuf envelope: `k8s\0` followed by a `runtime.Unknown` whose
//! `typeMeta` names the object and whose `raw` holds its bytes. Dispatch is on
//! `typeMeta`, never on what the caller expected.

use bytes::Bytes;
use prost::Message;
use thiserror::Error;

use super::meta::v1::{PartialObjectMetadata, PartialObjectMetadataList, Status};
use super::runtime::Unknown;
use super::{Object, ObjectList};

/// The four bytes every protobuf body of the apiserver starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Media type of the apiserver's protobuf encoding.
pub const PROTOBUF_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// What a protobuf body turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Object(Object),
    List(ObjectList),
    /// `meta.k8s.io/v1 PartialObjectMetadata` (metadata-only watch events).
    PartialObjectMetadata(PartialObjectMetadata),
    /// `meta.k8s.io/v1 PartialObjectMetadataList` (metadata-only lists).
    PartialObjectMetadataList(PartialObjectMetadataList),
    /// An error answer (`v1 Status` or `meta.k8s.io/v1 Status`).
    Status(Status),
    /// `meta.k8s.io/v1 Table` (JSON only: kinds listed with `view = "table"`).
    Table(super::table::Table),
}

#[derive(Debug, Error)]
pub enum EnvelopeError {
    #[error("body of {len} bytes is too short for the protobuf envelope")]
    Truncated { len: usize },
    #[error(
        "not a Kubernetes protobuf body: starts with {}, expected 6b 38 73 00 (\"k8s\\0\")",
        hex(found)
    )]
    BadMagic { found: [u8; 4] },
    #[error("envelope (runtime.Unknown) does not decode: {0}")]
    Unknown(#[source] prost::DecodeError),
    #[error("envelope has no typeMeta: cannot tell which kind it carries")]
    NoTypeMeta,
    #[error("envelope carries contentEncoding {0:?}, which is not supported")]
    ContentEncoding(String),
    #[error("envelope carries contentType {0:?}; only protobuf is expected inside it")]
    ContentType(String),
    #[error("unknown kind {api_version:?} {kind:?}: not a kind this build serves")]
    UnknownKind { api_version: String, kind: String },
    #[error("{api_version} {kind}: {source}")]
    Object {
        api_version: String,
        kind: String,
        #[source]
        source: prost::DecodeError,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The parts of an envelope, with `raw` still undecoded (a view into the body).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub api_version: String,
    pub kind: String,
    pub raw: Bytes,
}

/// Strips `k8s\0` and decodes the `runtime.Unknown`.
pub fn open(body: Bytes) -> Result<Envelope, EnvelopeError> {
    if body.len() < MAGIC.len() {
        return Err(EnvelopeError::Truncated { len: body.len() });
    }
    if &body[..4] != MAGIC {
        let mut found = [0u8; 4];
        found.copy_from_slice(&body[..4]);
        return Err(EnvelopeError::BadMagic { found });
    }
    let unknown = Unknown::decode(body.slice(4..)).map_err(EnvelopeError::Unknown)?;
    match unknown.content_encoding.as_deref() {
        None | Some("") => {}
        Some(other) => return Err(EnvelopeError::ContentEncoding(other.to_string())),
    }
    match unknown.content_type.as_deref() {
        None | Some("") | Some(PROTOBUF_CONTENT_TYPE) => {}
        Some(other) => return Err(EnvelopeError::ContentType(other.to_string())),
    }
    let type_meta = unknown.type_meta.ok_or(EnvelopeError::NoTypeMeta)?;
    Ok(Envelope {
        api_version: type_meta.api_version.unwrap_or_default(),
        kind: type_meta.kind.unwrap_or_default(),
        raw: unknown.raw.unwrap_or_default(),
    })
}

/// Decodes a whole protobuf body (object, list, metadata-only list or Status).
pub fn decode(body: Bytes) -> Result<Body, EnvelopeError> {
    open(body)?.decode()
}

impl Envelope {
    pub fn decode(self) -> Result<Body, EnvelopeError> {
        let Envelope {
            api_version,
            kind,
            raw,
        } = self;
        let wrap = |source| EnvelopeError::Object {
            api_version: api_version.clone(),
            kind: kind.clone(),
            source,
        };
        let decoded = match (api_version.as_str(), kind.as_str()) {
            ("v1" | "meta.k8s.io/v1", "Status") => {
                Status::decode(raw.clone()).map(Body::Status).map_err(wrap)
            }
            ("meta.k8s.io/v1", "PartialObjectMetadata") => {
                PartialObjectMetadata::decode(raw.clone())
                    .map(Body::PartialObjectMetadata)
                    .map_err(wrap)
            }
            ("meta.k8s.io/v1", "PartialObjectMetadataList") => {
                PartialObjectMetadataList::decode(raw.clone())
                    .map(Body::PartialObjectMetadataList)
                    .map_err(wrap)
            }
            (version, name) => {
                if let Some(result) = Object::decode_proto(version, name, raw.clone()) {
                    result.map(Body::Object).map_err(wrap)
                } else if let Some(result) = ObjectList::decode_proto(version, name, raw.clone()) {
                    result.map(Body::List).map_err(wrap)
                } else {
                    Err(EnvelopeError::UnknownKind {
                        api_version: api_version.clone(),
                        kind: kind.clone(),
                    })
                }
            }
        };
        decoded
    }
}

/// Wraps an encoded object in the envelope, as the apiserver would.
pub fn seal(api_version: &str, kind: &str, raw: Bytes) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(super::runtime::TypeMeta {
            api_version: Some(api_version.to_string()),
            kind: Some(kind.to_string()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = Vec::with_capacity(MAGIC.len() + unknown.encoded_len());
    out.extend_from_slice(MAGIC);
    unknown
        .encode(&mut out)
        .expect("a Vec grows as needed, so encoding cannot run out of space");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_json_body_with_the_bytes_it_saw() {
        let err = decode(Bytes::from_static(b"{\"kind\":\"Pod\"}")).unwrap_err();
        assert!(matches!(err, EnvelopeError::BadMagic { found } if &found == b"{\"ki"));
        assert!(err.to_string().contains("7b 22 6b 69"), "{err}");
    }

    #[test]
    fn rejects_a_short_body() {
        let err = decode(Bytes::from_static(b"k8")).unwrap_err();
        assert!(matches!(err, EnvelopeError::Truncated { len: 2 }));
    }

    #[test]
    fn names_an_unknown_kind() {
        let body = seal("example.com/v1", "Widget", Bytes::new());
        let err = decode(Bytes::from(body)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown kind \"example.com/v1\" \"Widget\": not a kind this build serves"
        );
    }

    #[test]
    fn seal_then_decode_gives_back_the_object() {
        let node = crate::api::core::v1::Node {
            metadata: Some(crate::api::meta::v1::ObjectMeta {
                name: Some("node-1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = seal("v1", "Node", Bytes::from(node.encode_to_vec()));
        let decoded = decode(Bytes::from(body)).unwrap();
        assert_eq!(decoded, Body::Object(Object::Node(Box::new(node))));
    }
}
