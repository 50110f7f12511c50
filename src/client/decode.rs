//! Response decoding, dispatched on the response Content-Type (never on what was
//! asked for): protobuf through the envelope, JSON through `crate::api::json`.

use bytes::Bytes;
use thiserror::Error;

use crate::api::envelope::{self, Body, EnvelopeError, PROTOBUF_CONTENT_TYPE};
use crate::api::table::{drop_last_applied, Columns, TableError};
use crate::api::{Object, ResourceType};

/// The two encodings the apiserver speaks to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Protobuf,
    Json,
}

impl Format {
    /// Which format a response Content-Type names.
    pub fn of_content_type(content_type: &str) -> Option<Format> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            PROTOBUF_CONTENT_TYPE => Some(Format::Protobuf),
            "application/json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Protobuf => "protobuf",
            Format::Json => "json",
        }
    }
}

#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("protobuf body: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("JSON body: {0}")]
    Json(String),
    #[error("watch event frame does not decode: {0}")]
    WatchEvent(String),
    #[error("response Content-Type {0:?} is neither protobuf nor JSON")]
    ContentType(String),
    #[error("expected {expected}, got {got}")]
    Unexpected { expected: &'static str, got: String },
    #[error("Table body: {0}")]
    Table(#[from] TableError),
}

impl DecodeError {
    /// True when the envelope was fine but the object in it did not match our schema:
    /// the signature of schema drift (a vendor field on a tag we use differently), as
    /// opposed to a damaged stream.
    pub fn is_schema_mismatch(&self) -> bool {
        matches!(self, DecodeError::Envelope(EnvelopeError::Object { .. }))
    }
}

/// Decodes a whole (non-watch) body according to its Content-Type.
pub fn decode_body(content_type: &str, body: Bytes) -> Result<Body, DecodeError> {
    match Format::of_content_type(content_type) {
        Some(Format::Protobuf) => Ok(envelope::decode(body)?),
        Some(Format::Json) => decode_json(&body),
        None => Err(DecodeError::ContentType(content_type.to_string())),
    }
}

/// JSON bodies go through `crate::api::json` (Kubernetes JSON on the generated types).
pub fn decode_json(body: &[u8]) -> Result<Body, DecodeError> {
    crate::api::json::decode(body).map_err(|e| DecodeError::Json(e.to_string()))
}

/// A decoded list page: its objects, resourceVersion and continue token.
#[derive(Debug, Default)]
pub struct Page {
    pub objects: Vec<Object>,
    pub resource_version: String,
    pub continue_token: Option<String>,
}

/// Interprets a decoded list body for `resource`.
pub fn page_from_body(resource: &'static ResourceType, body: Body) -> Result<Page, DecodeError> {
    let mut page = page_objects(resource, body)?;
    page.objects.iter_mut().for_each(redact);
    Ok(page)
}

fn page_objects(resource: &'static ResourceType, body: Body) -> Result<Page, DecodeError> {
    match body {
        Body::Table(table) => {
            let meta = table.metadata.clone();
            let objects = table
                .into_objects(resource, &mut Columns::default())
                .map_err(DecodeError::Table)?;
            Ok(Page {
                objects,
                resource_version: meta.resource_version.unwrap_or_default(),
                continue_token: meta.r#continue.filter(|c| !c.is_empty()),
            })
        }
        Body::List(list) => {
            let meta = list.list_meta().cloned().unwrap_or_default();
            let objects = list.into_items();
            if let Some(other) = objects.iter().find(|o| o.resource() != resource) {
                return Err(DecodeError::Unexpected {
                    expected: resource.list_kind,
                    got: format!("a list of {}", other.resource().kind),
                });
            }
            Ok(Page {
                objects,
                resource_version: meta.resource_version.unwrap_or_default(),
                continue_token: meta.r#continue.filter(|c| !c.is_empty()),
            })
        }
        Body::PartialObjectMetadataList(list) => {
            let meta = list.metadata.unwrap_or_default();
            let objects = list
                .items
                .into_iter()
                .map(|item| Object::from_metadata(resource, item.metadata.unwrap_or_default()))
                .collect();
            Ok(Page {
                objects,
                resource_version: meta.resource_version.unwrap_or_default(),
                continue_token: meta.r#continue.filter(|c| !c.is_empty()),
            })
        }
        other => Err(DecodeError::Unexpected {
            expected: resource.list_kind,
            got: describe(&other),
        }),
    }
}

/// Interprets a decoded watch object for `resource`; `columns` carries a Table
/// stream's column names from its first event to the next.
pub fn object_from_body(
    resource: &'static ResourceType,
    body: Body,
    columns: &mut Columns,
) -> Result<Object, DecodeError> {
    let mut object = match body {
        Body::Object(object) if object.resource() == resource => object,
        Body::PartialObjectMetadata(partial) => {
            Object::from_metadata(resource, partial.metadata.unwrap_or_default())
        }
        Body::Table(table) => {
            let mut objects = table
                .into_objects(resource, columns)
                .map_err(DecodeError::Table)?;
            if objects.len() != 1 {
                return Err(DecodeError::Unexpected {
                    expected: resource.kind,
                    got: format!("a Table of {} rows in a watch event", objects.len()),
                });
            }
            objects.remove(0)
        }
        other => {
            return Err(DecodeError::Unexpected {
                expected: resource.kind,
                got: describe(&other),
            })
        }
    };
    redact(&mut object);
    Ok(object)
}

/// Drops what must never reach the store, the logs or the output, whatever was
/// asked for: a Secret's values, and the `kubectl apply` annotation that copies them.
fn redact(object: &mut Object) {
    if let Object::Secret(secret) = object {
        secret.data.clear();
        secret.string_data.clear();
        if let Some(metadata) = secret.metadata.as_mut() {
            drop_last_applied(metadata);
        }
    }
}

fn describe(body: &Body) -> String {
    match body {
        Body::Object(object) => format!("a {}", object.resource().kind),
        Body::List(list) => format!("a {}", list.resource().list_kind),
        Body::PartialObjectMetadata(_) => "a PartialObjectMetadata".to_string(),
        Body::PartialObjectMetadataList(_) => "a PartialObjectMetadataList".to_string(),
        Body::Status(status) => format!(
            "a Status ({} {})",
            status.code.unwrap_or_default(),
            status.reason.clone().unwrap_or_default()
        ),
        Body::Table(_) => "a Table".to_string(),
    }
}
