//! Response decoding, dispatched on the response Content-Type (never on what was
//! asked for): protobuf through the envelope, JSON through `crate::api::json`.

use bytes::Bytes;
use thiserror::Error;

use crate::api::envelope::{self, Body, EnvelopeError, PROTOBUF_CONTENT_TYPE};
use crate::api::list_walk::{JsonListWalker, ListPiece, ProtobufListWalker, WalkError};
use crate::api::meta::v1::{ListMeta, PartialObjectMetadata};
use crate::api::table::{drop_last_applied, Columns, TableError};
use crate::api::View;
use crate::api::{Object, ResourceType};
use prost::Message;

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
    #[error("list body {0}")]
    Walk(#[from] WalkError),
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

/// A list response decoded as its bytes arrive: objects come out one at a time as
/// soon as their item is complete, so a list served in one response (a watch-cache
/// read, where the apiserver ignores `limit`) never costs its whole body or all its
/// objects at once. Table bodies (JSON only, small: one row of metadata per object)
/// are read whole, their shape being rows and columns rather than items.
#[derive(Debug)]
pub struct ListDecoder {
    /// What was asked for; `None` while a [discovering](Self::discovering) decoder
    /// has not seen the body's kind.
    resource: Option<&'static ResourceType>,
    /// The resource is taken from the body's kind (files of unknown content).
    discovering: bool,
    format: Format,
    walker: Walker,
    /// The list kind, once known (protobuf: before the items; JSON: wherever it is).
    kind: Option<(String, String)>,
    meta: ListMeta,
    /// Objects of a body decoded whole, not yet handed on.
    pending: std::collections::VecDeque<Object>,
    /// Items that came before the kind that says what they are (JSON written with
    /// `kind` last; only a discovering decoder has to wait for it).
    early: std::collections::VecDeque<Bytes>,
    items: usize,
}

#[derive(Debug)]
enum Walker {
    Protobuf(ProtobufListWalker),
    Json(JsonListWalker),
    Whole(bytes::BytesMut, bool),
}

/// A list body that failed: why, and the bytes a drift diagnosis reads (the failing
/// item in its own envelope; empty where there is nothing to diagnose).
#[derive(Debug)]
pub struct ListDecodeError {
    pub format: Format,
    pub source: DecodeError,
    pub bytes: Bytes,
}

impl ListDecoder {
    /// A decoder for a list of `resource` answered with `content_type`.
    pub fn new(
        resource: &'static ResourceType,
        content_type: &str,
    ) -> Result<ListDecoder, ListDecodeError> {
        let format = Format::of_content_type(content_type).ok_or_else(|| ListDecodeError {
            format: Format::Json,
            source: DecodeError::ContentType(content_type.to_string()),
            bytes: Bytes::new(),
        })?;
        let walker = match format {
            Format::Json if resource.view == View::Table => {
                Walker::Whole(Default::default(), false)
            }
            Format::Json => Walker::Json(JsonListWalker::default()),
            Format::Protobuf => Walker::Protobuf(ProtobufListWalker::default()),
        };
        Ok(ListDecoder::with(Some(resource), format, walker))
    }

    /// A decoder that learns the resource from the body's own kind (files read by
    /// `render`). A body that is no list (one object) comes out as its object;
    /// metadata-only lists, which name no kind, yield nothing.
    pub fn discovering(format: Format) -> ListDecoder {
        let walker = match format {
            Format::Json => Walker::Json(JsonListWalker::default()),
            Format::Protobuf => Walker::Protobuf(ProtobufListWalker::default()),
        };
        let mut decoder = ListDecoder::with(None, format, walker);
        decoder.discovering = true;
        decoder
    }

    fn with(
        resource: Option<&'static ResourceType>,
        format: Format,
        walker: Walker,
    ) -> ListDecoder {
        ListDecoder {
            resource,
            discovering: false,
            format,
            walker,
            kind: None,
            meta: ListMeta::default(),
            pending: Default::default(),
            early: Default::default(),
            items: 0,
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The resource of the list (for a discovering decoder: once its kind was seen).
    pub fn resource(&self) -> Option<&'static ResourceType> {
        self.resource
    }

    /// Whether the body turned out to be a list (JSON: it had `items`; protobuf: a
    /// list kind). Meaningful once the body is complete.
    pub fn is_list(&self) -> bool {
        let list_kind = self
            .kind
            .as_ref()
            .is_some_and(|(_, kind)| kind.ends_with("List"));
        match &self.walker {
            // A list with no items may leave `items` out.
            Walker::Json(walker) => walker.saw_items() || list_kind,
            _ => list_kind,
        }
    }

    /// Body bytes as they arrive.
    pub fn push(&mut self, chunk: &[u8]) {
        match &mut self.walker {
            Walker::Protobuf(walker) => walker.push(chunk),
            Walker::Json(walker) => walker.push(chunk),
            Walker::Whole(body, _) => body.extend_from_slice(chunk),
        }
    }

    /// The body is complete.
    pub fn end(&mut self) {
        match &mut self.walker {
            Walker::Protobuf(walker) => walker.end(),
            Walker::Json(walker) => walker.end(),
            Walker::Whole(_, ended) => *ended = true,
        }
    }

    /// Body bytes held right now (for tests and the memory budget).
    pub fn held(&self) -> usize {
        let early: usize = self.early.iter().map(Bytes::len).sum();
        early
            + match &self.walker {
                Walker::Protobuf(walker) => walker.held(),
                Walker::Json(walker) => walker.held(),
                Walker::Whole(body, _) => body.len(),
            }
    }

    /// The list's resourceVersion (complete once [`next_object`](Self::next_object)
    /// returned `None` after [`end`](Self::end)).
    pub fn resource_version(&self) -> &str {
        self.meta.resource_version.as_deref().unwrap_or_default()
    }

    pub fn continue_token(&self) -> Option<&str> {
        self.meta.r#continue.as_deref().filter(|c| !c.is_empty())
    }

    /// Items seen so far.
    pub fn items(&self) -> usize {
        self.items
    }

    fn failure(&self, source: DecodeError, bytes: Bytes) -> ListDecodeError {
        let bytes = match self.resource {
            Some(resource) => super::kept_for_diagnosis(resource, bytes),
            None => Bytes::new(),
        };
        ListDecodeError {
            format: self.format,
            source,
            bytes,
        }
    }

    /// The next object; `Ok(None)` when more bytes are needed, or at the end of a
    /// complete body after [`end`](Self::end).
    pub fn next_object(&mut self) -> Result<Option<Object>, ListDecodeError> {
        loop {
            if let Some(object) = self.pending.pop_front() {
                return Ok(Some(object));
            }
            if let Some(resource) = self.resource {
                if let Some(bytes) = self.early.pop_front() {
                    let mut object = self.decode_item(resource, bytes)?;
                    redact(&mut object);
                    return Ok(Some(object));
                }
            }
            let piece = match &mut self.walker {
                Walker::Protobuf(walker) => walker.next_piece(),
                Walker::Json(walker) => walker.next_piece(),
                Walker::Whole(body, ended) => {
                    if !*ended || body.is_empty() && self.items > 0 {
                        return Ok(None);
                    }
                    let bytes = std::mem::take(body).freeze();
                    self.items = 1;
                    let content_type = match self.format {
                        Format::Json => "application/json",
                        Format::Protobuf => PROTOBUF_CONTENT_TYPE,
                    };
                    let page = decode_body(content_type, bytes.clone())
                        .and_then(|body| self.page_of(body))
                        .map_err(|source| self.failure(source, bytes))?;
                    self.take_page(page);
                    continue;
                }
            };
            let piece =
                piece.map_err(|walk| self.failure(DecodeError::Walk(walk), Bytes::new()))?;
            match piece {
                None => return self.at_rest(),
                Some(ListPiece::Kind { api_version, kind }) => {
                    self.check_kind(&api_version, &kind)?;
                    self.kind = Some((api_version, kind));
                }
                Some(ListPiece::Meta(meta)) => self.meta = meta,
                Some(ListPiece::Item(bytes)) => {
                    self.items += 1;
                    let Some(resource) = self.resource else {
                        // Kept only until a kind says what they are; a metadata-only
                        // list names none (nothing to render).
                        if self.kind.is_none() {
                            self.early.push_back(bytes);
                        }
                        continue;
                    };
                    let mut object = self.decode_item(resource, bytes)?;
                    redact(&mut object);
                    return Ok(Some(object));
                }
                Some(ListPiece::Whole(envelope)) => {
                    let page = envelope
                        .decode()
                        .map_err(DecodeError::Envelope)
                        .and_then(|body| self.page_of(body))
                        .map_err(|source| self.failure(source, Bytes::new()))?;
                    self.take_page(page);
                }
            }
        }
    }

    /// Nothing to hand on: need more bytes, or the body is done (and whole).
    fn at_rest(&self) -> Result<Option<Object>, ListDecodeError> {
        let Walker::Json(walker) = &self.walker else {
            return Ok(None);
        };
        if !walker.is_done() {
            return Ok(None);
        }
        if !self.early.is_empty() {
            return Err(self.failure(
                DecodeError::Json("a list whose kind names no resource of this build".into()),
                Bytes::new(),
            ));
        }
        // A discovering decoder reports a document without items as "no list" to
        // its caller (`is_list`), which reads it as one object.
        if !self.is_list() && !self.discovering {
            return Err(self.failure(
                DecodeError::Unexpected {
                    expected: self.resource.map_or("a list", |r| r.list_kind),
                    got: self.describe_kind(),
                },
                Bytes::new(),
            ));
        }
        Ok(None)
    }

    /// A body decoded whole, as the page of this decoder's resource (or, discovering,
    /// of whatever it is).
    fn page_of(&self, body: Body) -> Result<Page, DecodeError> {
        match self.resource {
            Some(resource) => page_from_body(resource, body),
            None => Ok(match body {
                Body::Object(mut object) => {
                    redact(&mut object);
                    Page {
                        objects: vec![object],
                        ..Page::default()
                    }
                }
                Body::List(list) => {
                    let meta = list.list_meta().cloned().unwrap_or_default();
                    let mut objects = list.into_items();
                    objects.iter_mut().for_each(redact);
                    Page {
                        objects,
                        resource_version: meta.resource_version.unwrap_or_default(),
                        continue_token: meta.r#continue.filter(|c| !c.is_empty()),
                    }
                }
                // These name no kind: nothing says which resource their objects are.
                _ => Page::default(),
            }),
        }
    }

    fn take_page(&mut self, page: Page) {
        self.meta.resource_version = Some(page.resource_version);
        self.meta.r#continue = page.continue_token;
        self.pending.extend(page.objects);
    }

    fn describe_kind(&self) -> String {
        match &self.kind {
            Some((api_version, kind)) if !kind.is_empty() => format!("a {api_version} {kind}"),
            _ => "a document without items".to_string(),
        }
    }

    /// A list of something else than what was asked for is refused before its
    /// items; a discovering decoder takes its resource from the kind.
    fn check_kind(&mut self, api_version: &str, kind: &str) -> Result<(), ListDecodeError> {
        let metadata_list = api_version == crate::api::json::META_API_VERSION
            && kind == "PartialObjectMetadataList";
        if self.discovering {
            if self.resource.is_none() && !metadata_list {
                if let Some(item_kind) = kind.strip_suffix("List") {
                    self.resource = ResourceType::by_kind(api_version, item_kind);
                    if self.resource.is_none() {
                        return Err(self.failure(
                            DecodeError::Unexpected {
                                expected: "a list of a kind this build serves",
                                got: format!("a {api_version} {kind}"),
                            },
                            Bytes::new(),
                        ));
                    }
                }
            }
            if metadata_list {
                self.early.clear();
            }
            return Ok(());
        }
        let Some(resource) = self.resource else {
            return Ok(());
        };
        let ours = (api_version == resource.api_version && kind == resource.list_kind)
            || metadata_list
            // JSON lists may omit apiVersion/kind.
            || (self.format == Format::Json && kind.is_empty());
        if ours {
            return Ok(());
        }
        Err(self.failure(
            DecodeError::Unexpected {
                expected: resource.list_kind,
                got: format!("a {api_version} {kind}"),
            },
            Bytes::new(),
        ))
    }

    fn metadata_items(&self) -> bool {
        match &self.kind {
            Some((_, kind)) if !kind.is_empty() => kind == "PartialObjectMetadataList",
            // JSON whose kind comes later: what was asked for.
            _ => self.resource.is_some_and(|r| r.metadata_only()),
        }
    }

    fn decode_item(
        &self,
        resource: &'static ResourceType,
        bytes: Bytes,
    ) -> Result<Object, ListDecodeError> {
        let metadata_items = self.metadata_items();
        match self.format {
            Format::Protobuf if metadata_items => PartialObjectMetadata::decode(bytes.clone())
                .map(|item| Object::from_metadata(resource, item.metadata.unwrap_or_default()))
                .map_err(|source| {
                    self.failure(
                        DecodeError::Envelope(EnvelopeError::Object {
                            api_version: crate::api::json::META_API_VERSION.to_string(),
                            kind: "PartialObjectMetadata".to_string(),
                            source,
                        }),
                        Bytes::new(),
                    )
                }),
            Format::Protobuf => {
                let Some(decoded) =
                    Object::decode_proto(resource.api_version, resource.kind, bytes.clone())
                else {
                    return Err(self.failure(
                        DecodeError::Unexpected {
                            expected: resource.kind,
                            got: "a kind without a protobuf decoder in this build".to_string(),
                        },
                        Bytes::new(),
                    ));
                };
                decoded.map_err(|source| {
                    // Diagnosis reads the failing item in its own envelope, as a
                    // watch event's object would arrive.
                    let sealed = envelope::seal(resource.api_version, resource.kind, bytes);
                    self.failure(
                        DecodeError::Envelope(EnvelopeError::Object {
                            api_version: resource.api_version.to_string(),
                            kind: resource.kind.to_string(),
                            source,
                        }),
                        Bytes::from(sealed),
                    )
                })
            }
            Format::Json => {
                let index = self.items.saturating_sub(1 + self.early.len());
                let decoded = if metadata_items {
                    crate::api::json::parse::<PartialObjectMetadata>(&bytes).map(|item| {
                        Object::from_metadata(resource, item.metadata.unwrap_or_default())
                    })
                } else {
                    match Object::from_json(resource.api_version, resource.kind, &bytes) {
                        Some(decoded) => decoded,
                        None => {
                            return Err(self.failure(
                                DecodeError::Json(format!(
                                    "{} {} has no JSON decoder in this build",
                                    resource.api_version, resource.kind
                                )),
                                Bytes::new(),
                            ))
                        }
                    }
                };
                decoded.map_err(|error| {
                    self.failure(
                        DecodeError::Json(format!(
                            "{} {}: at items[{index}].{}: {}",
                            resource.api_version, resource.kind, error.path, error.source
                        )),
                        Bytes::new(),
                    )
                })
            }
        }
    }
}

#[cfg(test)]
mod list_decoder_tests {
    //! The incremental list decoder against whole-body decode: for any list and any
    //! split of its body into chunks, the same objects, resourceVersion and continue
    //! token; for garbage, an error with a byte offset and never a panic.

    use super::*;
    use crate::api::core::v1::{Pod, PodList};
    use crate::api::ObjectList;
    use proptest::collection::vec;
    use proptest::prelude::*;

    type Decoded = (Vec<Object>, String, Option<String>);

    fn pods() -> &'static ResourceType {
        ResourceType::by_plural("pods").expect("pods are served")
    }

    /// Feeds `body` cut at `cuts` (positions, any order, clamped), collecting all.
    fn walk(content_type: &str, body: &[u8], cuts: &[usize]) -> Result<Decoded, ListDecodeError> {
        let mut decoder = ListDecoder::new(pods(), content_type)?;
        let mut positions: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        positions.push(body.len());
        positions.sort_unstable();
        let mut objects = Vec::new();
        let mut from = 0;
        for to in positions {
            decoder.push(&body[from..to]);
            from = to;
            while let Some(object) = decoder.next_object()? {
                objects.push(object);
            }
        }
        decoder.end();
        while let Some(object) = decoder.next_object()? {
            objects.push(object);
        }
        Ok((
            objects,
            decoder.resource_version().to_string(),
            decoder.continue_token().map(str::to_string),
        ))
    }

    fn whole(content_type: &str, body: &[u8]) -> Decoded {
        let page = decode_body(content_type, Bytes::copy_from_slice(body))
            .and_then(|body| page_from_body(pods(), body))
            .expect("whole-body decode");
        (page.objects, page.resource_version, page.continue_token)
    }

    fn list_meta(rv: u32, token: &Option<String>) -> ListMeta {
        ListMeta {
            resource_version: Some(rv.to_string()),
            r#continue: token.clone(),
            ..Default::default()
        }
    }

    /// The list message with ListMeta before or after the items and an unknown
    /// varint and length-delimited field in between, as a newer server might send.
    fn protobuf_body(items: &[Pod], meta: &ListMeta, meta_last: bool, unknown: bool) -> Vec<u8> {
        let mut raw = Vec::new();
        let meta_field = |raw: &mut Vec<u8>| {
            prost::encoding::message::encode(1, meta, raw);
        };
        if !meta_last {
            meta_field(&mut raw);
        }
        for item in items {
            prost::encoding::message::encode(2, item, &mut raw);
            if unknown {
                prost::encoding::uint64::encode(9, &300, &mut raw);
                prost::encoding::string::encode(10, &"future".to_string(), &mut raw);
            }
        }
        if meta_last {
            meta_field(&mut raw);
        }
        envelope::seal("v1", "PodList", Bytes::from(raw))
    }

    fn json_body(items: &[Pod], meta: &ListMeta, pretty: bool) -> Vec<u8> {
        let list = ObjectList::Pod(PodList {
            metadata: Some(meta.clone()),
            items: items.to_vec(),
        });
        let value = list.to_json_value().expect("serializes");
        if pretty {
            serde_json::to_vec_pretty(&value).expect("prints")
        } else {
            serde_json::to_vec(&value).expect("prints")
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn protobuf_chunks_decode_like_the_whole_body(
            items in vec(crate::api::json::roundtrip_tests::pod(), 0..5),
            rv in 0u32..1_000_000,
            token in proptest::option::of("[a-z0-9]{1,8}"),
            meta_last: bool,
            unknown: bool,
            cuts in vec(any::<usize>(), 0..12),
        ) {
            let body = protobuf_body(&items, &list_meta(rv, &token), meta_last, unknown);
            let expected = whole(PROTOBUF_CONTENT_TYPE, &body);
            let walked = walk(PROTOBUF_CONTENT_TYPE, &body, &cuts).expect("walks");
            prop_assert_eq!(walked, expected);
        }

        #[test]
        fn json_chunks_decode_like_the_whole_body(
            items in vec(crate::api::json::roundtrip_tests::pod(), 0..5),
            rv in 0u32..1_000_000,
            token in proptest::option::of("[a-z0-9]{1,8}"),
            pretty: bool,
            cuts in vec(any::<usize>(), 0..12),
        ) {
            let body = json_body(&items, &list_meta(rv, &token), pretty);
            let expected = whole("application/json", &body);
            let walked = walk("application/json", &body, &cuts).expect("walks");
            prop_assert_eq!(walked, expected);
        }

        #[test]
        fn damaged_bodies_fail_with_a_position_and_never_panic(
            items in vec(crate::api::json::roundtrip_tests::pod(), 1..3),
            json: bool,
            flips in vec((any::<usize>(), any::<u8>()), 1..6),
            truncate in proptest::option::of(any::<usize>()),
            cuts in vec(any::<usize>(), 0..6),
        ) {
            let meta = list_meta(7, &None);
            let mut body = if json { json_body(&items, &meta, false) } else { protobuf_body(&items, &meta, false, false) };
            for (at, byte) in flips {
                let at = at % body.len();
                body[at] = byte;
            }
            if let Some(len) = truncate {
                body.truncate(len % (body.len() + 1));
            }
            let content_type = if json { "application/json" } else { PROTOBUF_CONTENT_TYPE };
            // Either it still decodes (a flip in a string) or it fails saying where.
            if let Err(error) = walk(content_type, &body, &cuts) {
                let text = error.source.to_string();
                prop_assert!(!text.is_empty());
                if let DecodeError::Walk(walk) = &error.source {
                    prop_assert!(walk.at <= body.len() as u64, "{} past {}", walk.at, body.len());
                }
            }
        }
    }

    #[test]
    fn garbage_names_the_byte_where_it_went_wrong() {
        let error = walk(
            PROTOBUF_CONTENT_TYPE,
            b"k8s\0\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
            &[3],
        )
        .expect_err("garbage");
        assert!(
            matches!(error.source, DecodeError::Walk(WalkError { at: 5, .. })),
            "{error:?}"
        );
        let error = walk(
            "application/json",
            br#"{"items": [{"a": 1} {"b": 2}]}"#,
            &[5, 17],
        )
        .expect_err("garbage");
        assert_eq!(
            error.source.to_string(),
            "list body at byte 20: expected ',' or ']' after an item, found '{'"
        );
    }

    #[test]
    fn a_list_of_another_kind_is_refused_before_its_items() {
        let body = envelope::seal("v1", "NodeList", Bytes::new());
        let error = walk(PROTOBUF_CONTENT_TYPE, &body, &[]).expect_err("a NodeList for pods");
        assert_eq!(
            error.source.to_string(),
            "expected PodList, got a v1 NodeList"
        );
        let error = walk(
            "application/json",
            br#"{"kind":"Status","apiVersion":"v1","code":500}"#,
            &[],
        )
        .expect_err("a Status");
        assert!(
            error.source.to_string().contains("got a v1 Status"),
            "{}",
            error.source
        );
    }

    #[test]
    fn a_failing_item_is_kept_in_its_own_envelope_for_diagnosis() {
        // Field 1 (metadata) of the Pod with a varint where a message belongs.
        let mut raw = Vec::new();
        prost::encoding::bytes::encode(2, &Bytes::from_static(&[0x08, 0x01]), &mut raw);
        let body = envelope::seal("v1", "PodList", Bytes::from(raw));
        let error = walk(PROTOBUF_CONTENT_TYPE, &body, &[9]).expect_err("bad item");
        assert!(error.source.is_schema_mismatch(), "{:?}", error.source);
        let kept = envelope::open(error.bytes).expect("an envelope");
        assert_eq!(
            (kept.api_version.as_str(), kept.kind.as_str()),
            ("v1", "Pod")
        );
        assert_eq!(&kept.raw[..], &[0x08, 0x01]);
    }

    #[test]
    fn only_the_current_item_is_held() {
        let pod = |name: &str| Pod {
            metadata: Some(crate::api::meta::v1::ObjectMeta {
                name: Some(name.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let items: Vec<Pod> = (0..2000).map(|i| pod(&format!("pod-{i:05}"))).collect();
        let body = protobuf_body(&items, &list_meta(1, &None), false, false);
        let mut decoder = ListDecoder::new(pods(), PROTOBUF_CONTENT_TYPE).expect("decoder");
        let mut most_held = 0;
        let mut objects = 0;
        for chunk in body.chunks(1000) {
            decoder.push(chunk);
            while decoder.next_object().expect("decodes").is_some() {
                objects += 1;
            }
            most_held = most_held.max(decoder.held());
        }
        decoder.end();
        while decoder.next_object().expect("decodes").is_some() {
            objects += 1;
        }
        assert_eq!(objects, 2000);
        assert!(
            most_held < 1100,
            "held {most_held} of a {} byte body",
            body.len()
        );
    }
}
