//! Schema-drift diagnosis: walks protobuf wire data against compiled descriptors and
//! says where the server's schema and ours disagree.
//!
//! Used when a body fails to decode with our types (or decodes with unknown fields):
//! the walker does not rely on prost's decoder, it reads the raw wire bytes field by
//! field against a [`DescriptorPool`], so it can say *which* field of *which* object
//! carries bytes of another type, and keeps going past the first error where the wire
//! format allows it. A pure function: any input gives a [`Diagnosis`], never a panic;
//! recursion depth and the number of findings are bounded.
//!
//! A vendor Node whose `NodeStatus.deviceInfo` took field 11 reads, against the stock
//! schema (one line per finding; [`Diagnosis::summary`] gives the first one for logs):
//!
//! ```text
//! v1.Node "gpu-node-1": status (NodeStatus) field 11: expected NodeConfigStatus, but its
//! bytes do not parse as one (at assigned.configMap: field 13 has illegal wire type 6);
//! hint: the server's schema differs from this build; an overlay is needed (see docs/overlays.md)
//! ```
//!
//! Layout: `walk` compares one message with its descriptor, `wire` reads the wire
//! format without a schema, `body` handles envelopes, lists and watch streams.

mod body;
mod walk;
mod wire;

use std::fmt;

use prost_reflect::DescriptorPool;

use super::envelope::MAGIC;

/// Most findings one diagnosis keeps; the rest are counted in [`Diagnosis::omitted`].
pub const MAX_FINDINGS: usize = 50;

/// Where to read about overlays, quoted in hints.
const OVERLAY_DOCS: &str = "docs/overlays.md";

/// What kind of disagreement a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// The body, its envelope or a watch frame cannot be read, or names a kind this
    /// build does not have.
    Envelope,
    /// A field number our schema does not have. Decoding drops it silently.
    UnknownField,
    /// A known field whose bytes are not what our schema declares (wrong wire type,
    /// invalid UTF-8, or a nested message that does not parse as its type).
    WrongType,
    /// A message's bytes break the wire format itself (illegal wire type, invalid
    /// varint, a length running past the end, ...).
    Malformed,
    /// The body ends before the object it announces: it arrived incomplete.
    CutOff,
}

/// Which list item or watch event a finding is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRef {
    /// Index in the list's `items`, or of the event in the watch stream.
    pub index: usize,
    /// The watch event type (`ADDED`, `MODIFIED`, ...), for watch streams.
    pub event: Option<String>,
    /// metadata.name of the item, when it could be read.
    pub name: Option<String>,
}

/// Where one disagreement was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Field path from the object root, e.g. `status.config`. Repeated fields carry
    /// the occurrence (`conditions[2]`), maps the key (`capacity["cpu"]`), fields our
    /// schema does not have their number (`#15`).
    pub path: String,
    /// The message that holds the field (`NodeStatus`).
    pub message: String,
    pub field_number: u32,
    pub wire_type: u8,
    /// What our schema expects there (`NodeConfigStatus`, `string`, …), if it knows the field.
    pub expected: Option<String>,
    /// What went wrong, in words.
    pub detail: String,
    pub kind: FindingKind,
    /// Path of the message holding the field (`status`; empty for the object root).
    pub within: String,
    /// The list item or watch event, when the body holds more than one object.
    pub item: Option<ItemRef>,
    /// Byte offset of the field in the object's bytes (the envelope's `raw`; for list
    /// items, in the list's).
    pub offset: usize,
}

impl Finding {
    /// What to do about it, for operators.
    pub fn hint(&self) -> String {
        match self.kind {
            FindingKind::WrongType => format!(
                "the server's schema differs from this build; an overlay is needed (see {OVERLAY_DOCS})"
            ),
            FindingKind::UnknownField => format!(
                "the field is dropped when decoding; an overlay makes it available (see {OVERLAY_DOCS})"
            ),
            FindingKind::Malformed => format!(
                "the bytes are damaged, or the server's schema differs from this build (see {OVERLAY_DOCS})"
            ),
            FindingKind::Envelope => {
                "the body is not an apiserver protobuf body of a kind this build knows".to_string()
            }
            FindingKind::CutOff => {
                "the body arrived incomplete (connection closed early, or a size limit on the way); this alone is not schema drift".to_string()
            }
        }
    }

    /// `status (NodeStatus) field 11`, `Node field 3`, `status.config.assigned
    /// (NodeConfigSource)`; nothing for findings about the body as a whole.
    fn location(&self) -> String {
        let holder = if self.within.is_empty() {
            self.message.clone()
        } else {
            format!("{} ({})", self.within, self.message)
        };
        match self.kind {
            // About the body as a whole: the subject line already says which object.
            FindingKind::Envelope | FindingKind::CutOff => String::new(),
            // The detail names the field (if the key could be read at all).
            FindingKind::Malformed => holder,
            FindingKind::UnknownField | FindingKind::WrongType => {
                format!("{holder} field {}", self.field_number)
            }
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location() {
            location if location.is_empty() => write!(f, "{}", self.detail),
            location => write!(f, "{location}: {}", self.detail),
        }
    }
}

/// The result of diagnosing one body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// `v1.Node`, when the envelope could be read (for watch streams: of the first event).
    pub kind: Option<String>,
    /// metadata.name, when it could be read (single objects; lists and watch events
    /// name their items in [`Finding::item`]).
    pub name: Option<String>,
    pub findings: Vec<Finding>,
    /// Findings beyond [`MAX_FINDINGS`], counted but not kept.
    pub omitted: usize,
}

impl Diagnosis {
    /// True when the body matches the schema completely.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// One line for logs: the first finding with its hint, and how many more there are.
    pub fn summary(&self) -> String {
        let Some(first) = self.findings.first() else {
            return format!("{}: matches the schema of this build", self.subject(None));
        };
        let more = self.findings.len() - 1 + self.omitted;
        let more = match more {
            0 => String::new(),
            1 => " (and 1 more finding)".to_string(),
            n => format!(" (and {n} more findings)"),
        };
        format!(
            "{}: {first}{more}; hint: {}",
            self.subject(first.item.as_ref()),
            first.hint()
        )
    }

    /// `v1.Node "gpu-node-1"`, `v1.NodeList item 3 "gpu-node-1"`,
    /// `v1.Pod watch event 2 (MODIFIED) "web-0"`.
    fn subject(&self, item: Option<&ItemRef>) -> String {
        let mut subject = self.kind.clone().unwrap_or_else(|| "body".to_string());
        match item {
            Some(item) => {
                match &item.event {
                    Some(event) => {
                        subject.push_str(&format!(" watch event {} ({event})", item.index))
                    }
                    None => subject.push_str(&format!(" item {}", item.index)),
                }
                if let Some(name) = &item.name {
                    subject.push_str(&format!(" {name:?}"));
                }
            }
            None => {
                if let Some(name) = &self.name {
                    subject.push_str(&format!(" {name:?}"));
                }
            }
        }
        subject
    }

    /// The schema disagreements as distinct (field path, field number, wire type)
    /// triples, in finding order: what the `kube_state_exporter_schema_drift` gauge
    /// exports. Only findings about fields count (unknown field, wrong type,
    /// malformed): an unreadable envelope or a body cut off in transit is not drift.
    /// Occurrence indices become `[]` (`conditions[2]` → `conditions[]`) so that a
    /// list of many objects with the same drift gives one series, not one per item.
    pub fn drifts(&self) -> Vec<Drift> {
        let mut drifts: Vec<Drift> = Vec::new();
        for finding in &self.findings {
            if !matches!(
                finding.kind,
                FindingKind::UnknownField | FindingKind::WrongType | FindingKind::Malformed
            ) {
                continue;
            }
            let drift = Drift {
                field_path: without_indices(&finding.path),
                field_number: finding.field_number,
                wire_type: finding.wire_type,
            };
            if !drifts.contains(&drift) {
                drifts.push(drift);
            }
        }
        drifts
    }

    /// True when every finding is an unknown field: prost decodes such a body (and
    /// drops those fields); any other finding is a reason it does not.
    pub fn decodes(&self) -> bool {
        self.findings
            .iter()
            .all(|f| f.kind == FindingKind::UnknownField)
    }

    /// Keeps at most [`MAX_FINDINGS`]; when full, a finding that breaks decoding still
    /// displaces an unknown-field one, so that [`Diagnosis::decodes`] stays true to the body.
    fn add(&mut self, finding: Finding) {
        let kinds: Vec<FindingKind> = self.findings.iter().map(|f| f.kind).collect();
        match keep_at(&kinds, finding.kind, MAX_FINDINGS) {
            Keep::Append => self.findings.push(finding),
            Keep::Replace(position) => {
                self.findings[position] = finding;
                self.omitted += 1;
            }
            Keep::Drop => self.omitted += 1,
        }
    }

    fn body_finding(
        &mut self,
        kind: FindingKind,
        item: Option<ItemRef>,
        message: &str,
        detail: String,
    ) {
        self.add(Finding {
            path: String::new(),
            message: message.to_string(),
            field_number: 0,
            wire_type: 0,
            expected: None,
            detail,
            kind,
            within: String::new(),
            item,
            offset: 0,
        });
    }
}

/// One disagreement between the server's schema and this build, as exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// [`Finding::path`] with occurrence indices as `[]`.
    pub field_path: String,
    pub field_number: u32,
    pub wire_type: u8,
}

/// `conditions[2].type` → `conditions[].type`; map keys (`capacity["cpu"]`) stay.
fn without_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(']') {
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Where a new finding goes in a bounded list.
pub(crate) enum Keep {
    Append,
    Replace(usize),
    Drop,
}

/// Appends below the limit; at the limit a finding that breaks decoding replaces the
/// last unknown-field one (so that "decodes" stays true to the body), others are dropped.
pub(crate) fn keep_at(kept: &[FindingKind], new: FindingKind, limit: usize) -> Keep {
    if kept.len() < limit {
        return Keep::Append;
    }
    if new == FindingKind::UnknownField {
        return Keep::Drop;
    }
    match kept
        .iter()
        .rposition(|kind| *kind == FindingKind::UnknownField)
    {
        Some(position) => Keep::Replace(position),
        None => Keep::Drop,
    }
}

/// One line per finding, each with its subject and hint; a clean body says so.
impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            return write!(
                f,
                "{}: matches the schema of this build",
                self.subject(None)
            );
        }
        for (index, finding) in self.findings.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}: {finding}; hint: {}",
                self.subject(finding.item.as_ref()),
                finding.hint()
            )?;
        }
        if self.omitted > 0 {
            write!(f, "\n... and {} more findings not shown", self.omitted)?;
        }
        Ok(())
    }
}

/// Diagnoses a whole body (envelope, object, list or watch frame).
pub fn diagnose(pool: &DescriptorPool, body: &[u8]) -> Diagnosis {
    let mut diagnosis = Diagnosis::default();
    if let Some(unknown) = body.strip_prefix(MAGIC.as_slice()) {
        body::diagnose_envelope(pool, unknown, None, &mut diagnosis);
    } else if body::looks_like_watch_stream(body) {
        body::diagnose_watch_stream(pool, body, &mut diagnosis);
    } else {
        let head: Vec<String> = body.iter().take(4).map(|b| format!("{b:02x}")).collect();
        diagnosis.body_finding(
                FindingKind::Envelope,
            None,
            "",
            format!(
                "not a Kubernetes protobuf body: starts with [{}], expected 6b 38 73 00 (\"k8s\\0\") or a watch frame",
                head.join(" ")
            ),
        );
    }
    diagnosis
}

/// Diagnoses the bytes of one object (an envelope's `raw`) of a known apiVersion and kind.
pub fn diagnose_object(
    pool: &DescriptorPool,
    api_version: &str,
    kind: &str,
    raw: &[u8],
) -> Diagnosis {
    let mut diagnosis = Diagnosis {
        kind: Some(format!("{api_version}.{kind}")),
        ..Diagnosis::default()
    };
    body::diagnose_raw(pool, api_version, kind, raw, None, &mut diagnosis);
    diagnosis
}

#[cfg(test)]
mod tests {
    use prost_types::field_descriptor_proto::{Label, Type};
    use prost_types::{
        DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    };

    use super::*;

    /// `t.R { optional R child = 1; optional string s = 2; }`: a recursive message,
    /// which the Kubernetes schema does not have but an overlay could.
    fn recursive_pool() -> DescriptorPool {
        let field = |name: &str, number, kind, type_name: Option<&str>| {
            let mut field = FieldDescriptorProto {
                name: Some(name.into()),
                number: Some(number),
                type_name: type_name.map(str::to_string),
                ..Default::default()
            };
            field.set_label(Label::Optional);
            field.set_type(kind);
            field
        };
        let file = FileDescriptorProto {
            name: Some("t.proto".into()),
            package: Some("t".into()),
            syntax: Some("proto2".into()),
            message_type: vec![DescriptorProto {
                name: Some("R".into()),
                field: vec![
                    field("child", 1, Type::Message, Some(".t.R")),
                    field("s", 2, Type::String, None),
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        DescriptorPool::from_file_descriptor_set(FileDescriptorSet { file: vec![file] })
            .expect("valid test schema")
    }

    fn nested(levels: usize) -> Vec<u8> {
        let mut bytes = vec![0x12, 0x01, b'x'];
        for _ in 0..levels {
            let mut outer = vec![0x0a];
            prost::encoding::encode_varint(bytes.len() as u64, &mut outer);
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        bytes
    }

    #[test]
    fn nesting_is_bounded_like_prost() {
        let pool = recursive_pool();
        assert!(diagnose_object(&pool, "t", "R", &nested(90)).is_clean());
        let deep = diagnose_object(&pool, "t", "R", &nested(150));
        assert_eq!(deep.findings.len(), 1, "{deep}");
        assert_eq!(deep.findings[0].kind, FindingKind::WrongType);
        assert!(
            deep.findings[0].detail.contains("nested more than 100"),
            "{deep}"
        );
        // Nothing along the chain looks like an R (the string is past the limit), so
        // it is reported at the root's field, the long way down abbreviated.
        assert_eq!(deep.findings[0].path, "child");
        assert!(
            deep.findings[0].detail.contains(
                "(at child.child.child.child.(… 91 more …).child.child.child.child: nested"
            ),
            "{deep}"
        );
    }

    #[test]
    fn findings_are_bounded_and_failures_are_kept() {
        let pool = recursive_pool();
        // 80 unknown fields, then a string that is not UTF-8.
        let mut bytes = Vec::new();
        for number in 100..180u64 {
            prost::encoding::encode_varint(number << 3, &mut bytes);
            bytes.push(0x01);
        }
        bytes.extend_from_slice(&[0x12, 0x01, 0xff]);
        let diagnosis = diagnose_object(&pool, "t", "R", &bytes);
        assert_eq!(diagnosis.findings.len(), MAX_FINDINGS);
        assert_eq!(diagnosis.omitted, 81 - MAX_FINDINGS);
        assert!(!diagnosis.decodes());
        assert!(diagnosis.summary().ends_with(
            "(and 80 more findings); hint: the field is dropped when decoding; an overlay makes it available (see docs/overlays.md)"
        ), "{}", diagnosis.summary());
        assert!(diagnosis
            .to_string()
            .ends_with("... and 31 more findings not shown"));
    }

    #[test]
    fn broken_bytes_at_the_root_name_the_message() {
        let pool = recursive_pool();
        let diagnosis = diagnose_object(&pool, "t", "R", &[0x12, 0x05, b'a']);
        assert_eq!(diagnosis.findings.len(), 1);
        let finding = &diagnosis.findings[0];
        assert_eq!(finding.kind, FindingKind::Malformed);
        assert_eq!(
            finding.to_string(),
            "R: field 2 needs 5 bytes but only 1 remain (truncated)"
        );
    }

    #[test]
    fn drift_paths_drop_occurrence_indices_but_keep_map_keys() {
        assert_eq!(without_indices("status.config"), "status.config");
        assert_eq!(
            without_indices("status.conditions[2].type"),
            "status.conditions[].type"
        );
        assert_eq!(
            without_indices("status.capacity[\"cpu\"]"),
            "status.capacity[\"cpu\"]"
        );
        assert_eq!(without_indices("a[12"), "a[12");
    }

    #[test]
    fn the_pin_maps_api_versions_to_packages() {
        let pin = body::pin().expect("proto/upstream.toml parses");
        assert_eq!(pin.package_for("apps/v1"), Some("k8s.io.api.apps.v1"));
        let pool = crate::api::schema::compiled_pool();
        let deployment = body::resolve_message(&pool, "apps/v1", "Deployment").expect("Deployment");
        assert_eq!(deployment.full_name(), "k8s.io.api.apps.v1.Deployment");
        let status = body::resolve_message(&pool, "v1", "Status").expect("v1 Status");
        assert_eq!(
            status.full_name(),
            "k8s.io.apimachinery.pkg.apis.meta.v1.Status"
        );
        assert!(body::resolve_message(&pool, "example.com/v1", "Widget").is_none());
    }
}
