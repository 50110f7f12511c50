//! What the replay apiserver knows: per resource and encoding, the recorded list
//! (the initial state) and the recorded watch events after it (a timeline). The
//! timeline advances as watches deliver events, so a list made after a watch sees
//! the objects as they are then, like a live server.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use prost::Message;
use serde_json::Value;

use crate::api::envelope;
use crate::api::meta::v1::WatchEvent as RawWatchEvent;
use crate::api::ResourceType;
use crate::client::Format;

use super::recording::Recording;
use super::wire;

/// One object in a state: its identity and its body (raw protobuf object without
/// envelope, or a JSON value).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<T> {
    pub uid: String,
    pub namespace: String,
    pub resource_version: String,
    pub object: T,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
    Bookmark,
}

impl ChangeKind {
    pub fn wire_name(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
            ChangeKind::Bookmark => "BOOKMARK",
        }
    }

    fn parse(name: &str) -> Option<ChangeKind> {
        match name {
            "ADDED" => Some(ChangeKind::Added),
            "MODIFIED" => Some(ChangeKind::Modified),
            "DELETED" => Some(ChangeKind::Deleted),
            "BOOKMARK" => Some(ChangeKind::Bookmark),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change<T> {
    pub kind: ChangeKind,
    pub rv: u64,
    pub entry: Entry<T>,
}

/// A JSON object as served: shared, because a list page or a watch frame only
/// borrows it (a deep copy of 150,000 pods per page would dwarf everything else).
pub type JsonObject = Arc<Value>;

/// A state computed for some number of published events.
type CachedState<T> = (usize, Arc<Vec<Entry<T>>>, u64);

/// Initial state plus the events after it.
#[derive(Debug, Clone)]
pub struct Timeline<T> {
    pub initial_rv: u64,
    pub initial: Vec<Entry<T>>,
    pub events: Vec<Change<T>>,
    /// How many events some watch has delivered: lists show the state after them.
    pub published: usize,
    /// The current state, computed once per `published` (every page of a paged list
    /// asks for it).
    current: Option<CachedState<T>>,
}

impl<T: Clone> Timeline<T> {
    pub fn new(initial_rv: u64, initial: Vec<Entry<T>>) -> Timeline<T> {
        Timeline {
            initial_rv,
            initial,
            events: Vec::new(),
            published: 0,
            current: None,
        }
    }

    fn last_rv(&self) -> u64 {
        self.events.last().map_or(self.initial_rv, |c| c.rv)
    }

    pub(crate) fn push(&mut self, change: Change<T>) {
        // Bookmarks may repeat the last event's resourceVersion.
        let last = self.last_rv();
        if change.rv > last || (change.kind == ChangeKind::Bookmark && change.rv == last) {
            self.events.push(change);
        }
    }

    /// The objects after the first `count` events, and the resourceVersion there.
    /// Linear in objects + events: deletions leave holes that are dropped at the end,
    /// which keeps the order an in-place remove would give.
    pub fn state_after(&self, count: usize) -> (Vec<Entry<T>>, u64) {
        let mut state: Vec<Option<Entry<T>>> = self.initial.iter().cloned().map(Some).collect();
        let mut position: HashMap<&str, usize> = self
            .initial
            .iter()
            .enumerate()
            .map(|(at, e)| (e.uid.as_str(), at))
            .collect();
        let mut rv = self.initial_rv;
        for change in self.events.iter().take(count) {
            rv = change.rv;
            let uid = change.entry.uid.as_str();
            match (change.kind, position.get(uid).copied()) {
                (ChangeKind::Bookmark, _) | (ChangeKind::Deleted, None) => {}
                (ChangeKind::Deleted, Some(at)) => {
                    state[at] = None;
                    position.remove(uid);
                }
                (_, Some(at)) => state[at] = Some(change.entry.clone()),
                (_, None) => {
                    position.insert(uid, state.len());
                    state.push(Some(change.entry.clone()));
                }
            }
        }
        (state.into_iter().flatten().collect(), rv)
    }

    /// The current state (after the published events).
    pub fn current(&mut self) -> (Arc<Vec<Entry<T>>>, u64) {
        match &self.current {
            Some((published, state, rv)) if *published == self.published => {
                (Arc::clone(state), *rv)
            }
            _ => {
                let (state, rv) = self.state_after(self.published);
                let state = Arc::new(state);
                self.current = Some((self.published, Arc::clone(&state), rv));
                (state, rv)
            }
        }
    }

    /// The state once every recorded event has happened: what a reflector must end with.
    pub fn final_state(&self) -> (Vec<Entry<T>>, u64) {
        self.state_after(self.events.len())
    }
}

/// Everything recorded about one resource.
#[derive(Debug, Clone)]
pub struct ResourceWorld {
    pub resource: &'static ResourceType,
    pub protobuf: Option<Timeline<Bytes>>,
    pub json: Option<Timeline<JsonObject>>,
}

impl ResourceWorld {
    pub fn empty(resource: &'static ResourceType) -> ResourceWorld {
        ResourceWorld {
            resource,
            protobuf: None,
            json: None,
        }
    }

    pub fn has(&self, format: Format) -> bool {
        match format {
            Format::Protobuf => self.protobuf.is_some(),
            Format::Json => self.json.is_some(),
        }
    }
}

/// Where a request path points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub resource: &'static ResourceType,
    pub namespace: Option<String>,
}

/// Parses `/api/v1[/namespaces/NS]/PLURAL` or `/apis/G/V[/namespaces/NS]/PLURAL`.
pub fn parse_collection(path: &str) -> Option<Collection> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, plural) = match rest {
        [plural] => (None, *plural),
        ["namespaces", namespace, plural] => (Some(namespace.to_string()), *plural),
        _ => return None,
    };
    let resource = crate::api::RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)?;
    if namespace.is_some() && !resource.namespaced {
        return None;
    }
    Some(Collection {
        resource,
        namespace,
    })
}

/// Splits a query string into decoded pairs.
pub fn query_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds the world from a recording. Lists made cluster-wide without paging are
/// the initial states (the first per resource and format); watches made from such a
/// list's resourceVersion or later supply the events.
pub fn build(recording: &Recording) -> HashMap<&'static str, ResourceWorld> {
    let mut worlds: HashMap<&'static str, ResourceWorld> = HashMap::new();
    let mut watches = Vec::new();
    for capture in &recording.manifest.captures {
        if capture.status != 200 || capture.method != "GET" {
            continue;
        }
        let (path, query) = capture.path.split_once('?').unwrap_or((&capture.path, ""));
        let Some(collection) = parse_collection(path) else {
            continue;
        };
        if collection.namespace.is_some() {
            continue;
        }
        let Some(format) = Format::of_content_type(&capture.content_type) else {
            continue;
        };
        let Some(body) = recording.body(capture) else {
            continue;
        };
        let query = query_pairs(query);
        if query.get("watch").is_some_and(|w| w == "1" || w == "true") {
            watches.push((collection.resource, format, body.clone()));
            continue;
        }
        if query.contains_key("limit") || query.contains_key("continue") {
            continue;
        }
        let world = worlds
            .entry(collection.resource.plural)
            .or_insert_with(|| ResourceWorld::empty(collection.resource));
        match format {
            Format::Protobuf if world.protobuf.is_none() => match protobuf_list(body) {
                Some(timeline) => world.protobuf = Some(timeline),
                None => {
                    tracing::debug!(capture = %capture.body, "not a full protobuf list; skipped")
                }
            },
            Format::Json if world.json.is_none() => match json_list(body) {
                Some(timeline) => world.json = Some(timeline),
                None => tracing::debug!(capture = %capture.body, "not a full JSON list; skipped"),
            },
            _ => {}
        }
    }
    for (resource, format, body) in watches {
        let Some(world) = worlds.get_mut(resource.plural) else {
            continue;
        };
        match format {
            Format::Protobuf => {
                if let Some(timeline) = world.protobuf.as_mut() {
                    for change in protobuf_changes(&body) {
                        timeline.push(change);
                    }
                }
            }
            Format::Json => {
                if let Some(timeline) = world.json.as_mut() {
                    for change in json_changes(&body) {
                        timeline.push(change);
                    }
                }
            }
        }
    }
    worlds
}

fn parse_rv(rv: &str) -> u64 {
    rv.parse().unwrap_or(0)
}

/// An entry from a raw protobuf object (no envelope).
pub fn protobuf_entry(raw: Bytes) -> Option<Entry<Bytes>> {
    let meta = wire::object_meta(&raw).ok()?;
    Some(Entry {
        uid: meta.uid.unwrap_or_default(),
        namespace: meta.namespace.unwrap_or_default(),
        resource_version: meta.resource_version.unwrap_or_default(),
        object: raw,
    })
}

/// An entry from a JSON object.
pub fn json_entry(object: Value) -> Entry<JsonObject> {
    let meta = |key: &str| {
        object
            .pointer(&format!("/metadata/{key}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Entry {
        uid: meta("uid"),
        namespace: meta("namespace"),
        resource_version: meta("resourceVersion"),
        object: Arc::new(object),
    }
}

fn protobuf_list(body: &Bytes) -> Option<Timeline<Bytes>> {
    let envelope = envelope::open(body.clone()).ok()?;
    // A metadata-only list serves too: its items are the objects' field 1 (metadata),
    // which is what `record` keeps of secrets and configmaps.
    if !envelope.kind.ends_with("List") {
        return None;
    }
    let (meta, items) = wire::split_list(&envelope.raw).ok()?;
    let entries = items.into_iter().filter_map(protobuf_entry).collect();
    Some(Timeline::new(
        parse_rv(meta.resource_version.as_deref().unwrap_or("")),
        entries,
    ))
}

fn json_list(body: &Bytes) -> Option<Timeline<JsonObject>> {
    let mut list: Value = serde_json::from_slice(body).ok()?;
    let kind = list.get("kind")?.as_str()?;
    let rv = list
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let rv = parse_rv(rv);
    // A recorded server-side Table (secrets) holds its rows' metadata and cells.
    let items = if kind == "Table" {
        super::table::objects_of_table(&list, &mut Vec::new())?
    } else if kind.ends_with("List") {
        let Value::Array(items) = list.get_mut("items")?.take() else {
            return None;
        };
        items
    } else {
        return None;
    };
    Some(Timeline::new(
        rv,
        items.into_iter().map(json_entry).collect(),
    ))
}

fn protobuf_changes(body: &Bytes) -> Vec<Change<Bytes>> {
    let mut changes = Vec::new();
    let mut rest = body.clone();
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + len {
            break;
        }
        let frame = rest.slice(4..4 + len);
        rest = rest.slice(4 + len..);
        let Ok(event) = RawWatchEvent::decode(frame) else {
            continue;
        };
        let Some(kind) = event.r#type.as_deref().and_then(ChangeKind::parse) else {
            continue;
        };
        let Some(raw) = event.object.and_then(|o| o.raw) else {
            continue;
        };
        let Ok(envelope) = envelope::open(raw) else {
            continue;
        };
        let Some(entry) = protobuf_entry(envelope.raw) else {
            continue;
        };
        changes.push(Change {
            kind,
            rv: parse_rv(&entry.resource_version),
            entry,
        });
    }
    changes
}

fn json_changes(body: &Bytes) -> Vec<Change<JsonObject>> {
    let mut table_columns = Vec::new();
    body.split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .filter_map(|mut event| {
            let kind = ChangeKind::parse(event.get("type")?.as_str()?)?;
            let object = event.get_mut("object")?.take();
            // A Table watch event carries its object as the Table's one row.
            let object = match super::table::objects_of_table(&object, &mut table_columns) {
                Some(mut rows) if rows.len() == 1 => rows.remove(0),
                _ => object,
            };
            let entry = json_entry(object);
            Some(Change {
                kind,
                rv: parse_rv(&entry.resource_version),
                entry,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_collection_paths() {
        let pods = parse_collection("/api/v1/namespaces/demo/pods").unwrap();
        assert_eq!(pods.resource.plural, "pods");
        assert_eq!(pods.namespace.as_deref(), Some("demo"));
        assert_eq!(
            parse_collection("/api/v1/namespaces")
                .unwrap()
                .resource
                .plural,
            "namespaces"
        );
        assert_eq!(
            parse_collection("/apis/apps/v1/deployments")
                .unwrap()
                .resource
                .plural,
            "deployments"
        );
        assert_eq!(parse_collection("/api/v1/namespaces/demo/pods/x"), None);
        assert_eq!(parse_collection("/version"), None);
    }

    #[test]
    fn decodes_percent_escapes() {
        let pairs = query_pairs("continue=a%3Db%2F&limit=3");
        assert_eq!(pairs["continue"], "a=b/");
        assert_eq!(pairs["limit"], "3");
    }
}
