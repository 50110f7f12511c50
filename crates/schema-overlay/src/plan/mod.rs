//! First half of the merge: reads every fragment of every overlay into a plan of
//! edits (fields set or removed by name, reserved numbers, new messages), resolves
//! the fragments' type names against upstream plus the overlays' new messages, and
//! finds misspelled targets and conflicts between overlays. Nothing is changed yet.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};

use crate::error::{Loc, OverlayError};
use crate::fragment::Fragment;
use crate::symbols::Symbols;
use crate::Overlay;

mod checks;
mod read;
mod resolve;

/// Where an edit comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub overlay: String,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldEdit {
    /// Add the field, or replace the upstream field of the same name.
    Set(Box<FieldDescriptorProto>),
    /// `reserved "name";`: drop the upstream field of that name.
    Remove,
}

#[derive(Debug, Clone)]
pub(crate) struct Edit {
    /// Full name of the upstream message (`.k8s.io.api.core.v1.NodeStatus`).
    pub target: String,
    /// Package of the fragment (for naming the target in messages).
    pub package: String,
    pub field: String,
    pub edit: FieldEdit,
    pub origin: Origin,
}

/// `reserved N;` / `reserved N to M;` in a patched message: the numbers are reserved in
/// the merged message and the upstream fields using them are dropped (unless an
/// overlay redefines them by name, which moves them).
#[derive(Debug, Clone)]
pub(crate) struct ReservedNumbers {
    pub target: String,
    /// Half-open, like `DescriptorProto.reserved_range`.
    pub start: i32,
    pub end: i32,
    pub upstream_fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Parent {
    /// A top-level message, added to the upstream file of this package.
    Package(String),
    /// Nested in an upstream message.
    Message(String),
}

#[derive(Debug, Clone)]
pub(crate) struct NewMessage {
    pub full: String,
    pub package: String,
    pub parent: Parent,
    pub proto: DescriptorProto,
    pub origin: Origin,
    /// Locations of its fields (and its nested messages' fields) by (message, field).
    pub field_locs: Vec<(String, String, Loc)>,
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub edits: Vec<Edit>,
    pub reserved: Vec<ReservedNumbers>,
    pub new_messages: Vec<NewMessage>,
    pub symbols: Symbols,
    pub warnings: Vec<String>,
}

/// An element of a fragment being read: the overlay, the fragment and the source path.
struct Site<'a> {
    overlay: &'a str,
    fragment: &'a Fragment,
    path: Vec<i32>,
}

impl Site<'_> {
    fn at(&self, more: &[i32]) -> Loc {
        let mut path = self.path.clone();
        path.extend_from_slice(more);
        self.fragment.loc(&path)
    }

    fn origin(&self, more: &[i32]) -> Origin {
        Origin {
            overlay: self.overlay.to_string(),
            loc: self.at(more),
        }
    }
}

pub(crate) fn plan(
    upstream: &FileDescriptorSet,
    overlays: &[Overlay],
    errors: &mut Vec<OverlayError>,
) -> Plan {
    let messages = UpstreamMessages::index(upstream);
    let mut planner = Planner {
        plan: Plan {
            symbols: Symbols::from_set(upstream),
            ..Plan::default()
        },
        messages: &messages,
        errors,
        unresolved: Vec::new(),
        suggested: BTreeSet::new(),
    };
    for overlay in overlays {
        for fragment in &overlay.fragments {
            planner.read_fragment(overlay.name(), fragment);
        }
    }
    planner.resolve_all();
    planner.check_new_messages_are_used();
    planner.check_conflicts();
    planner.plan
}

/// Upstream messages by full name, for patching.
struct UpstreamMessages<'a> {
    by_name: BTreeMap<String, &'a DescriptorProto>,
}

impl<'a> UpstreamMessages<'a> {
    fn index(fds: &'a FileDescriptorSet) -> UpstreamMessages<'a> {
        fn walk<'a>(
            scope: &str,
            message: &'a DescriptorProto,
            out: &mut BTreeMap<String, &'a DescriptorProto>,
        ) {
            let full = format!("{scope}.{}", message.name());
            for nested in &message.nested_type {
                walk(&full, nested, out);
            }
            out.insert(full, message);
        }
        let mut by_name = BTreeMap::new();
        for file in &fds.file {
            let scope = file
                .package
                .as_deref()
                .map(|p| format!(".{p}"))
                .unwrap_or_default();
            for message in &file.message_type {
                walk(&scope, message, &mut by_name);
            }
        }
        UpstreamMessages { by_name }
    }
}

/// A field whose type name still has to be resolved, and where it lives.
struct PendingField {
    /// Index into `plan.edits`, or (new message index, path of nested indexes, field index).
    slot: Slot,
    scope: String,
    package: String,
    message: String,
    loc: Loc,
}

enum Slot {
    Edit(usize),
    New {
        message: usize,
        nested: Vec<usize>,
        field: usize,
    },
}

struct Planner<'a, 'e> {
    plan: Plan,
    messages: &'a UpstreamMessages<'a>,
    errors: &'e mut Vec<OverlayError>,
    unresolved: Vec<PendingField>,
    /// Full names offered as did-you-mean for unknown field types.
    suggested: BTreeSet<String>,
}

pub(crate) fn index_i32(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}
