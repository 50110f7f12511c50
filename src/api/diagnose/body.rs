//! The shapes a body comes in: the `k8s\0` envelope (runtime.Unknown), lists whose
//! items are diagnosed one by one, and protobuf watch streams (4-byte big-endian
//! length + WatchEvent, whose object carries its own envelope). Everything is read with
//! the lenient wire reader, never with prost, so that a broken body still yields what
//! can be read of it (kind, name, how far it got).

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};
use schema_overlay::Pin;

use super::walk::{Issue, Item, Walker};
use super::wire::{self, Reader, Value, WireError};
use super::{Diagnosis, Finding, FindingKind, ItemRef, MAX_FINDINGS};
use crate::api::envelope::MAGIC;

/// The package of `Status`, `WatchEvent` and the metadata-only kinds, which the
/// apiserver also sends under apiVersions of other groups (a `v1` Status).
const META_PACKAGE: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// The fields of a `runtime.Unknown`, read without prost.
#[derive(Default)]
struct Envelope<'a> {
    api_version: Option<String>,
    kind: Option<String>,
    raw: &'a [u8],
    content_encoding: String,
    /// Set when `raw` runs past the end of the body: `(claimed, present)` bytes. `raw`
    /// then holds what arrived, which is still worth walking (a body cut off in
    /// transit reads differently from a schema change).
    raw_truncated: Option<(u64, usize)>,
}

fn read_envelope(unknown: &[u8]) -> Result<Envelope<'_>, WireError> {
    let mut envelope = Envelope::default();
    let mut reader = Reader::new(unknown);
    loop {
        let field = match reader.next_field() {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(WireError::Truncated {
                field: Some(2),
                needed,
                available,
            }) => {
                // The reader stopped right after raw's length: the rest is raw's start.
                envelope.raw = unknown.get(reader.position()..).unwrap_or_default();
                envelope.raw_truncated = Some((needed, available));
                break;
            }
            Err(error) => return Err(error),
        };
        let Value::Bytes { bytes, .. } = field.value else {
            continue;
        };
        match field.number {
            1 => {
                let text = |number| {
                    wire::first_bytes_of(bytes, number)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                };
                envelope.api_version = text(1);
                envelope.kind = text(2);
            }
            2 => envelope.raw = bytes,
            3 => envelope.content_encoding = String::from_utf8_lossy(bytes).into_owned(),
            _ => {}
        }
    }
    Ok(envelope)
}

pub(super) fn diagnose_envelope(
    pool: &DescriptorPool,
    unknown: &[u8],
    item: Option<ItemRef>,
    diagnosis: &mut Diagnosis,
) {
    let envelope = match read_envelope(unknown) {
        Ok(envelope) => envelope,
        Err(error) => {
            diagnosis.body_finding(
                FindingKind::Envelope,
                item,
                "Unknown",
                format!("the envelope (runtime.Unknown) does not parse: {error}"),
            );
            return;
        }
    };
    let api_version = envelope.api_version.unwrap_or_default();
    let kind = envelope.kind.unwrap_or_default();
    if kind.is_empty() {
        diagnosis.body_finding(
            FindingKind::Envelope,
            item,
            "Unknown",
            "the envelope's typeMeta names no kind: cannot tell what it carries".to_string(),
        );
        return;
    }
    if diagnosis.kind.is_none() {
        diagnosis.kind = Some(format!("{api_version}.{kind}"));
    }
    if !envelope.content_encoding.is_empty() {
        diagnosis.body_finding(
            FindingKind::Envelope,
            item,
            "Unknown",
            format!(
                "the object is {:?}-encoded, which is not inspected",
                envelope.content_encoding
            ),
        );
        return;
    }
    if let Some((claimed, present)) = envelope.raw_truncated {
        diagnosis.add(Finding {
            path: String::new(),
            message: "Unknown".to_string(),
            field_number: 2,
            wire_type: 2,
            expected: Some("bytes".to_string()),
            detail: format!(
                "the body is cut off: the object claims {claimed} bytes but only {present} arrived"
            ),
            kind: FindingKind::CutOff,
            within: String::new(),
            item: item.clone(),
            offset: 0,
        });
    }
    diagnose_raw(pool, &api_version, &kind, envelope.raw, item, diagnosis);
}

pub(super) fn diagnose_raw(
    pool: &DescriptorPool,
    api_version: &str,
    kind: &str,
    raw: &[u8],
    event: Option<ItemRef>,
    diagnosis: &mut Diagnosis,
) {
    let Some(message) = resolve_message(pool, api_version, kind) else {
        let mut event = event;
        if let Some(event) = &mut event {
            event.name = lenient_name(None, raw);
        } else {
            diagnosis.name = lenient_name(None, raw);
        }
        diagnosis.body_finding(
            FindingKind::Envelope,
            event,
            "",
            format!("kind {api_version} {kind} is not in the schema of this build"),
        );
        return;
    };
    let walker = Walker {
        limit: MAX_FINDINGS,
    };
    let name = lenient_name(Some(&message), raw);
    let item = match event {
        Some(mut event) => {
            event.name = name;
            Some(event)
        }
        None => {
            diagnosis.name = name;
            None
        }
    };

    let items_field = list_items_field(&message);
    let mut items: Vec<Item<'_>> = Vec::new();
    let outcome = walker.walk_root(
        &message,
        raw,
        items_field.as_ref().map(|(n, _)| *n),
        &mut items,
    );
    for issue in outcome.issues {
        diagnosis.add(finding_from(issue, item.clone(), 0));
    }
    diagnosis.omitted += outcome.omitted;

    let Some((_, item_message)) = items_field else {
        return;
    };
    for (index, list_item) in items.iter().enumerate() {
        let outcome = walker.walk_root(&item_message, list_item.bytes, None, &mut Vec::new());
        if outcome.issues.is_empty() && outcome.omitted == 0 {
            continue;
        }
        let reference = ItemRef {
            index,
            event: None,
            name: lenient_name(Some(&item_message), list_item.bytes),
        };
        for issue in outcome.issues {
            diagnosis.add(finding_from(
                issue,
                Some(reference.clone()),
                list_item.offset,
            ));
        }
        diagnosis.omitted += outcome.omitted;
    }
}

fn finding_from(issue: Issue, item: Option<ItemRef>, base_offset: usize) -> Finding {
    let within = issue.within.join(".");
    let path = match (&issue.segment, within.is_empty()) {
        (Some(segment), true) => segment.clone(),
        (Some(segment), false) => format!("{within}.{segment}"),
        (None, _) => within.clone(),
    };
    Finding {
        path,
        message: issue.message,
        field_number: issue.field_number,
        wire_type: issue.wire_type,
        expected: issue.expected,
        detail: issue.detail,
        kind: issue.kind,
        within,
        item,
        offset: base_offset + issue.offset,
    }
}

/// `(field number, item message)` of a `…List`'s repeated `items`.
fn list_items_field(message: &MessageDescriptor) -> Option<(u32, MessageDescriptor)> {
    if !message.name().ends_with("List") {
        return None;
    }
    let items = message.get_field_by_name("items")?;
    match items.kind() {
        Kind::Message(item) if items.is_list() => Some((items.number(), item)),
        _ => None,
    }
}

/// metadata.name, read as far as the bytes allow. Without a descriptor, field 1 of
/// field 1 (where every Kubernetes object keeps it).
fn lenient_name(message: Option<&MessageDescriptor>, raw: &[u8]) -> Option<String> {
    let (metadata_number, name_number) = match message {
        Some(message) => {
            let metadata = message.get_field_by_name("metadata")?;
            let Kind::Message(metadata_message) = metadata.kind() else {
                return None;
            };
            (
                metadata.number(),
                metadata_message.get_field_by_name("name")?.number(),
            )
        }
        None => (1, 1),
    };
    let metadata = wire::first_bytes_of(raw, metadata_number)?;
    let name = wire::first_bytes_of(metadata, name_number)?;
    // Names are at most 253 characters; anything longer is not worth a log line.
    let name = &name[..name.len().min(253)];
    Some(String::from_utf8_lossy(name).into_owned())
}

/// The pin's apiVersion → package map, compiled in.
pub(super) fn pin() -> Option<&'static Pin> {
    static PIN: OnceLock<Option<Pin>> = OnceLock::new();
    PIN.get_or_init(|| {
        Pin::parse(
            include_str!("../../../proto/upstream.toml"),
            "proto/upstream.toml",
        )
        .ok()
    })
    .as_ref()
}

/// The message of an apiVersion and kind: the pin's package for the apiVersion, then
/// the meta package (Status, WatchEvent, PartialObjectMetadata), then any package of
/// the pool ending in the version (schemas of groups the pin does not list).
pub(super) fn resolve_message(
    pool: &DescriptorPool,
    api_version: &str,
    kind: &str,
) -> Option<MessageDescriptor> {
    if kind.is_empty() {
        return None;
    }
    let pinned = pin().and_then(|pin| pin.package_for(api_version));
    for package in pinned.into_iter().chain([META_PACKAGE]) {
        if let Some(message) = pool.get_message_by_name(&format!("{package}.{kind}")) {
            return Some(message);
        }
    }
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let suffix = format!(".{version}");
    pool.all_messages().find(|message| {
        let package = message.package_name();
        message.name() == kind && (package == version || package.ends_with(&suffix))
    })
}

/// A watch stream starts with a 4-byte big-endian length that fits the body and a
/// `WatchEvent` whose first field is its type (field 1, length-delimited).
pub(super) fn looks_like_watch_stream(body: &[u8]) -> bool {
    let Some((head, rest)) = body.split_first_chunk::<4>() else {
        return false;
    };
    let len = u32::from_be_bytes(*head) as usize;
    len > 0 && len <= rest.len() && rest.first() == Some(&0x0a)
}

pub(super) fn diagnose_watch_stream(pool: &DescriptorPool, body: &[u8], diagnosis: &mut Diagnosis) {
    let mut rest = body;
    let mut index = 0;
    while !rest.is_empty() {
        let at = |index| ItemRef {
            index,
            event: Some("?".to_string()),
            name: None,
        };
        let Some((head, tail)) = rest.split_first_chunk::<4>() else {
            diagnosis.body_finding(
                FindingKind::CutOff,
                Some(at(index)),
                "WatchEvent",
                format!(
                    "the stream ends inside a frame header ({} of 4 bytes)",
                    rest.len()
                ),
            );
            return;
        };
        let len = u32::from_be_bytes(*head) as usize;
        if len > tail.len() {
            diagnosis.body_finding(
                FindingKind::CutOff,
                Some(at(index)),
                "WatchEvent",
                format!(
                    "the frame claims {len} bytes but only {} remain (truncated)",
                    tail.len()
                ),
            );
            return;
        }
        let (frame, next) = tail.split_at(len);
        rest = next;
        diagnose_watch_event(pool, frame, index, diagnosis);
        index += 1;
    }
}

/// A `WatchEvent{type = 1, object = 2: RawExtension{raw = 1}}` whose raw is an envelope.
fn diagnose_watch_event(
    pool: &DescriptorPool,
    frame: &[u8],
    index: usize,
    diagnosis: &mut Diagnosis,
) {
    let mut event_type = None;
    let mut raw = None;
    let mut reader = Reader::new(frame);
    loop {
        match reader.next_field() {
            Ok(None) => break,
            Ok(Some(field)) => match (field.number, field.value) {
                (1, Value::Bytes { bytes, .. }) => {
                    // ADDED, MODIFIED, ...: anything longer is not an event type.
                    let bytes = &bytes[..bytes.len().min(32)];
                    event_type = Some(String::from_utf8_lossy(bytes).into_owned())
                }
                (2, Value::Bytes { bytes, .. }) => raw = wire::first_bytes_of(bytes, 1),
                _ => {}
            },
            Err(error) => {
                let item = ItemRef {
                    index,
                    event: event_type.or(Some("?".to_string())),
                    name: None,
                };
                diagnosis.body_finding(
                    FindingKind::Envelope,
                    Some(item),
                    "WatchEvent",
                    format!("the watch event does not parse: {error}"),
                );
                return;
            }
        }
    }
    let item = ItemRef {
        index,
        event: Some(event_type.unwrap_or_else(|| "?".to_string())),
        name: None,
    };
    match raw.and_then(|raw| raw.strip_prefix(MAGIC.as_slice())) {
        Some(unknown) => diagnose_envelope(pool, unknown, Some(item), diagnosis),
        None => diagnosis.body_finding(
            FindingKind::Envelope,
            Some(item),
            "WatchEvent",
            "the watch event carries no protobuf object (object.raw without \"k8s\\0\")"
                .to_string(),
        ),
    }
}
