//! One watch request: `watch=1&resourceVersion=RV&allowWatchBookmarks=true&timeoutSeconds=N`,
//! read frame by frame with a client-side deadline (server timeout + slack) that
//! catches connections that died without closing.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use prost::Message;
use serde::Deserialize;
use tokio::time::Instant;

use crate::api::envelope::{self, Body};
use crate::api::meta::v1::WatchEvent as RawWatchEvent;
use crate::api::{Object, ResourceType};

use super::decode::{decode_json, object_from_body, DecodeError, Format};
use super::frame::{FrameDecoder, DEFAULT_MAX_FRAME};
use super::request::{accept, view_query, with_query, Target};
use super::status::{status_from_json, ApiError};
use super::{ApiClient, ClientError};
use crate::api::table::Columns;

/// The annotation a bookmark carries at the end of a streaming list's initial events.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// `timeoutSeconds`: the server ends the watch cleanly after this.
    pub timeout: Duration,
    /// Extra time past `timeout` before the client gives up on a silent stream.
    pub slack: Duration,
    pub max_frame: usize,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            timeout: Duration::from_secs(300),
            slack: Duration::from_secs(30),
            max_frame: DEFAULT_MAX_FRAME,
        }
    }
}

/// One decoded watch event.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    Added(Object),
    Modified(Object),
    Deleted(Object),
    Bookmark {
        resource_version: String,
        initial_events_end: bool,
    },
    /// In-band ERROR (a 410 here means: relist).
    Error(ApiError),
}

impl WatchEvent {
    /// The resourceVersion this event moves the watch to.
    pub fn resource_version(&self) -> Option<&str> {
        match self {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
                o.metadata().and_then(|m| m.resource_version.as_deref())
            }
            WatchEvent::Bookmark {
                resource_version, ..
            } => Some(resource_version),
            WatchEvent::Error(_) => None,
        }
    }
}

/// An open watch.
pub struct WatchStream {
    resource: &'static ResourceType,
    format: Format,
    body: kube::client::Body,
    frames: FrameDecoder,
    /// Column names of a Table watch, sent with its first event only.
    columns: Columns,
    deadline: Instant,
    budget: Duration,
    /// Longest silence between body chunks, and what to call the stream when it
    /// stalls (a streaming list's initial events; an ordinary watch may be quiet).
    stall: Option<(Duration, &'static str)>,
    /// Body bytes and events so far (what a stall error reports).
    received: u64,
    events: usize,
    ended: bool,
}

/// Opens a watch from `resource_version`.
pub async fn start_watch(
    client: &ApiClient,
    target: &Target,
    preferred: Format,
    resource_version: &str,
    options: &WatchOptions,
) -> Result<WatchStream, ClientError> {
    let timeout = options.timeout.as_secs().max(1).to_string();
    let mut query = vec![
        ("watch", "1"),
        ("resourceVersion", resource_version),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", &timeout),
    ];
    query.extend_from_slice(view_query(target.resource));
    query.extend(target.selector_query());
    let url = with_query(&target.collection_path(), &query);
    open_watch(client, target, preferred, &url, options).await
}

/// Opens a streaming list: a watch that first sends every current object as ADDED,
/// then a BOOKMARK annotated `k8s.io/initial-events-end` (the WatchList feature).
pub async fn start_streaming_list(
    client: &ApiClient,
    target: &Target,
    preferred: Format,
    options: &WatchOptions,
) -> Result<WatchStream, ClientError> {
    let timeout = options.timeout.as_secs().max(1).to_string();
    let mut query = vec![
        ("watch", "1"),
        ("sendInitialEvents", "true"),
        ("resourceVersionMatch", "NotOlderThan"),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", &timeout),
    ];
    query.extend_from_slice(view_query(target.resource));
    query.extend(target.selector_query());
    let url = with_query(&target.collection_path(), &query);
    open_watch(client, target, preferred, &url, options).await
}

async fn open_watch(
    client: &ApiClient,
    target: &Target,
    preferred: Format,
    url: &str,
    options: &WatchOptions,
) -> Result<WatchStream, ClientError> {
    let budget = options.timeout + options.slack;
    let deadline = Instant::now() + budget;
    let response = tokio::time::timeout_at(
        deadline,
        client.get(url, &accept(target.resource, preferred, true)),
    )
    .await
    .map_err(|_| ClientError::IdleTimeout(budget))??;
    let format =
        Format::of_content_type(&response.content_type).ok_or_else(|| ClientError::Decode {
            format: "unknown",
            source: DecodeError::ContentType(response.content_type.clone()),
            bytes: Bytes::new(),
        })?;
    Ok(WatchStream {
        resource: target.resource,
        format,
        body: response.body,
        frames: FrameDecoder::new(format, options.max_frame),
        columns: Columns::default(),
        deadline,
        budget,
        stall: None,
        received: 0,
        events: 0,
        ended: false,
    })
}

impl WatchStream {
    pub fn format(&self) -> Format {
        self.format
    }

    /// Abandon the stream when its body sends nothing for `after` (until the
    /// overall deadline, which still applies).
    pub fn set_stall_timeout(&mut self, after: Duration, what: &'static str) {
        self.stall = Some((after, what));
    }

    /// The next event; `Ok(None)` at a clean end of stream.
    pub async fn next(&mut self) -> Result<Option<WatchEvent>, ClientError> {
        loop {
            if let Some(frame) = self.frames.next_frame()? {
                self.events += 1;
                return self.decode(frame).map(Some);
            }
            if self.ended {
                self.frames.finish()?;
                return Ok(None);
            }
            let stall_deadline = self
                .stall
                .map(|(after, what)| (Instant::now() + after, after, what));
            let deadline = match stall_deadline {
                Some((at, _, _)) if at < self.deadline => at,
                _ => self.deadline,
            };
            let next = match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Ok(next) => next,
                Err(_) => {
                    return Err(match stall_deadline {
                        Some((at, after, what)) if at <= self.deadline => ClientError::Stalled {
                            what,
                            after,
                            received: self.received,
                            objects: self.events,
                        },
                        _ => ClientError::IdleTimeout(self.budget),
                    })
                }
            };
            match next {
                None => self.ended = true,
                Some(Err(error)) => return Err(ClientError::Body(error.to_string())),
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        self.received += data.len() as u64;
                        self.frames.push(data);
                    }
                }
            }
        }
    }

    fn decode(&mut self, frame: Bytes) -> Result<WatchEvent, ClientError> {
        let (format, resource) = (self.format, self.resource);
        decode_event_frame(resource, format, &frame, &mut self.columns).map_err(
            |(source, bytes)| ClientError::Decode {
                format: format.label(),
                source,
                bytes: super::kept_for_diagnosis(resource, bytes.unwrap_or(frame.clone())),
            },
        )
    }
}

type EventResult = Result<WatchEvent, (DecodeError, Option<Bytes>)>;

/// Decodes one watch frame (as [`FrameDecoder`](super::frame::FrameDecoder) splits
/// them) of `resource` in `format`; `columns` is the stream's Table state (the
/// column names come with a Table watch's first event only). On failure, the bytes
/// to diagnose, when they are not the frame itself (a protobuf event's object
/// envelope).
pub fn decode_event_frame(
    resource: &'static ResourceType,
    format: Format,
    frame: &Bytes,
    columns: &mut Columns,
) -> EventResult {
    match format {
        Format::Protobuf => decode_protobuf_event(resource, frame, columns),
        Format::Json => decode_json_event(resource, frame, columns),
    }
}

fn decode_protobuf_event(
    resource: &'static ResourceType,
    frame: &Bytes,
    columns: &mut Columns,
) -> EventResult {
    let event = RawWatchEvent::decode(frame.clone())
        .map_err(|e| (DecodeError::WatchEvent(e.to_string()), None))?;
    let kind = event.r#type.unwrap_or_default();
    let raw = event.object.and_then(|o| o.raw).unwrap_or_default();
    // On failure, hand back the object's own envelope: that is what diagnosis reads.
    let body =
        envelope::decode(raw.clone()).map_err(|e| (DecodeError::Envelope(e), Some(raw.clone())))?;
    match kind.as_str() {
        "ERROR" => match body {
            Body::Status(status) => Ok(WatchEvent::Error(ApiError::from_status(&status))),
            _ => Err((
                DecodeError::WatchEvent("ERROR event without a Status".into()),
                Some(raw),
            )),
        },
        "BOOKMARK" => {
            let object = object_from_body(resource, body, columns).map_err(|e| (e, Some(raw)))?;
            Ok(bookmark(object.metadata()))
        }
        _ => {
            let object = object_from_body(resource, body, columns).map_err(|e| (e, Some(raw)))?;
            typed_event(&kind, object).map_err(|e| (e, None))
        }
    }
}

fn bookmark(meta: Option<&crate::api::meta::v1::ObjectMeta>) -> WatchEvent {
    WatchEvent::Bookmark {
        resource_version: meta
            .and_then(|m| m.resource_version.clone())
            .unwrap_or_default(),
        initial_events_end: meta.is_some_and(|m| {
            m.annotations
                .get(INITIAL_EVENTS_END)
                .is_some_and(|v| v == "true")
        }),
    }
}

fn typed_event(kind: &str, object: Object) -> Result<WatchEvent, DecodeError> {
    match kind {
        "ADDED" => Ok(WatchEvent::Added(object)),
        "MODIFIED" => Ok(WatchEvent::Modified(object)),
        "DELETED" => Ok(WatchEvent::Deleted(object)),
        other => Err(DecodeError::WatchEvent(format!(
            "unknown event type {other:?}"
        ))),
    }
}

#[derive(Deserialize)]
struct JsonEvent<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    object: &'a serde_json::value::RawValue,
}

#[derive(Deserialize, Default)]
struct JsonMetaOnly {
    #[serde(default)]
    metadata: JsonMeta,
}

#[derive(Deserialize, Default)]
struct JsonMeta {
    #[serde(default, rename = "resourceVersion")]
    resource_version: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

fn decode_json_event(
    resource: &'static ResourceType,
    line: &Bytes,
    columns: &mut Columns,
) -> EventResult {
    let event: JsonEvent<'_> =
        serde_json::from_slice(line).map_err(|e| (DecodeError::WatchEvent(e.to_string()), None))?;
    let object = event.object.get().as_bytes();
    match event.kind.as_str() {
        "ERROR" => status_from_json(object)
            .map(WatchEvent::Error)
            .ok_or_else(|| {
                (
                    DecodeError::WatchEvent("ERROR event without a Status".into()),
                    None,
                )
            }),
        "BOOKMARK" => {
            let meta: JsonMetaOnly = serde_json::from_slice(object)
                .map_err(|e| (DecodeError::Json(e.to_string()), None))?;
            Ok(WatchEvent::Bookmark {
                initial_events_end: meta
                    .metadata
                    .annotations
                    .get(INITIAL_EVENTS_END)
                    .is_some_and(|v| v == "true"),
                resource_version: meta.metadata.resource_version,
            })
        }
        kind => {
            let body = decode_json(object).map_err(|e| (e, None))?;
            let object = object_from_body(resource, body, columns).map_err(|e| (e, None))?;
            typed_event(kind, object).map_err(|e| (e, None))
        }
    }
}
