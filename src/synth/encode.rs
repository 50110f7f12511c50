//! Writing bodies the way the apiserver sends them, without holding a whole list:
//! a LIST is `k8s\0` + `runtime.Unknown{typeMeta, raw: <Kind>List}`, and a list is
//! `ListMeta` (field 1) followed by each item as field 2. Items are appended to a
//! side file one at a time; once the total length is known the body is written as
//! header + items + trailer. A WATCH is a sequence of frames: 4-byte big-endian
//! length + `meta.v1.WatchEvent{type, object: RawExtension{raw: envelope}}`.
//! Optional JSON twins are written alongside from the same objects: a JSON list
//! streams as it goes, a JSON watch is one `{"type","object"}` line per event.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;
use serde::Serialize;

use crate::api::envelope::{self, MAGIC};
use crate::api::json::with_type_meta;
use crate::api::meta::v1::{ListMeta, WatchEvent};
use crate::api::runtime::{RawExtension, TypeMeta};

/// Field numbers of `runtime.Unknown` and of every `<Kind>List`.
const UNKNOWN_TYPE_META: u32 = 1;
const UNKNOWN_RAW: u32 = 2;
const UNKNOWN_CONTENT_ENCODING: u32 = 3;
const UNKNOWN_CONTENT_TYPE: u32 = 4;
const LIST_METADATA: u32 = 1;
const LIST_ITEMS: u32 = 2;

fn io_error(path: &Path, source: io::Error) -> io::Error {
    io::Error::new(source.kind(), format!("{}: {source}", path.display()))
}

/// A protobuf LIST body being written item by item.
pub struct ListWriter {
    path: PathBuf,
    part_path: PathBuf,
    items: BufWriter<File>,
    items_len: u64,
    count: u64,
    scratch: Vec<u8>,
    json: Option<JsonList>,
}

/// The JSON twin of a list: `{"kind","apiVersion","metadata","items":[` … `]}`.
struct JsonList {
    path: PathBuf,
    out: BufWriter<File>,
    bytes: u64,
    /// Items carry their own kind and apiVersion (metadata-only lists).
    item_type: Option<(&'static str, &'static str)>,
    scratch: Vec<u8>,
}

/// What a list's JSON twin says about itself.
pub struct JsonListHead<'a> {
    pub path: PathBuf,
    pub api_version: &'a str,
    pub list_kind: &'a str,
    pub resource_version: u64,
    pub item_type: Option<(&'static str, &'static str)>,
}

impl JsonList {
    fn create(head: JsonListHead<'_>) -> io::Result<JsonList> {
        let file = File::create(&head.path).map_err(|e| io_error(&head.path, e))?;
        let mut list = JsonList {
            out: BufWriter::with_capacity(1 << 20, file),
            path: head.path,
            bytes: 0,
            item_type: head.item_type,
            scratch: Vec::with_capacity(16 * 1024),
        };
        let opening = format!(
            "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{{\"resourceVersion\":\"{}\"}},\"items\":[",
            serde_json::Value::from(head.list_kind),
            serde_json::Value::from(head.api_version),
            head.resource_version
        );
        list.write(opening.as_bytes())?;
        Ok(list)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| io_error(&self.path, e))?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    fn push(&mut self, first: bool, item: &impl Serialize) -> io::Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        if !first {
            scratch.push(b',');
        }
        let written = match self.item_type {
            Some((api_version, kind)) => with_type_meta(api_version, kind, item)
                .and_then(|value| serde_json::to_writer(&mut scratch, &value)),
            None => serde_json::to_writer(&mut scratch, item),
        };
        written.map_err(|e| io::Error::other(format!("{}: {e}", self.path.display())))?;
        let result = self.write(&scratch);
        self.scratch = scratch;
        result
    }

    fn finish(mut self) -> io::Result<u64> {
        self.write(b"]}\n")?;
        self.out.flush().map_err(|e| io_error(&self.path, e))?;
        Ok(self.bytes)
    }
}

impl ListWriter {
    pub fn create(path: PathBuf) -> io::Result<ListWriter> {
        let mut part_path = path.clone().into_os_string();
        part_path.push(".part");
        let part_path = PathBuf::from(part_path);
        let file = File::create(&part_path).map_err(|e| io_error(&part_path, e))?;
        Ok(ListWriter {
            path,
            part_path,
            items: BufWriter::with_capacity(1 << 20, file),
            items_len: 0,
            count: 0,
            scratch: Vec::with_capacity(16 * 1024),
            json: None,
        })
    }

    /// Also writes the list as JSON (see [`JsonListHead`]).
    pub fn with_json(mut self, head: JsonListHead<'_>) -> io::Result<ListWriter> {
        self.json = Some(JsonList::create(head)?);
        Ok(self)
    }

    /// Appends one item (the object's own encoding, without envelope).
    pub fn push<M: Message + Serialize>(&mut self, item: &M) -> io::Result<()> {
        if let Some(json) = self.json.as_mut() {
            json.push(self.count == 0, item)?;
        }
        self.scratch.clear();
        encode_key(LIST_ITEMS, WireType::LengthDelimited, &mut self.scratch);
        encode_varint(item.encoded_len() as u64, &mut self.scratch);
        item.encode(&mut self.scratch)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.items
            .write_all(&self.scratch)
            .map_err(|e| io_error(&self.part_path, e))?;
        self.items_len += self.scratch.len() as u64;
        self.count += 1;
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Writes the body (envelope naming `api_version`/`list_kind`, list metadata at
    /// `resource_version`, the items) and returns its size in bytes, and the JSON
    /// twin's size if there is one.
    pub fn finish(
        self,
        api_version: &str,
        list_kind: &str,
        resource_version: u64,
    ) -> io::Result<(u64, Option<u64>)> {
        let ListWriter {
            path,
            part_path,
            items,
            items_len,
            json,
            ..
        } = self;
        let json_bytes = json.map(JsonList::finish).transpose()?;
        let mut part = items
            .into_inner()
            .map_err(|e| io_error(&part_path, e.into_error()))?;
        part.flush().map_err(|e| io_error(&part_path, e))?;
        drop(part);

        let list_meta = ListMeta {
            resource_version: Some(resource_version.to_string()),
            ..Default::default()
        };
        let mut list_head = Vec::new();
        encode_key(LIST_METADATA, WireType::LengthDelimited, &mut list_head);
        encode_varint(list_meta.encoded_len() as u64, &mut list_head);
        list_meta
            .encode(&mut list_head)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let raw_len = list_head.len() as u64 + items_len;

        let type_meta = TypeMeta {
            api_version: Some(api_version.to_string()),
            kind: Some(list_kind.to_string()),
        };
        let mut head = Vec::with_capacity(64 + list_head.len());
        head.extend_from_slice(MAGIC);
        encode_key(UNKNOWN_TYPE_META, WireType::LengthDelimited, &mut head);
        encode_varint(type_meta.encoded_len() as u64, &mut head);
        type_meta
            .encode(&mut head)
            .map_err(|e| io::Error::other(e.to_string()))?;
        encode_key(UNKNOWN_RAW, WireType::LengthDelimited, &mut head);
        encode_varint(raw_len, &mut head);
        head.extend_from_slice(&list_head);
        // seal() writes empty contentEncoding and contentType, as the apiserver does.
        let mut tail = Vec::new();
        encode_key(
            UNKNOWN_CONTENT_ENCODING,
            WireType::LengthDelimited,
            &mut tail,
        );
        encode_varint(0, &mut tail);
        encode_key(UNKNOWN_CONTENT_TYPE, WireType::LengthDelimited, &mut tail);
        encode_varint(0, &mut tail);

        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&head).map_err(|e| io_error(&path, e))?;
        let mut part = File::open(&part_path).map_err(|e| io_error(&part_path, e))?;
        let copied = io::copy(&mut part, &mut out).map_err(|e| io_error(&path, e))?;
        if copied != items_len {
            return Err(io::Error::other(format!(
                "{}: copied {copied} bytes of items, expected {items_len}",
                part_path.display()
            )));
        }
        out.write_all(&tail).map_err(|e| io_error(&path, e))?;
        out.flush().map_err(|e| io_error(&path, e))?;
        std::fs::remove_file(&part_path).map_err(|e| io_error(&part_path, e))?;
        Ok((
            head.len() as u64 + items_len + tail.len() as u64,
            json_bytes,
        ))
    }
}

/// A protobuf WATCH body being written event by event.
pub struct WatchWriter {
    path: PathBuf,
    out: BufWriter<File>,
    bytes: u64,
    json: Option<(PathBuf, BufWriter<File>, u64)>,
}

impl WatchWriter {
    pub fn create(path: PathBuf) -> io::Result<WatchWriter> {
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        Ok(WatchWriter {
            path,
            out: BufWriter::with_capacity(256 * 1024, file),
            bytes: 0,
            json: None,
        })
    }

    /// Also writes the events as a JSON watch (one line per event) into `path`.
    pub fn with_json(mut self, path: PathBuf) -> io::Result<WatchWriter> {
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        self.json = Some((path, BufWriter::with_capacity(256 * 1024, file), 0));
        Ok(self)
    }

    /// Appends one event whose object is `object` sealed as `api_version`/`kind`.
    pub fn event<M: Message + Serialize>(
        &mut self,
        event_type: &str,
        api_version: &str,
        kind: &str,
        object: &M,
    ) -> io::Result<()> {
        if let Some((path, out, bytes)) = self.json.as_mut() {
            let line = with_type_meta(api_version, kind, object)
                .and_then(|object| {
                    let event = serde_json::json!({"type": event_type, "object": object});
                    let mut line = serde_json::to_vec(&event)?;
                    line.push(b'\n');
                    Ok(line)
                })
                .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
            out.write_all(&line).map_err(|e| io_error(path, e))?;
            *bytes += line.len() as u64;
        }
        let sealed = envelope::seal(api_version, kind, Bytes::from(object.encode_to_vec()));
        let event = WatchEvent {
            r#type: Some(event_type.to_string()),
            object: Some(RawExtension {
                raw: Some(Bytes::from(sealed)),
            }),
        };
        let frame = event.encode_to_vec();
        let len = u32::try_from(frame.len()).map_err(|_| {
            io::Error::other(format!(
                "{}: watch event of {} bytes",
                self.path.display(),
                frame.len()
            ))
        })?;
        self.out
            .write_all(&len.to_be_bytes())
            .and_then(|()| self.out.write_all(&frame))
            .map_err(|e| io_error(&self.path, e))?;
        self.bytes += 4 + frame.len() as u64;
        Ok(())
    }

    /// Flushes the body and returns its size in bytes, and the JSON twin's if any.
    pub fn finish(mut self) -> io::Result<(u64, Option<u64>)> {
        self.out.flush().map_err(|e| io_error(&self.path, e))?;
        let json = match self.json.as_mut() {
            Some((path, out, bytes)) => {
                out.flush().map_err(|e| io_error(path, e))?;
                Some(*bytes)
            }
            None => None,
        };
        Ok((self.bytes, json))
    }
}
