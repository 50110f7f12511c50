//! The replay apiserver: serves a recording over HTTP/1.1 on 127.0.0.1 like a live
//! kube-apiserver would (lists with limit/continue, protobuf or JSON by Accept,
//! metadata-only lists, watches frame by frame from a resourceVersion), with faults.

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use prost::Message;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::api::envelope::{seal, PROTOBUF_CONTENT_TYPE};
use crate::api::meta::v1::{ListMeta, Status};
use crate::api::{ResourceType, View};
use crate::client::watch::INITIAL_EVENTS_END;
use crate::client::Format;

use super::faults::{Faults, Pending, WatchFault};
use super::recording::Recording;
use super::table;
use super::wire;
use super::world::{self, ChangeKind, Entry, JsonObject, ResourceWorld, Timeline};

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub method: String,
    pub path_and_query: String,
    pub accept: String,
    pub authorization: Option<String>,
}

type ResponseBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// State shared by all connections of one replay server.
pub struct ReplayState {
    worlds: Mutex<HashMap<&'static str, ResourceWorld>>,
    server_version: Option<Value>,
    faults: Faults,
    pending: Mutex<Pending>,
    requests: Mutex<Vec<SeenRequest>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind; keep serving.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts replay servers.
pub struct ReplayServer;

impl ReplayServer {
    /// Serves `recording` with `faults` on a random port of 127.0.0.1.
    pub async fn start(
        recording: &Recording,
        faults: Faults,
    ) -> std::io::Result<(SocketAddr, ReplayHandle)> {
        let state = ReplayState::new(recording, faults);
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = accept_state.clone();
                tokio::spawn(async move { state.serve_io(stream).await });
            }
        });
        Ok((addr, ReplayHandle { state, task }))
    }
}

/// A running replay server; dropping it stops accepting connections.
pub struct ReplayHandle {
    pub state: Arc<ReplayState>,
    task: JoinHandle<()>,
}

impl Drop for ReplayHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::ops::Deref for ReplayHandle {
    type Target = ReplayState;
    fn deref(&self) -> &ReplayState {
        &self.state
    }
}

impl ReplayState {
    pub fn new(recording: &Recording, faults: Faults) -> Arc<ReplayState> {
        let mut worlds = world::build(recording);
        // A live server answers every served kind, with an empty list if need be.
        for resource in crate::api::RESOURCES {
            let world = worlds
                .entry(resource.plural)
                .or_insert_with(|| ResourceWorld::empty(resource));
            if world.protobuf.is_none() && world.json.is_none() {
                world.protobuf = Some(Timeline::new(1, Vec::new()));
                world.json = Some(Timeline::new(1, Vec::new()));
            }
        }
        Arc::new(ReplayState {
            worlds: Mutex::new(worlds),
            server_version: recording.manifest.server_version.clone(),
            pending: Mutex::new(Pending::new(&faults)),
            faults,
            requests: Mutex::new(Vec::new()),
        })
    }

    /// Serves one connection (plain TCP, or a TLS stream a test wrapped).
    pub async fn serve_io<IO>(self: Arc<Self>, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = hyper::service::service_fn(move |request| {
            let state = self.clone();
            async move { Ok::<_, Infallible>(state.handle(request).await) }
        });
        if let Err(error) = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(io), service)
            .await
        {
            tracing::debug!(%error, "replay connection ended with an error");
        }
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.requests).clone()
    }

    /// (uid, resourceVersion) of every object once all recorded events happened,
    /// sorted by uid: what a reflector's store must converge to.
    pub fn final_state(
        &self,
        plural: &str,
        format: Format,
    ) -> Option<(Vec<(String, String)>, u64)> {
        let worlds = lock(&self.worlds);
        let world = worlds.get(plural)?;
        let (mut ids, rv) = match format {
            Format::Protobuf => {
                let (entries, rv) = world.protobuf.as_ref()?.final_state();
                (identities(&entries), rv)
            }
            Format::Json => {
                let (entries, rv) = world.json.as_ref()?.final_state();
                (identities(&entries), rv)
            }
        };
        ids.sort();
        Some((ids, rv))
    }

    /// Replaces what a resource serves with these objects (protobuf envelopes and
    /// JSON objects) at resourceVersion `rv`, without events: for tests that need
    /// objects the recording does not have (e.g. a vendor's Node).
    pub fn replace_objects(
        &self,
        plural: &str,
        protobuf: Vec<Bytes>,
        json: Vec<Value>,
        rv: u64,
    ) -> Result<(), String> {
        let resource =
            ResourceType::by_plural(plural).ok_or_else(|| format!("unknown resource {plural}"))?;
        let mut entries = Vec::new();
        for body in protobuf {
            let envelope = crate::api::envelope::open(body).map_err(|e| e.to_string())?;
            entries.push(
                world::protobuf_entry(envelope.raw).ok_or("object metadata does not decode")?,
            );
        }
        let world = ResourceWorld {
            resource,
            protobuf: Some(Timeline::new(rv, entries)),
            json: Some(Timeline::new(
                rv,
                json.into_iter().map(world::json_entry).collect(),
            )),
        };
        lock(&self.worlds).insert(resource.plural, world);
        Ok(())
    }

    /// Appends a MODIFIED event of one object (protobuf envelope and JSON twin) at
    /// resourceVersion `rv` to what a resource serves: the next watch from an earlier
    /// resourceVersion delivers it. For tests of changes the recording does not have.
    pub fn append_modified(
        &self,
        plural: &str,
        protobuf: Bytes,
        json: Value,
        rv: u64,
    ) -> Result<(), String> {
        let envelope = crate::api::envelope::open(protobuf).map_err(|e| e.to_string())?;
        let entry = world::protobuf_entry(envelope.raw).ok_or("object metadata does not decode")?;
        let mut worlds = lock(&self.worlds);
        let world = worlds
            .get_mut(plural)
            .ok_or_else(|| format!("{plural} serves nothing to modify"))?;
        let (Some(protobuf), Some(json_timeline)) = (world.protobuf.as_mut(), world.json.as_mut())
        else {
            return Err(format!("{plural} lacks a protobuf or JSON timeline"));
        };
        protobuf.push(world::Change {
            kind: world::ChangeKind::Modified,
            rv,
            entry,
        });
        json_timeline.push(world::Change {
            kind: world::ChangeKind::Modified,
            rv,
            entry: world::json_entry(json),
        });
        Ok(())
    }

    fn applies_to(&self, resource: &ResourceType) -> bool {
        self.faults
            .resource
            .as_deref()
            .is_none_or(|r| r == resource.plural)
    }

    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<ResponseBody> {
        let header_text = |name: header::HeaderName| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let accept = header_text(header::ACCEPT).unwrap_or_default();
        let path_and_query = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        lock(&self.requests).push(SeenRequest {
            method: request.method().to_string(),
            path_and_query: path_and_query.clone(),
            accept: accept.clone(),
            authorization: header_text(header::AUTHORIZATION),
        });
        let path = request.uri().path();
        let query = world::query_pairs(request.uri().query().unwrap_or(""));
        if path == "/version" {
            let version = self
                .server_version
                .clone()
                .unwrap_or_else(|| json!({"major": "1", "minor": "28"}));
            return full(
                StatusCode::OK,
                "application/json",
                Bytes::from(version.to_string()),
            );
        }
        let negotiated = negotiate(&accept);
        let Some(collection) = world::parse_collection(path) else {
            return status_response(
                negotiated.preferred(),
                404,
                "NotFound",
                &format!("the server could not find {path}"),
                None,
            );
        };
        let resource = collection.resource;
        let format = {
            let worlds = lock(&self.worlds);
            worlds
                .get(resource.plural)
                .and_then(|w| negotiated.choose(w))
        };
        let Some(format) = format else {
            return status_response(
                Format::Json,
                406,
                "NotAcceptable",
                &format!("cannot serve {accept:?}"),
                None,
            );
        };
        let watching = query.get("watch").is_some_and(|w| w == "1" || w == "true");
        let initial_events = query.get("sendInitialEvents").is_some_and(|v| v == "true");
        if watching && initial_events && !self.faults.streaming_list {
            return status_response(
                format,
                422,
                "Invalid",
                "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
                None,
            );
        }
        if watching {
            return self.watch(
                resource,
                collection.namespace,
                format,
                negotiated.view,
                &query,
            );
        }
        if let Some(response) = self.list_fault(resource, format, query.contains_key("continue")) {
            return response;
        }
        self.list(
            resource,
            collection.namespace.as_deref(),
            format,
            negotiated.view,
            &query,
        )
    }

    fn list_fault(
        &self,
        resource: &ResourceType,
        format: Format,
        has_continue: bool,
    ) -> Option<Response<ResponseBody>> {
        if !self.applies_to(resource) {
            return None;
        }
        let mut pending = lock(&self.pending);
        if pending.error_500 > 0 {
            pending.error_500 -= 1;
            return Some(status_response(
                format,
                500,
                "InternalError",
                "replay: injected internal error",
                None,
            ));
        }
        if let Some(after) = pending.throttle.take() {
            return Some(status_response(
                format,
                429,
                "TooManyRequests",
                "replay: injected throttling",
                Some(after),
            ));
        }
        if has_continue && pending.expired_continue {
            pending.expired_continue = false;
            return Some(status_response(
                format,
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result.",
                None,
            ));
        }
        None
    }

    fn list(
        &self,
        resource: &'static ResourceType,
        namespace: Option<&str>,
        format: Format,
        view: View,
        query: &HashMap<String, String>,
    ) -> Response<ResponseBody> {
        let metadata_only = view != View::Full;
        let limit: usize = if self.faults.ignore_limit {
            0
        } else {
            query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0)
        };
        let offset: usize = query
            .get("continue")
            .and_then(|token| token.rsplit(':').next())
            .and_then(|o| o.parse().ok())
            .unwrap_or(0);
        let mut worlds = lock(&self.worlds);
        let Some(world) = worlds.get_mut(resource.plural) else {
            return status_response(format, 404, "NotFound", "no such resource", None);
        };
        match format {
            Format::Protobuf => {
                let Some(timeline) = world.protobuf.as_mut() else {
                    return status_response(
                        format,
                        406,
                        "NotAcceptable",
                        "not recorded as protobuf",
                        None,
                    );
                };
                let (entries, rv) = timeline.current();
                let entries = in_namespace(&entries, namespace);
                let (page, meta) = paginate(&entries, offset, limit, rv);
                let items: Vec<Bytes> = page
                    .iter()
                    .map(|e| {
                        if metadata_only {
                            wire::metadata_only(&e.object).unwrap_or_default()
                        } else {
                            e.object.clone()
                        }
                    })
                    .collect();
                let raw = Bytes::from(wire::join_list(&meta, &items));
                let body = if metadata_only {
                    seal("meta.k8s.io/v1", "PartialObjectMetadataList", raw)
                } else {
                    seal(resource.api_version, resource.list_kind, raw)
                };
                self.list_response(resource, PROTOBUF_CONTENT_TYPE, Bytes::from(body))
            }
            Format::Json => {
                let Some(timeline) = world.json.as_mut() else {
                    return status_response(
                        format,
                        406,
                        "NotAcceptable",
                        "not recorded as JSON",
                        None,
                    );
                };
                let (entries, rv) = timeline.current();
                let entries = in_namespace(&entries, namespace);
                let (page, meta) = paginate(&entries, offset, limit, rv);
                let mut list_meta = json!({"resourceVersion": meta.resource_version});
                if let Some(token) = &meta.r#continue {
                    list_meta["continue"] = json!(token);
                    list_meta["remainingItemCount"] = json!(meta.remaining_item_count);
                }
                if view == View::Table {
                    let rows = page
                        .iter()
                        .map(|e| table::row(resource, &e.object))
                        .collect();
                    let body = table::table(resource, list_meta, rows, true);
                    return self.list_response(
                        resource,
                        "application/json",
                        Bytes::from(body.to_string()),
                    );
                }
                let items: Vec<Cow<'_, Value>> = page
                    .iter()
                    .map(|e| {
                        if metadata_only {
                            Cow::Owned(partial_json(&e.object))
                        } else {
                            Cow::Borrowed(&*e.object)
                        }
                    })
                    .collect();
                let (api_version, kind) = if metadata_only {
                    ("meta.k8s.io/v1", "PartialObjectMetadataList")
                } else {
                    (resource.api_version, resource.list_kind)
                };
                let body = JsonList {
                    kind,
                    api_version,
                    metadata: list_meta,
                    items,
                };
                self.list_response(
                    resource,
                    "application/json",
                    Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                )
            }
        }
    }

    /// A list body, or (the stall fault) its first bytes and then silence, the
    /// connection held open until the client gives up.
    fn list_response(
        &self,
        resource: &ResourceType,
        content_type: &str,
        body: Bytes,
    ) -> Response<ResponseBody> {
        let stall_after = if self.applies_to(resource) {
            lock(&self.pending).stall_list_after_bytes.take()
        } else {
            None
        };
        let Some(after) = stall_after else {
            return full(StatusCode::OK, content_type, body);
        };
        tracing::info!(
            resource = resource.plural,
            after,
            of = body.len(),
            "replay: stalling a list body"
        );
        let (tx, rx) = mpsc::channel(1);
        let head = body.slice(..after.min(body.len()));
        tokio::spawn(async move {
            if tx.send(Ok(head)).await.is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(3600), tx.closed()).await;
            }
        });
        let mut response = Response::new(ChannelBody { rx }.boxed());
        if let Ok(value) = header::HeaderValue::from_str(content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    }

    fn watch(
        self: Arc<Self>,
        resource: &'static ResourceType,
        namespace: Option<String>,
        format: Format,
        view: View,
        query: &HashMap<String, String>,
    ) -> Response<ResponseBody> {
        let from = query.get("resourceVersion").cloned().unwrap_or_default();
        let initial_events = query.get("sendInitialEvents").is_some_and(|v| v == "true");
        let timeout = query
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(1800));
        let hold = self
            .faults
            .max_watch_hold
            .map_or(timeout, |max| max.min(timeout));
        let (tx, rx) = mpsc::channel(16);
        let content_type = match format {
            Format::Protobuf => "application/vnd.kubernetes.protobuf;stream=watch",
            Format::Json => "application/json",
        };
        let stream = WatchStreamer {
            state: self,
            resource,
            namespace,
            format,
            view,
            table_columns_sent: std::sync::atomic::AtomicBool::new(false),
            from,
            initial_events,
            hold,
            tx,
        };
        tokio::spawn(stream.run());
        let body = ChannelBody { rx }.boxed();
        let mut response = Response::new(body);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(content_type),
        );
        response
    }
}

/// A JSON watch line, serialized without copying its object.
#[derive(serde::Serialize)]
struct JsonWatchEvent<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    object: Cow<'a, Value>,
}

/// A JSON list body, serialized without copying its items.
#[derive(serde::Serialize)]
struct JsonList<'a> {
    kind: &'a str,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    metadata: Value,
    items: Vec<Cow<'a, Value>>,
}

/// The entries of `namespace` (all of them for a cluster-wide request, without a copy).
fn in_namespace<'a, T: Clone>(
    entries: &'a [Entry<T>],
    namespace: Option<&str>,
) -> Cow<'a, [Entry<T>]> {
    match namespace {
        None => Cow::Borrowed(entries),
        Some(ns) => Cow::Owned(
            entries
                .iter()
                .filter(|e| e.namespace == ns)
                .cloned()
                .collect(),
        ),
    }
}

fn identities<T>(entries: &[Entry<T>]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| (e.uid.clone(), e.resource_version.clone()))
        .collect()
}

fn paginate<T>(
    entries: &[Entry<T>],
    offset: usize,
    limit: usize,
    rv: u64,
) -> (&[Entry<T>], ListMeta) {
    let start = offset.min(entries.len());
    let end = if limit == 0 {
        entries.len()
    } else {
        (start + limit).min(entries.len())
    };
    let more = end < entries.len();
    let meta = ListMeta {
        self_link: None,
        resource_version: Some(rv.to_string()),
        r#continue: more.then(|| format!("replay:{rv}:{end}")),
        remaining_item_count: more.then(|| (entries.len() - end) as i64),
    };
    (&entries[start..end], meta)
}

fn partial_json(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or(Value::Null),
    })
}

/// What the Accept header asks for.
struct Negotiated {
    /// Acceptable formats in order of preference.
    formats: Vec<Format>,
    view: View,
}

impl Negotiated {
    fn preferred(&self) -> Format {
        self.formats.first().copied().unwrap_or(Format::Json)
    }

    fn choose(&self, world: &ResourceWorld) -> Option<Format> {
        self.formats.iter().copied().find(|&f| world.has(f))
    }
}

fn negotiate(accept: &str) -> Negotiated {
    let mut formats = Vec::new();
    let mut view = View::Full;
    for media in accept.split(',') {
        let mut parts = media.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or("");
        // The first media type asking for a view wins: a Table, with metadata-only
        // as the fallback the client offers second.
        match parts.find(|p| p.starts_with("as=")) {
            Some("as=Table") if view == View::Full && media_type == "application/json" => {
                view = View::Table;
            }
            Some(p) if view == View::Full && p.starts_with("as=PartialObjectMetadata") => {
                view = View::Metadata;
            }
            _ => {}
        }
        let format = match media_type {
            PROTOBUF_CONTENT_TYPE => Some(Format::Protobuf),
            "application/json" | "*/*" | "" => Some(Format::Json),
            _ => None,
        };
        if let Some(format) = format {
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
    }
    Negotiated { formats, view }
}

fn full(status: StatusCode, content_type: &str, body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(
        http_body_util::Full::new(body)
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn status_message(code: u16, reason: &str, message: &str) -> Status {
    Status {
        metadata: Some(ListMeta::default()),
        status: Some("Failure".to_string()),
        message: Some(message.to_string()),
        reason: Some(reason.to_string()),
        details: None,
        code: Some(i32::from(code)),
    }
}

fn status_json(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn status_response(
    format: Format,
    code: u16,
    reason: &str,
    message: &str,
    retry_after: Option<Duration>,
) -> Response<ResponseBody> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match format {
        Format::Protobuf => {
            let raw = Bytes::from(status_message(code, reason, message).encode_to_vec());
            full(
                status,
                PROTOBUF_CONTENT_TYPE,
                Bytes::from(seal("v1", "Status", raw)),
            )
        }
        Format::Json => full(
            status,
            "application/json",
            Bytes::from(status_json(code, reason, message).to_string()),
        ),
    };
    if let Some(after) = retry_after {
        if let Ok(value) = header::HeaderValue::from_str(&after.as_secs().to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// A response body fed from a channel: what lets a watch stream, stall or break.
struct ChannelBody {
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx
            .poll_recv(cx)
            .map(|item| item.map(|result| result.map(Frame::data)))
    }
}

/// Feeds one watch response.
struct WatchStreamer {
    state: Arc<ReplayState>,
    resource: &'static ResourceType,
    namespace: Option<String>,
    format: Format,
    view: View,
    /// A Table watch sends its column definitions with the first event only.
    table_columns_sent: std::sync::atomic::AtomicBool,
    from: String,
    /// Streaming list: current objects, then the initial-events-end bookmark.
    initial_events: bool,
    hold: Duration,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

/// One frame ready to send, and the timeline position it publishes.
struct Outgoing {
    bytes: Bytes,
    publishes: Option<usize>,
}

impl WatchStreamer {
    async fn run(self) {
        let frames = match self.frames() {
            Ok(frames) => frames,
            Err(expired) => {
                let _ = self.tx.send(Ok(expired)).await;
                return;
            }
        };
        let total = frames.len();
        let mut frames = frames.into_iter().peekable();
        let mut sent = 0;
        loop {
            let exhausted = frames.peek().is_none();
            let fault = if self.state.applies_to(self.resource) {
                lock(&self.state.pending).take_watch_fault(sent, exhausted)
            } else {
                None
            };
            if let Some(fault) = fault {
                tracing::info!(
                    resource = self.resource.plural,
                    ?fault,
                    sent,
                    total,
                    "replay: injecting watch fault"
                );
                if fault == WatchFault::Expired {
                    for lost in frames.by_ref().take(self.state.faults.expiry_loses_events) {
                        if let Some(position) = lost.publishes {
                            self.publish(position);
                        }
                    }
                }
                self.inject(fault, frames.peek().map(|f| f.bytes.clone()))
                    .await;
                return;
            }
            let Some(frame) = frames.next() else { break };
            if !self.state.faults.frame_delay.is_zero() {
                tokio::time::sleep(self.state.faults.frame_delay).await;
            }
            // Empty: an event of another namespace, which only moves the timeline.
            if !frame.bytes.is_empty() && self.tx.send(Ok(frame.bytes)).await.is_err() {
                return;
            }
            if let Some(position) = frame.publishes {
                self.publish(position);
            }
            sent += 1;
        }
        self.wait_for_close(self.hold).await;
    }

    /// Sleeps up to `limit`, returning early when the client went away.
    async fn wait_for_close(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.tx.closed()).await;
    }

    fn publish(&self, position: usize) {
        let mut worlds = lock(&self.state.worlds);
        if let Some(world) = worlds.get_mut(self.resource.plural) {
            match self.format {
                Format::Protobuf => {
                    if let Some(t) = world.protobuf.as_mut() {
                        t.published = t.published.max(position);
                    }
                }
                Format::Json => {
                    if let Some(t) = world.json.as_mut() {
                        t.published = t.published.max(position);
                    }
                }
            }
        }
    }

    async fn inject(&self, fault: WatchFault, next: Option<Bytes>) {
        match fault {
            WatchFault::Cut => {
                let partial = match next {
                    Some(frame) if frame.len() > 2 => frame.slice(..frame.len() / 2),
                    _ => Bytes::from_static(&[0, 0, 0, 100, 1, 2, 3]),
                };
                let _ = self.tx.send(Ok(partial)).await;
                let _ = self
                    .tx
                    .send(Err(std::io::Error::other("replay: connection cut")))
                    .await;
            }
            WatchFault::Expired => {
                let _ = self
                    .tx
                    .send(Ok(self.expired_frame("replay: injected expiry")))
                    .await;
            }
            WatchFault::Stall => self.wait_for_close(Duration::from_secs(3600)).await,
            WatchFault::Garbage => {
                let garbage: &'static [u8] = match self.format {
                    Format::Protobuf => b"\x00\x00\x00\x08\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8",
                    Format::Json => b"{\"type\": garbage]\n",
                };
                let _ = self.tx.send(Ok(Bytes::from_static(garbage))).await;
            }
            WatchFault::Oversized => {
                let header: &'static [u8] = match self.format {
                    Format::Protobuf => b"\x7f\xff\xff\xf0\x0a\x05ADDED",
                    // JSON has no length header: an endless line stands in for it.
                    Format::Json => b"{\"type\":\"ADDED\",\"object\":{\"padding\":\"",
                };
                let _ = self.tx.send(Ok(Bytes::from_static(header))).await;
                if self.format == Format::Json {
                    let chunk = Bytes::from(vec![b'x'; 1 << 16]);
                    // Enough to pass any sane cap in tests; stops when the client hangs up.
                    for _ in 0..1024 {
                        if self.tx.send(Ok(chunk.clone())).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    }

    fn expired_frame(&self, message: &str) -> Bytes {
        match self.format {
            Format::Protobuf => {
                let raw = Bytes::from(status_message(410, "Expired", message).encode_to_vec());
                Bytes::from(wire::watch_frame("ERROR", &seal("v1", "Status", raw)))
            }
            Format::Json => {
                let line = json!({"type": "ERROR", "object": status_json(410, "Expired", message)});
                Bytes::from(format!("{line}\n"))
            }
        }
    }

    /// Every frame this watch will send, or the in-band expiry it must send instead.
    fn frames(&self) -> Result<Vec<Outgoing>, Bytes> {
        let mut worlds = lock(&self.state.worlds);
        let world = worlds.get_mut(self.resource.plural);
        match self.format {
            Format::Protobuf => match world.and_then(|w| w.protobuf.as_mut()) {
                Some(timeline) => self.plan(
                    timeline,
                    |kind, entry| self.protobuf_frame(kind, entry),
                    |rv| self.protobuf_initial_events_end(rv),
                ),
                None => Ok(Vec::new()),
            },
            Format::Json => match world.and_then(|w| w.json.as_mut()) {
                Some(timeline) => self.plan(
                    timeline,
                    |kind, entry| self.json_frame(kind, entry),
                    |rv| self.json_initial_events_end(rv),
                ),
                None => Ok(Vec::new()),
            },
        }
    }

    fn plan<T: Clone>(
        &self,
        timeline: &mut Timeline<T>,
        encode: impl Fn(ChangeKind, &Entry<T>) -> Bytes,
        end_of_initial_events: impl Fn(u64) -> Bytes,
    ) -> Result<Vec<Outgoing>, Bytes> {
        let in_namespace =
            |e: &Entry<T>| self.namespace.as_deref().is_none_or(|ns| ns == e.namespace);
        let mut out = Vec::new();
        let start_rv = if self.initial_events || self.from.is_empty() || self.from == "0" {
            // "Any": the current state as ADDED events, then what follows.
            let (entries, rv) = timeline.current();
            out.extend(
                entries
                    .iter()
                    .filter(|e| in_namespace(e))
                    .map(|e| Outgoing {
                        bytes: encode(ChangeKind::Added, e),
                        publishes: None,
                    }),
            );
            if self.initial_events {
                out.push(Outgoing {
                    bytes: end_of_initial_events(rv),
                    publishes: None,
                });
            }
            rv
        } else {
            let from: u64 = self.from.parse().unwrap_or(0);
            if from < timeline.initial_rv {
                return Err(self.expired_frame(&format!(
                    "too old resource version: {} ({})",
                    self.from, timeline.initial_rv
                )));
            }
            from
        };
        for (index, change) in timeline.events.iter().enumerate() {
            if change.rv <= start_rv {
                continue;
            }
            // Other namespaces' events still move the timeline; they are just not sent.
            let bytes = if change.kind == ChangeKind::Bookmark || in_namespace(&change.entry) {
                encode(change.kind, &change.entry)
            } else {
                Bytes::new()
            };
            out.push(Outgoing {
                bytes,
                publishes: Some(index + 1),
            });
        }
        Ok(out)
    }

    fn protobuf_initial_events_end(&self, rv: u64) -> Bytes {
        let meta = crate::api::meta::v1::ObjectMeta {
            resource_version: Some(rv.to_string()),
            annotations: [(INITIAL_EVENTS_END.to_string(), "true".to_string())].into(),
            ..Default::default()
        };
        let entry = Entry {
            uid: String::new(),
            namespace: String::new(),
            resource_version: rv.to_string(),
            object: wire::object_with_metadata(&meta),
        };
        self.protobuf_frame(ChangeKind::Bookmark, &entry)
    }

    fn json_initial_events_end(&self, rv: u64) -> Bytes {
        let (api_version, kind) = if self.view != View::Full {
            ("meta.k8s.io/v1", "PartialObjectMetadata")
        } else {
            (self.resource.api_version, self.resource.kind)
        };
        let object = json!({"kind": kind, "apiVersion": api_version, "metadata": {
            "resourceVersion": rv.to_string(),
            "annotations": {INITIAL_EVENTS_END: "true"},
        }});
        let line = json!({"type": "BOOKMARK", "object": object});
        Bytes::from(format!("{line}\n"))
    }

    fn protobuf_frame(&self, kind: ChangeKind, entry: &Entry<Bytes>) -> Bytes {
        let envelope = if self.view != View::Full {
            seal(
                "meta.k8s.io/v1",
                "PartialObjectMetadata",
                wire::metadata_only(&entry.object).unwrap_or_default(),
            )
        } else {
            seal(
                self.resource.api_version,
                self.resource.kind,
                entry.object.clone(),
            )
        };
        Bytes::from(wire::watch_frame(kind.wire_name(), &envelope))
    }

    fn json_frame(&self, kind: ChangeKind, entry: &Entry<JsonObject>) -> Bytes {
        let object = match self.view {
            View::Full => Cow::Borrowed(&*entry.object),
            View::Metadata => Cow::Owned(partial_json(&entry.object)),
            View::Table if kind == ChangeKind::Bookmark => Cow::Owned(partial_json(&entry.object)),
            View::Table => {
                let first = !self
                    .table_columns_sent
                    .swap(true, std::sync::atomic::Ordering::Relaxed);
                let rv = entry.resource_version.clone();
                let row = table::row(self.resource, &entry.object);
                Cow::Owned(table::table(
                    self.resource,
                    json!({"resourceVersion": rv}),
                    vec![row],
                    first,
                ))
            }
        };
        let mut line = serde_json::to_vec(&JsonWatchEvent {
            event_type: kind.wire_name(),
            object,
        })
        .unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }
}
