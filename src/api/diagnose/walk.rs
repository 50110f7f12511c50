//! Walks the wire data of one message against its descriptor and collects where the
//! two disagree.
//!
//! A schema change shows up as a field whose bytes are something else than what our
//! schema declares. The real failure is usually found deeper (an illegal wire type three
//! levels down), but the useful answer is the field where the other type starts. So
//! every nested message also reports whether anything in it positively looks like its
//! declared type ("evidence": a known field with the right wire type and a plausible
//! value). A failing nested message without evidence is reported as one finding at the
//! field holding it, with the deepest error as the reason; one with evidence is the right
//! type with something wrong inside, and its own findings are reported instead.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

use super::wire::{self, RawField, Reader, Value, WireError, RECURSION_LIMIT};
use super::{keep_at, FindingKind, Keep};

/// One disagreement, located relative to the message the walk started at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub kind: FindingKind,
    /// Path segments of the message holding the field.
    pub within: Vec<String>,
    /// The field's own segment; `None` for errors of the message's bytes as a whole.
    pub segment: Option<String>,
    /// Short name of the message holding the field.
    pub message: String,
    pub field_number: u32,
    pub wire_type: u8,
    pub expected: Option<String>,
    pub detail: String,
    /// Offset of the field's key (or of the error) in the bytes the walk started at.
    pub offset: usize,
}

impl Issue {
    /// How the issue reads when quoted as the reason a containing message failed.
    fn as_reason(&self) -> String {
        match (&self.segment, self.kind) {
            (_, FindingKind::Malformed) | (None, _) => self.detail.clone(),
            (Some(segment), _) => {
                format!("field {} ({segment}): {}", self.field_number, self.detail)
            }
        }
    }

    fn prefixed(mut self, segment: &str, offset: usize) -> Issue {
        self.within.insert(0, segment.to_string());
        self.offset += offset;
        self
    }
}

/// The first reason a subtree failed, relative to the subtree's root.
#[derive(Debug, Clone)]
struct Failure {
    within: Vec<String>,
    reason: String,
}

impl Failure {
    fn describe(&self) -> String {
        const SHOWN: usize = 4;
        let path = match self.within.len() {
            0 => return self.reason.clone(),
            n if n <= 2 * SHOWN => self.within.join("."),
            n => format!(
                "{}.(… {} more …).{}",
                self.within[..SHOWN].join("."),
                n - 2 * SHOWN,
                self.within[n - SHOWN..].join(".")
            ),
        };
        format!("at {path}: {}", self.reason)
    }
}

/// What walking one message found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub issues: Vec<Issue>,
    /// Issues not kept because of the per-walk limit.
    pub omitted: usize,
    failure: Option<Failure>,
    evidence: bool,
}

impl Outcome {
    fn push(&mut self, issue: Issue, limit: usize) {
        let duplicate = self.issues.iter().any(|kept| {
            kept.within == issue.within
                && kept.segment == issue.segment
                && kept.field_number == issue.field_number
                && kept.detail == issue.detail
        });
        if duplicate {
            return;
        }
        let kinds: Vec<FindingKind> = self.issues.iter().map(|i| i.kind).collect();
        match keep_at(&kinds, issue.kind, limit) {
            Keep::Append => self.issues.push(issue),
            Keep::Replace(position) => {
                self.issues[position] = issue;
                self.omitted += 1;
            }
            Keep::Drop => self.omitted += 1,
        }
    }

    fn fail(&mut self, issue: Issue, limit: usize) {
        if self.failure.is_none() {
            self.failure = Some(Failure {
                within: Vec::new(),
                reason: issue.as_reason(),
            });
        }
        self.push(issue, limit);
    }
}

/// A list item handed back instead of walked, when the caller asked for it.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub bytes: &'a [u8],
    pub offset: usize,
}

pub struct Walker {
    /// Most issues one walk keeps (the rest are counted).
    pub limit: usize,
}

impl Walker {
    /// Walks `bytes` as `message`. With `split_items`, occurrences of that field number
    /// are not walked but returned in `items` (lists diagnose each item on its own).
    pub fn walk_root<'a>(
        &self,
        message: &MessageDescriptor,
        bytes: &'a [u8],
        split_items: Option<u32>,
        items: &mut Vec<Item<'a>>,
    ) -> Outcome {
        self.walk(message, bytes, 0, split_items, items)
    }

    fn walk<'a>(
        &self,
        message: &MessageDescriptor,
        bytes: &'a [u8],
        depth: usize,
        split_items: Option<u32>,
        items: &mut Vec<Item<'a>>,
    ) -> Outcome {
        let mut out = Outcome::default();
        if depth >= RECURSION_LIMIT {
            out.fail(
                self.own_issue(
                    message,
                    0,
                    0,
                    format!(
                        "nested more than {RECURSION_LIMIT} messages deep (beyond the decoder's recursion limit)"
                    ),
                ),
                self.limit,
            );
            return out;
        }
        let mut occurrences: Vec<(u32, usize)> = Vec::new();
        let mut reader = Reader::new(bytes);
        loop {
            let start = reader.position();
            match reader.next_field() {
                Ok(None) => break,
                Err(error) => {
                    let issue = self.wire_issue(message, &error, start);
                    out.fail(issue, self.limit);
                    break;
                }
                Ok(Some(field)) => {
                    let index = next_occurrence(&mut occurrences, field.number);
                    if split_items == Some(field.number) {
                        if let Value::Bytes { bytes, offset } = field.value {
                            items.push(Item { bytes, offset });
                            out.evidence = true;
                            continue;
                        }
                    }
                    match message.get_field(field.number) {
                        Some(declared) => {
                            self.known(&mut out, message, &declared, field, index, depth)
                        }
                        None => out.push(self.unknown_issue(message, &field), self.limit),
                    }
                }
            }
        }
        out
    }

    fn known(
        &self,
        out: &mut Outcome,
        message: &MessageDescriptor,
        declared: &FieldDescriptor,
        field: RawField<'_>,
        index: usize,
        depth: usize,
    ) {
        let kind = declared.kind();
        // Segment and type name are only spelled out when there is something to report:
        // a clean walk over a large list allocates nothing per field.
        let segment = || segment_of(declared, &field, index);
        let issue = |detail: String| Issue {
            kind: FindingKind::WrongType,
            within: Vec::new(),
            segment: Some(segment()),
            message: message.name().to_string(),
            field_number: field.number,
            wire_type: field.wire_type,
            expected: Some(type_name(&kind)),
            detail,
            offset: field.offset,
        };

        // Repeated numbers may come packed (wire type 2) or one by one; both are legal.
        if declared.is_list() && packable(&kind) && field.wire_type == 2 {
            if let Value::Bytes { bytes, .. } = field.value {
                let whole = match fixed_width(&kind) {
                    Some(width) => bytes.len() % width == 0,
                    None => wire::packed_varints_are_valid(bytes),
                };
                if whole {
                    out.evidence |= !bytes.is_empty();
                } else {
                    out.fail(
                        issue(format!(
                            "expected packed {} values, but its {} bytes are not a whole number of them",
                            type_name(&kind),
                            bytes.len()
                        )),
                        self.limit,
                    );
                }
            }
            return;
        }

        let expected_wire = if declared.is_group() {
            3
        } else {
            wire_type_of(&kind)
        };
        if field.wire_type != expected_wire {
            out.fail(
                issue(format!(
                    "expected {}, but it has wire type {} ({})",
                    type_name(&kind),
                    field.wire_type,
                    wire::wire_type_name(field.wire_type)
                )),
                self.limit,
            );
            return;
        }

        match (&kind, field.value) {
            (
                Kind::Message(nested),
                Value::Bytes { bytes, offset } | Value::Group { bytes, offset },
            ) => {
                let child = self.walk(nested, bytes, depth + 1, None, &mut Vec::new());
                self.adopt(out, child, issue, segment, offset, nested.name());
            }
            (Kind::String, Value::Bytes { bytes, .. }) => match std::str::from_utf8(bytes) {
                Ok(text) => out.evidence |= looks_like_text(text),
                Err(_) => out.fail(
                    issue("expected string, but its bytes are not valid UTF-8".to_string()),
                    self.limit,
                ),
            },
            (Kind::Bool, Value::Varint(value)) => out.evidence |= value <= 1,
            _ => out.evidence = true,
        }
    }

    /// Folds a nested message's outcome into its parent's (see the module comment).
    fn adopt(
        &self,
        out: &mut Outcome,
        child: Outcome,
        issue: impl Fn(String) -> Issue,
        segment: impl Fn() -> String,
        offset: usize,
        type_name: &str,
    ) {
        out.evidence |= child.evidence;
        let Some(failure) = child.failure else {
            if !child.issues.is_empty() || child.omitted > 0 {
                self.adopt_issues(out, child.issues, child.omitted, &segment(), offset);
            }
            return;
        };
        if out.failure.is_none() {
            let mut within = failure.within.clone();
            within.insert(0, segment());
            out.failure = Some(Failure {
                within,
                reason: failure.reason.clone(),
            });
        }
        if child.evidence {
            self.adopt_issues(out, child.issues, child.omitted, &segment(), offset);
        } else {
            out.push(
                issue(format!(
                    "expected {type_name}, but its bytes do not parse as one ({})",
                    failure.describe()
                )),
                self.limit,
            );
        }
    }

    fn adopt_issues(
        &self,
        out: &mut Outcome,
        issues: Vec<Issue>,
        omitted: usize,
        segment: &str,
        offset: usize,
    ) {
        out.omitted += omitted;
        for issue in issues {
            out.push(issue.prefixed(segment, offset), self.limit);
        }
    }

    fn unknown_issue(&self, message: &MessageDescriptor, field: &RawField<'_>) -> Issue {
        let size = match field.value {
            Value::Bytes { bytes, .. } | Value::Group { bytes, .. } => {
                format!(", {} bytes", bytes.len())
            }
            Value::Varint(_) | Value::Fixed32(_) | Value::Fixed64(_) => String::new(),
        };
        Issue {
            kind: FindingKind::UnknownField,
            within: Vec::new(),
            segment: Some(format!("#{}", field.number)),
            message: message.name().to_string(),
            field_number: field.number,
            wire_type: field.wire_type,
            expected: None,
            detail: format!(
                "not in {} of this build ({}{size}) — the server has a newer or vendor schema",
                message.name(),
                wire::wire_type_name(field.wire_type)
            ),
            offset: field.offset,
        }
    }

    fn wire_issue(&self, message: &MessageDescriptor, error: &WireError, offset: usize) -> Issue {
        let wire_type = match error {
            WireError::IllegalWireType { wire_type, .. } | WireError::FieldZero { wire_type } => {
                *wire_type
            }
            _ => 0,
        };
        let mut issue = self.own_issue(
            message,
            error.field().unwrap_or(0),
            wire_type,
            error.to_string(),
        );
        issue.offset = offset;
        issue
    }

    fn own_issue(
        &self,
        message: &MessageDescriptor,
        field_number: u32,
        wire_type: u8,
        detail: String,
    ) -> Issue {
        Issue {
            kind: FindingKind::Malformed,
            within: Vec::new(),
            segment: None,
            message: message.name().to_string(),
            field_number,
            wire_type,
            expected: None,
            detail,
            offset: 0,
        }
    }
}

/// Counts occurrences per field number; returns the index of this one.
fn next_occurrence(seen: &mut Vec<(u32, usize)>, number: u32) -> usize {
    if let Some(entry) = seen.iter_mut().find(|(n, _)| *n == number) {
        entry.1 += 1;
        entry.1
    } else {
        seen.push((number, 0));
        0
    }
}

/// `name`, `name[3]` for repeated fields, `name["key"]` for map entries.
fn segment_of(declared: &FieldDescriptor, field: &RawField<'_>, index: usize) -> String {
    let name = declared.name();
    if declared.is_map() {
        if let Value::Bytes { bytes, .. } = field.value {
            if let Some(key) =
                wire::first_bytes_of(bytes, 1).and_then(|k| std::str::from_utf8(k).ok())
            {
                return format!("{name}[{key:?}]");
            }
        }
        format!("{name}[#{index}]")
    } else if declared.is_list() {
        format!("{name}[{index}]")
    } else {
        name.to_string()
    }
}

/// A string counts as evidence when it reads like text: not empty, and no control
/// characters other than whitespace. Bytes of a message mistaken for a string almost
/// always hold keys below 0x20.
fn looks_like_text(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn packable(kind: &Kind) -> bool {
    !matches!(kind, Kind::String | Kind::Bytes | Kind::Message(_))
}

fn fixed_width(kind: &Kind) -> Option<usize> {
    match kind {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => Some(8),
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => Some(4),
        _ => None,
    }
}

fn wire_type_of(kind: &Kind) -> u8 {
    match kind {
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => 1,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => 5,
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Bool
        | Kind::Enum(_) => 0,
    }
}

/// What our schema calls the type: the message's short name or the scalar's proto name.
pub fn type_name(kind: &Kind) -> String {
    let name = match kind {
        Kind::Message(message) => return message.name().to_string(),
        Kind::Enum(enumeration) => return enumeration.name().to_string(),
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
    };
    name.to_string()
}
