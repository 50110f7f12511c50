//! Walks a list response as its bytes arrive, yielding each item's bytes as soon as
//! they are complete, so neither the whole body nor all its decoded objects are ever
//! held. Two walkers share one shape (`push` chunks, `next` pieces with `next_piece`, `end`):
//!
//! - [`ProtobufListWalker`]: `k8s\0`, then a `runtime.Unknown` (field 1 `typeMeta`,
//!   2 `raw`, 3 `contentEncoding`, 4 `contentType`), whose `raw` is the list message:
//!   `ListMeta` at field 1 and repeated `items` at field 2, in either order, with
//!   unknown fields skipped. A body whose kind is no list (or whose `raw` comes before
//!   its `typeMeta`) is held whole and handed on as one envelope.
//! - [`JsonListWalker`]: the top-level object's `items` array is split into elements
//!   by a structural scan (strings, escapes, nesting); `metadata`, `kind` and
//!   `apiVersion` are kept wherever they appear; any other member is skipped.
//!
//! Both are pure functions of the byte chunks they are given (no I/O), which makes
//! them the seam for property tests and fuzz targets: whatever the chunking, they
//! yield the same pieces, and bad bytes give an error with a byte offset, never a panic.

use bytes::{Buf, Bytes, BytesMut};
use prost::Message;
use thiserror::Error;

use super::envelope::{Envelope, MAGIC, PROTOBUF_CONTENT_TYPE};
use super::meta::v1::ListMeta;
use super::runtime::TypeMeta;

/// Cap on one list item (or one non-list body held whole): far above etcd's 1.5 MiB
/// object limit, low enough that a bogus length never makes us buffer gigabytes.
pub const DEFAULT_MAX_ITEM: usize = 64 * 1024 * 1024;

/// What a walk yields, in body order.
#[derive(Debug, Clone, PartialEq)]
pub enum ListPiece {
    /// The envelope's `typeMeta` (protobuf), or the document's `apiVersion`/`kind`
    /// (JSON; yielded when both are known, or at the end).
    Kind { api_version: String, kind: String },
    /// The list's metadata (resourceVersion, continue).
    Meta(ListMeta),
    /// One item's encoded bytes (protobuf message or JSON object).
    Item(Bytes),
    /// Protobuf only: a body that is not walked item by item, held whole.
    Whole(Envelope),
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("at byte {at}: {what}")]
pub struct WalkError {
    /// Offset in the body where the offending field or token starts.
    pub at: u64,
    pub what: String,
}

fn fail<T>(at: u64, what: impl Into<String>) -> Result<T, WalkError> {
    Err(WalkError {
        at,
        what: what.into(),
    })
}

/// A varint at the start of `buf`: `Ok(None)` when more bytes are needed.
fn varint(buf: &[u8], at: u64) -> Result<Option<(u64, usize)>, WalkError> {
    let mut value: u64 = 0;
    for (i, byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if i == 9 && *byte > 1 {
                return fail(at, "varint overflows 64 bits");
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 10 {
        return fail(at, "varint longer than 10 bytes");
    }
    Ok(None)
}

/// A field key and, for length-delimited fields, the length that follows it.
struct Key {
    number: u64,
    wire_type: u8,
    /// LEN: the payload length; VARINT/I64/I32: the bytes of the value still to skip
    /// (0 for a varint: it is skipped by scanning).
    len: u64,
    /// Bytes of key (+ length prefix).
    header: usize,
}

fn key(buf: &[u8], at: u64) -> Result<Option<Key>, WalkError> {
    let Some((raw_key, key_len)) = varint(buf, at)? else {
        return Ok(None);
    };
    let wire_type = (raw_key & 7) as u8;
    let number = raw_key >> 3;
    if number == 0 {
        return fail(at, "field number 0");
    }
    let (len, header) = match wire_type {
        0 => (0, key_len),
        1 => (8, key_len),
        5 => (4, key_len),
        2 => match varint(&buf[key_len..], at + key_len as u64)? {
            Some((len, n)) => (len, key_len + n),
            None => return Ok(None),
        },
        other => return fail(at, format!("wire type {other} (groups are not used)")),
    };
    Ok(Some(Key {
        number,
        wire_type,
        len,
        header,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ProtoState {
    Magic,
    /// Between fields of the `runtime.Unknown`.
    Outer,
    /// Inside `raw`, between fields of the list message; `left` bytes of raw remain.
    Raw {
        left: u64,
    },
    /// Holding a length-delimited field of `field` (`in_raw`: of the list, else of
    /// the envelope) until its `len` bytes are here.
    Hold {
        field: u64,
        len: usize,
        in_raw: bool,
        raw_left_after: u64,
        at: u64,
    },
    /// Skipping `left` bytes (`raw_left_after`: raw bytes left once skipped, if in raw).
    Skip {
        left: u64,
        raw_left_after: Option<u64>,
    },
    /// Skipping a varint's bytes.
    SkipVarint {
        raw_left: Option<u64>,
        at: u64,
    },
    Done,
}

/// Incremental walker over a protobuf list body.
#[derive(Debug)]
pub struct ProtobufListWalker {
    buffer: BytesMut,
    /// Body offset of `buffer[0]`.
    offset: u64,
    state: ProtoState,
    max_item: usize,
    type_meta: Option<(String, String)>,
    /// Walk `raw` item by item (the kind is a list).
    streaming: bool,
    /// `raw` held whole, handed on at the end with the envelope's typeMeta.
    whole_raw: Option<Bytes>,
    ended: bool,
}

impl Default for ProtobufListWalker {
    fn default() -> Self {
        ProtobufListWalker::new(DEFAULT_MAX_ITEM)
    }
}

impl ProtobufListWalker {
    pub fn new(max_item: usize) -> ProtobufListWalker {
        ProtobufListWalker {
            buffer: BytesMut::new(),
            offset: 0,
            state: ProtoState::Magic,
            max_item,
            type_meta: None,
            streaming: false,
            whole_raw: None,
            ended: false,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// No more bytes will come.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// Bytes held right now (the current item's, at most).
    pub fn held(&self) -> usize {
        self.buffer.len()
    }

    fn consume(&mut self, n: usize) -> Bytes {
        self.offset += n as u64;
        self.buffer.split_to(n).freeze()
    }

    /// The next piece; `Ok(None)` when more bytes are needed (or, after [`end`](Self::end),
    /// when the walk is complete).
    pub fn next_piece(&mut self) -> Result<Option<ListPiece>, WalkError> {
        loop {
            let at = self.offset;
            match self.state {
                ProtoState::Done => {
                    if !self.buffer.is_empty() {
                        return fail(at, "bytes after the end of the envelope");
                    }
                    return Ok(None);
                }
                ProtoState::Magic => {
                    if self.buffer.len() < MAGIC.len() {
                        if self.ended {
                            return fail(
                                at,
                                format!(
                                    "body of {} bytes is too short for the protobuf envelope",
                                    self.buffer.len()
                                ),
                            );
                        }
                        return Ok(None);
                    }
                    if &self.buffer[..4] != MAGIC {
                        return fail(
                            at,
                            format!(
                                "not a Kubernetes protobuf body: starts with {:02x?}, expected \"k8s\\0\"",
                                &self.buffer[..4]
                            ),
                        );
                    }
                    self.consume(4);
                    self.state = ProtoState::Outer;
                }
                ProtoState::Outer => {
                    if self.buffer.is_empty() {
                        if self.ended {
                            self.state = ProtoState::Done;
                            return self.finish_envelope();
                        }
                        return Ok(None);
                    }
                    let Some(field) = key(&self.buffer, at)? else {
                        return self.need_more(at, "a field of the envelope");
                    };
                    self.consume(field.header);
                    self.state = match (field.number, field.wire_type) {
                        (2, 2) if self.streaming => {
                            if field.len == 0 {
                                ProtoState::Outer
                            } else {
                                ProtoState::Raw { left: field.len }
                            }
                        }
                        (1..=4, 2) => ProtoState::Hold {
                            field: field.number,
                            len: self.check_len(field.len, at)?,
                            in_raw: false,
                            raw_left_after: 0,
                            at,
                        },
                        (1..=4, other) => {
                            return fail(
                                at,
                                format!("envelope field {} has wire type {other}", field.number),
                            )
                        }
                        (_, 0) => ProtoState::SkipVarint { raw_left: None, at },
                        (_, _) => ProtoState::Skip {
                            left: field.len,
                            raw_left_after: None,
                        },
                    };
                }
                ProtoState::Raw { left } => {
                    if left == 0 {
                        self.state = ProtoState::Outer;
                        continue;
                    }
                    let window = &self.buffer[..self.buffer.len().min(left as usize)];
                    let Some(field) = key(window, at)? else {
                        if self.buffer.len() as u64 >= left {
                            return fail(at, "list field runs past the end of raw");
                        }
                        return self.need_more(at, "a field of the list");
                    };
                    let after_header = left - field.header as u64;
                    let payload = if field.wire_type == 0 { 0 } else { field.len };
                    if payload > after_header {
                        return fail(
                            at,
                            format!(
                                "list field {} of {payload} bytes runs past the end of raw ({after_header} left)",
                                field.number
                            ),
                        );
                    }
                    self.consume(field.header);
                    self.state = match (field.number, field.wire_type) {
                        (1 | 2, 2) => ProtoState::Hold {
                            field: field.number,
                            len: self.check_len(field.len, at)?,
                            in_raw: true,
                            raw_left_after: after_header - field.len,
                            at,
                        },
                        (1 | 2, other) => {
                            return fail(
                                at,
                                format!("list field {} has wire type {other}", field.number),
                            )
                        }
                        (_, 0) => ProtoState::SkipVarint {
                            raw_left: Some(after_header),
                            at,
                        },
                        (_, _) => ProtoState::Skip {
                            left: field.len,
                            raw_left_after: Some(after_header - field.len),
                        },
                    };
                }
                ProtoState::SkipVarint { raw_left, at } => {
                    let Some((_, n)) = varint(&self.buffer, at)? else {
                        return self.need_more(at, "a varint");
                    };
                    self.consume(n);
                    self.state = match raw_left {
                        Some(left) if (n as u64) > left => {
                            return fail(at, "varint runs past the end of raw")
                        }
                        Some(left) => ProtoState::Raw {
                            left: left - n as u64,
                        },
                        None => ProtoState::Outer,
                    };
                }
                ProtoState::Skip {
                    left,
                    raw_left_after,
                } => {
                    let n = (self.buffer.len() as u64).min(left);
                    self.consume(n as usize);
                    if n < left {
                        self.state = ProtoState::Skip {
                            left: left - n,
                            raw_left_after,
                        };
                        return self.need_more(at, "a skipped field");
                    }
                    self.state = match raw_left_after {
                        Some(left) => ProtoState::Raw { left },
                        None => ProtoState::Outer,
                    };
                }
                ProtoState::Hold {
                    field,
                    len,
                    in_raw,
                    raw_left_after,
                    at,
                } => {
                    if self.buffer.len() < len {
                        self.buffer.reserve(len - self.buffer.len());
                        return self.need_more(at, "a field");
                    }
                    let payload = self.consume(len);
                    if in_raw {
                        self.state = ProtoState::Raw {
                            left: raw_left_after,
                        };
                        return match field {
                            1 => ListMeta::decode(payload)
                                .map(|meta| Some(ListPiece::Meta(meta)))
                                .or_else(|e| fail(at, format!("ListMeta: {e}"))),
                            _ => Ok(Some(ListPiece::Item(payload))),
                        };
                    }
                    self.state = ProtoState::Outer;
                    match field {
                        1 => {
                            let type_meta = TypeMeta::decode(payload)
                                .or_else(|e| fail(at, format!("typeMeta: {e}")))?;
                            let api_version = type_meta.api_version.unwrap_or_default();
                            let kind = type_meta.kind.unwrap_or_default();
                            // Only a list kind is walked item by item, and only when
                            // its raw has not passed already.
                            self.streaming = self.whole_raw.is_none() && kind.ends_with("List");
                            self.type_meta = Some((api_version.clone(), kind.clone()));
                            if self.streaming {
                                return Ok(Some(ListPiece::Kind { api_version, kind }));
                            }
                        }
                        2 => self.whole_raw = Some(payload),
                        3 if !payload.is_empty() => {
                            return fail(
                                at,
                                format!(
                                    "envelope carries contentEncoding {:?}, which is not supported",
                                    String::from_utf8_lossy(&payload)
                                ),
                            )
                        }
                        4 if !payload.is_empty() && payload[..] != *PROTOBUF_CONTENT_TYPE.as_bytes() => {
                            return fail(
                                at,
                                format!(
                                    "envelope carries contentType {:?}; only protobuf is expected inside it",
                                    String::from_utf8_lossy(&payload)
                                ),
                            )
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn check_len(&self, len: u64, at: u64) -> Result<usize, WalkError> {
        match usize::try_from(len) {
            Ok(len) if len <= self.max_item => Ok(len),
            _ => fail(
                at,
                format!(
                    "field of {len} bytes exceeds the {} byte cap",
                    self.max_item
                ),
            ),
        }
    }

    fn need_more(&self, at: u64, what: &str) -> Result<Option<ListPiece>, WalkError> {
        if self.ended {
            return fail(at, format!("body ends inside {what}"));
        }
        Ok(None)
    }

    fn finish_envelope(&mut self) -> Result<Option<ListPiece>, WalkError> {
        let at = self.offset;
        let Some((api_version, kind)) = self.type_meta.clone() else {
            return fail(
                at,
                "envelope has no typeMeta: cannot tell which kind it carries",
            );
        };
        if self.streaming {
            return Ok(None);
        }
        Ok(Some(ListPiece::Whole(Envelope {
            api_version,
            kind,
            raw: self.whole_raw.take().unwrap_or_default(),
        })))
    }
}

/// What the JSON walker is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum JsonState {
    Start,
    /// Expecting a member name (or `}`); `first`: no member yet.
    Member {
        first: bool,
    },
    /// Expecting `:` after the member name.
    Colon {
        member: Member,
    },
    /// Expecting the member's value.
    Value {
        member: Member,
    },
    /// In the items array, expecting an element (or `]`).
    Items {
        first: bool,
    },
    /// After an element: `,` or `]`.
    ItemsSeparator,
    /// After a member's value: `,` or `}`.
    AfterMember,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Member {
    Items,
    Metadata,
    Kind,
    ApiVersion,
    Other,
}

/// Scans one JSON value from the start of the buffer, resumable across chunks.
#[derive(Debug, Default, Clone, Copy)]
struct ValueScan {
    /// Bytes of the value scanned so far.
    pos: usize,
    depth: u32,
    in_string: bool,
    escaped: bool,
    started: bool,
}

impl ValueScan {
    /// The value's length once complete, `None` when more bytes are needed.
    fn scan(&mut self, buf: &[u8], at: u64) -> Result<Option<usize>, WalkError> {
        while self.pos < buf.len() {
            let byte = buf[self.pos];
            let here = at + self.pos as u64;
            if self.in_string {
                self.pos += 1;
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Ok(Some(self.pos));
                    }
                }
                continue;
            }
            if !self.started {
                self.started = true;
                match byte {
                    b'"' => {
                        self.in_string = true;
                        self.pos += 1;
                        continue;
                    }
                    b'{' | b'[' => {}
                    b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {}
                    other => {
                        return fail(
                            here,
                            format!("unexpected {:?} where a value starts", other as char),
                        )
                    }
                }
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    if self.depth == 0 {
                        // The end of a scalar at the enclosing container's close.
                        return Ok(Some(self.pos));
                    }
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Ok(Some(self.pos + 1));
                    }
                }
                b',' | b' ' | b'\t' | b'\n' | b'\r' if self.depth == 0 => {
                    return Ok(Some(self.pos));
                }
                _ => {}
            }
            self.pos += 1;
        }
        Ok(None)
    }
}

/// Incremental walker over a JSON list body.
#[derive(Debug)]
pub struct JsonListWalker {
    buffer: BytesMut,
    offset: u64,
    state: JsonState,
    scan: ValueScan,
    max_item: usize,
    api_version: Option<String>,
    kind: Option<String>,
    kind_sent: bool,
    saw_items: bool,
    ended: bool,
}

impl Default for JsonListWalker {
    fn default() -> Self {
        JsonListWalker::new(DEFAULT_MAX_ITEM)
    }
}

impl JsonListWalker {
    pub fn new(max_item: usize) -> JsonListWalker {
        JsonListWalker {
            buffer: BytesMut::new(),
            offset: 0,
            state: JsonState::Start,
            scan: ValueScan::default(),
            max_item,
            api_version: None,
            kind: None,
            kind_sent: false,
            saw_items: false,
            ended: false,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    pub fn end(&mut self) {
        self.ended = true;
    }

    pub fn held(&self) -> usize {
        self.buffer.len()
    }

    /// The document is complete.
    pub fn is_done(&self) -> bool {
        self.state == JsonState::Done
    }

    /// Whether the document had an `items` member (a list, as opposed to, say, a Status).
    pub fn saw_items(&self) -> bool {
        self.saw_items
    }

    fn skip_whitespace(&mut self) {
        let n = self
            .buffer
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
        self.offset += n as u64;
        self.buffer.advance(n);
    }

    fn consume(&mut self, n: usize) -> Bytes {
        self.offset += n as u64;
        self.buffer.split_to(n).freeze()
    }

    /// The whole next value, or `None` when more bytes are needed.
    fn take_value(&mut self) -> Result<Option<Bytes>, WalkError> {
        let at = self.offset;
        match self.scan.scan(&self.buffer, at)? {
            Some(len) => {
                self.scan = ValueScan::default();
                Ok(Some(self.consume(len)))
            }
            None if self.buffer.len() > self.max_item => fail(
                at,
                format!("JSON value longer than the {} byte cap", self.max_item),
            ),
            None if self.ended
                && self.scan.started
                && self.scan.depth == 0
                && !self.scan.in_string =>
            {
                // A scalar that ends with the body.
                let len = self.buffer.len();
                self.scan = ValueScan::default();
                Ok(Some(self.consume(len)))
            }
            None => Ok(None),
        }
    }

    fn need_more(&self, what: &str) -> Result<Option<ListPiece>, WalkError> {
        if self.ended {
            return fail(self.offset, format!("body ends inside {what}"));
        }
        Ok(None)
    }

    fn kind_piece(&mut self) -> Option<ListPiece> {
        if self.kind_sent {
            return None;
        }
        let (Some(api_version), Some(kind)) = (&self.api_version, &self.kind) else {
            return None;
        };
        self.kind_sent = true;
        Some(ListPiece::Kind {
            api_version: api_version.clone(),
            kind: kind.clone(),
        })
    }

    pub fn next_piece(&mut self) -> Result<Option<ListPiece>, WalkError> {
        loop {
            // Whitespace between tokens only; never inside a value being scanned.
            if self.scan.pos == 0 {
                self.skip_whitespace();
            }
            let at = self.offset;
            let first = self.buffer.first().copied();
            match self.state {
                JsonState::Done => {
                    if let Some(byte) = first {
                        return fail(
                            at,
                            format!("{:?} after the end of the document", byte as char),
                        );
                    }
                    if !self.kind_sent {
                        self.kind_sent = true;
                        return Ok(Some(ListPiece::Kind {
                            api_version: self.api_version.clone().unwrap_or_default(),
                            kind: self.kind.clone().unwrap_or_default(),
                        }));
                    }
                    return Ok(None);
                }
                JsonState::Start => match first {
                    None => return self.need_more("the document"),
                    Some(b'{') => {
                        self.consume(1);
                        self.state = JsonState::Member { first: true };
                    }
                    Some(other) => {
                        return fail(
                            at,
                            format!("expected a JSON object, found {:?}", other as char),
                        )
                    }
                },
                JsonState::Member { first: is_first } => match first {
                    None => return self.need_more("the document"),
                    Some(b'}') if is_first => {
                        self.consume(1);
                        self.state = JsonState::Done;
                    }
                    Some(b'"') => {
                        let Some(name) = self.take_value()? else {
                            return self.need_more("a member name");
                        };
                        let name: String = serde_json::from_slice(&name)
                            .or_else(|e| fail(at, format!("member name: {e}")))?;
                        let member = match name.as_str() {
                            "items" => Member::Items,
                            "metadata" => Member::Metadata,
                            "kind" => Member::Kind,
                            "apiVersion" => Member::ApiVersion,
                            _ => Member::Other,
                        };
                        self.state = JsonState::Colon { member };
                    }
                    Some(other) => {
                        return fail(
                            at,
                            format!("expected a member name, found {:?}", other as char),
                        )
                    }
                },
                JsonState::Colon { member } => match first {
                    None => return self.need_more("the document"),
                    Some(b':') => {
                        self.consume(1);
                        self.state = JsonState::Value { member };
                    }
                    Some(other) => {
                        return fail(at, format!("expected ':', found {:?}", other as char))
                    }
                },
                JsonState::Value {
                    member: Member::Items,
                } => match first {
                    None => return self.need_more("the document"),
                    Some(b'[') => {
                        self.consume(1);
                        self.saw_items = true;
                        self.state = JsonState::Items { first: true };
                    }
                    Some(b'n') => {
                        // `"items": null` is an empty list.
                        let Some(value) = self.take_value()? else {
                            return self.need_more("items");
                        };
                        if &value[..] != b"null" {
                            return fail(at, "items is neither an array nor null");
                        }
                        self.saw_items = true;
                        self.state = JsonState::AfterMember;
                    }
                    Some(_) => return fail(at, "items is not an array"),
                },
                JsonState::Value { member } => {
                    let Some(value) = self.take_value()? else {
                        return self.need_more("a member's value");
                    };
                    self.state = JsonState::AfterMember;
                    let text = |value: &Bytes| -> Result<String, WalkError> {
                        serde_json::from_slice(value)
                            .or_else(|e| fail(at, format!("{member:?} is not a string: {e}")))
                    };
                    match member {
                        Member::Metadata => {
                            let meta = super::json::parse::<ListMeta>(&value)
                                .or_else(|e| fail(at, format!("list metadata: {e}")))?;
                            return Ok(Some(ListPiece::Meta(meta)));
                        }
                        Member::Kind => self.kind = Some(text(&value)?),
                        Member::ApiVersion => self.api_version = Some(text(&value)?),
                        Member::Items | Member::Other => {}
                    }
                    if let Some(piece) = self.kind_piece() {
                        return Ok(Some(piece));
                    }
                }
                JsonState::Items { first: is_first } => match first {
                    None => return self.need_more("items"),
                    Some(b']') if is_first => {
                        self.consume(1);
                        self.state = JsonState::AfterMember;
                    }
                    Some(b']') => return fail(at, "']' after ',' in items"),
                    Some(_) => {
                        let Some(item) = self.take_value()? else {
                            return self.need_more("an item");
                        };
                        if item.first() != Some(&b'{') {
                            return fail(at, "an item is not a JSON object");
                        }
                        self.state = JsonState::ItemsSeparator;
                        return Ok(Some(ListPiece::Item(item)));
                    }
                },
                JsonState::ItemsSeparator => match first {
                    None => return self.need_more("items"),
                    Some(b',') => {
                        self.consume(1);
                        self.state = JsonState::Items { first: false };
                    }
                    Some(b']') => {
                        self.consume(1);
                        self.state = JsonState::AfterMember;
                    }
                    Some(other) => {
                        return fail(
                            at,
                            format!(
                                "expected ',' or ']' after an item, found {:?}",
                                other as char
                            ),
                        )
                    }
                },
                JsonState::AfterMember => match first {
                    None => return self.need_more("the document"),
                    Some(b',') => {
                        self.consume(1);
                        self.state = JsonState::Member { first: false };
                    }
                    Some(b'}') => {
                        self.consume(1);
                        self.state = JsonState::Done;
                    }
                    Some(other) => {
                        return fail(
                            at,
                            format!("expected ',' or '}}', found {:?}", other as char),
                        )
                    }
                },
            }
        }
    }
}
