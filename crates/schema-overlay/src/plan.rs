//! First half of the merge: reads every fragment of every overlay into a plan of
//! edits (fields set or removed by name, reserved numbers, new messages), resolves
//! the fragments' type names against upstream plus the overlays' new messages, and
//! finds misspelled targets and conflicts between overlays. Nothing is changed yet.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, FieldDescriptorProto, FieldOptions, FileDescriptorSet};

use crate::error::{DidYouMean, Loc, OverlayError};
use crate::fragment::{tag, Fragment};
use crate::symbols::{relative_to, Kind, Symbols};
use crate::Overlay;

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

/// A message of a fragment being read: the fragment, its source path, its full name.
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

impl Planner<'_, '_> {
    fn read_fragment(&mut self, overlay: &str, fragment: &Fragment) {
        let site = |path: Vec<i32>| Site {
            overlay,
            fragment,
            path,
        };
        let file = &fragment.file;
        let root = site(Vec::new());
        if let Some(syntax) = file.syntax.as_deref().filter(|s| *s != "proto2") {
            self.errors.push(OverlayError::Unsupported {
                at: root.at(&[12]),
                what: format!("`syntax = \"{syntax}\"`"),
                fix: "write fragments in proto2, like the upstream Kubernetes files (`syntax = \"proto2\";` or no syntax line)".into(),
            });
            return;
        }
        let package = fragment.package().to_string();
        if !self.plan.symbols.has_package(&package) {
            self.errors.push(OverlayError::PackageNotUpstream {
                at: root.at(&[tag::FILE_PACKAGE]),
                package: package.clone(),
                suggestion: DidYouMean(self.plan.symbols.suggest_package(&package)),
            });
            return;
        }
        // Mirror the directory of the upstream file of the package.
        let upstream_file = self
            .plan
            .symbols
            .file_of_package(&package)
            .unwrap_or_default();
        let expected_dir = upstream_file
            .rsplit_once('/')
            .map_or("", |(dir, _)| dir)
            .to_string();
        if !expected_dir.is_empty() && !fragment.relative.starts_with(&format!("{expected_dir}/")) {
            self.plan.warnings.push(format!(
                "{}: fragment of package {package} is not under {expected_dir}/ of its overlay; mirror the upstream layout so readers find it",
                fragment.display
            ));
        }
        for (what, tag_number, count) in [
            ("an enum", tag::FILE_ENUM, file.enum_type.len()),
            ("a service", tag::FILE_SERVICE, file.service.len()),
            ("an extension", tag::FILE_EXTENSION, file.extension.len()),
        ] {
            for index in 0..count {
                self.unsupported(root.at(&[tag_number, index_i32(index)]), what);
            }
        }
        for (index, message) in file.message_type.iter().enumerate() {
            let full = format!(".{package}.{}", message.name());
            let site = site(vec![tag::FILE_MESSAGE, index_i32(index)]);
            self.read_message(
                &site,
                message,
                &full,
                &package,
                Parent::Package(package.clone()),
            );
        }
    }

    fn unsupported(&mut self, at: Loc, what: &str) {
        let fix = match what {
            "an enum" => "Kubernetes protos carry enumerations as strings: use `optional string`",
            "a oneof" => "declare the fields as plain optional fields",
            _ => "remove it; overlays only change messages and their fields",
        };
        self.errors.push(OverlayError::Unsupported {
            at,
            what: what.to_string(),
            fix: fix.to_string(),
        });
    }

    /// A fragment message: a patch when upstream has it, else a new message.
    fn read_message(
        &mut self,
        site: &Site<'_>,
        message: &DescriptorProto,
        full: &str,
        package: &str,
        parent: Parent,
    ) {
        match self
            .plan
            .symbols
            .get(full)
            .map(|info| (info.kind, info.upstream))
        {
            Some((Kind::Message, true)) => self.read_patch(site, message, full, package),
            Some((Kind::Enum, _)) => self.errors.push(OverlayError::Unsupported {
                at: site.at(&[]),
                what: format!(
                    "changing the upstream enum `{}`",
                    relative_to(full, package)
                ),
                fix: "leave upstream enums as they are".into(),
            }),
            _ => self.read_new_message(site, message, full, package, parent),
        }
    }

    fn read_patch(
        &mut self,
        site: &Site<'_>,
        message: &DescriptorProto,
        full: &str,
        package: &str,
    ) {
        let Some(upstream) = self.messages.by_name.get(full).copied() else {
            return;
        };
        self.check_message_shape(site, message, true);
        let short = relative_to(full, package);
        for (index, field) in message.field.iter().enumerate() {
            let path = [tag::MESSAGE_FIELD, index_i32(index)];
            let Some(field) = self.prepare_field(site, &path, field) else {
                continue;
            };
            self.unresolved.push(PendingField {
                slot: Slot::Edit(self.plan.edits.len()),
                scope: full.to_string(),
                package: package.to_string(),
                message: short.clone(),
                loc: site.at(&path),
            });
            self.plan.edits.push(Edit {
                target: full.to_string(),
                package: package.to_string(),
                field: field.name().to_string(),
                edit: FieldEdit::Set(Box::new(field)),
                origin: site.origin(&path),
            });
        }
        for (index, name) in message.reserved_name.iter().enumerate() {
            let path = [tag::MESSAGE_RESERVED_NAME, index_i32(index)];
            if !upstream.field.iter().any(|f| f.name() == name) {
                let names = upstream.field.iter().map(|f| (f.name(), f.name()));
                self.errors.push(OverlayError::UnknownRemovedField {
                    at: site.at(&path),
                    message: short.clone(),
                    field: name.clone(),
                    suggestion: DidYouMean(
                        crate::symbols::closest(name, names).map(str::to_string),
                    ),
                });
                continue;
            }
            self.plan.edits.push(Edit {
                target: full.to_string(),
                package: package.to_string(),
                field: name.clone(),
                edit: FieldEdit::Remove,
                origin: site.origin(&path),
            });
        }
        for range in &message.reserved_range {
            let (start, end) = (range.start(), range.end());
            self.plan.reserved.push(ReservedNumbers {
                target: full.to_string(),
                start,
                end,
                upstream_fields: upstream
                    .field
                    .iter()
                    .filter(|f| (start..end).contains(&f.number()))
                    .map(|f| f.name().to_string())
                    .collect(),
            });
        }
        for (index, nested) in message.nested_type.iter().enumerate() {
            let mut path = site.path.clone();
            path.extend([tag::MESSAGE_NESTED, index_i32(index)]);
            let nested_site = Site {
                overlay: site.overlay,
                fragment: site.fragment,
                path,
            };
            let nested_full = format!("{full}.{}", nested.name());
            self.read_message(
                &nested_site,
                nested,
                &nested_full,
                package,
                Parent::Message(full.to_string()),
            );
        }
    }

    fn read_new_message(
        &mut self,
        site: &Site<'_>,
        message: &DescriptorProto,
        full: &str,
        package: &str,
        parent: Parent,
    ) {
        let index = self.plan.new_messages.len();
        let file = self
            .plan
            .symbols
            .file_of_package(package)
            .unwrap_or_default()
            .to_string();
        let scope = full
            .rsplit_once('.')
            .map_or("", |(scope, _)| scope)
            .to_string();
        self.plan
            .symbols
            .add_message_tree(&scope, message, &file, false);
        let mut proto = message.clone();
        let mut field_locs = Vec::new();
        self.prepare_new_tree(
            site,
            &mut proto,
            full,
            package,
            index,
            &mut Vec::new(),
            &mut field_locs,
        );
        self.plan.new_messages.push(NewMessage {
            full: full.to_string(),
            package: package.to_string(),
            parent,
            proto,
            origin: site.origin(&[]),
            field_locs,
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn prepare_new_tree(
        &mut self,
        site: &Site<'_>,
        message: &mut DescriptorProto,
        full: &str,
        package: &str,
        index: usize,
        nested_indexes: &mut Vec<usize>,
        field_locs: &mut Vec<(String, String, Loc)>,
    ) {
        self.check_message_shape(site, message, false);
        let short = relative_to(full, package);
        let mut fields = Vec::new();
        for (field_index, field) in message.field.iter().enumerate() {
            let path = [tag::MESSAGE_FIELD, index_i32(field_index)];
            let loc = site.at(&path);
            field_locs.push((full.to_string(), field.name().to_string(), loc.clone()));
            let prepared = self
                .prepare_field(site, &path, field)
                .unwrap_or_else(|| field.clone());
            self.unresolved.push(PendingField {
                slot: Slot::New {
                    message: index,
                    nested: nested_indexes.clone(),
                    field: field_index,
                },
                scope: full.to_string(),
                package: package.to_string(),
                message: short.clone(),
                loc,
            });
            fields.push(prepared);
        }
        message.field = fields;
        for (nested_index, nested) in message.nested_type.iter_mut().enumerate() {
            let mut path = site.path.clone();
            path.extend([tag::MESSAGE_NESTED, index_i32(nested_index)]);
            let nested_site = Site {
                overlay: site.overlay,
                fragment: site.fragment,
                path,
            };
            let nested_full = format!("{full}.{}", nested.name());
            nested_indexes.push(nested_index);
            self.prepare_new_tree(
                &nested_site,
                nested,
                &nested_full,
                package,
                index,
                nested_indexes,
                field_locs,
            );
            nested_indexes.pop();
        }
    }

    /// Rejects what overlays cannot express: enums, extensions, message options and
    /// (in patches, where they would split upstream fields) oneofs.
    fn check_message_shape(&mut self, site: &Site<'_>, message: &DescriptorProto, patch: bool) {
        for index in 0..message.enum_type.len() {
            self.unsupported(site.at(&[tag::MESSAGE_ENUM, index_i32(index)]), "an enum");
        }
        for index in 0..message.extension.len() {
            self.unsupported(
                site.at(&[tag::MESSAGE_EXTENSION, index_i32(index)]),
                "an extension",
            );
        }
        if patch {
            for index in 0..message.oneof_decl.len() {
                self.unsupported(site.at(&[tag::MESSAGE_ONEOF, index_i32(index)]), "a oneof");
            }
        }
        if message
            .options
            .as_ref()
            .is_some_and(|o| !o.uninterpreted_option.is_empty())
        {
            self.unsupported(site.at(&[tag::MESSAGE_OPTIONS]), "a message option");
        }
    }

    /// Fills in what protoc would (json_name) and interprets the few field options
    /// overlays may use; `None` after reporting an error.
    fn prepare_field(
        &mut self,
        site: &Site<'_>,
        path: &[i32],
        field: &FieldDescriptorProto,
    ) -> Option<FieldDescriptorProto> {
        let mut field = field.clone();
        if field.r#type == Some(Type::Group as i32) {
            self.unsupported(site.at(path), "a group field");
            return None;
        }
        if field.json_name.is_none() {
            field.json_name = Some(json_name(field.name()));
        }
        if let Some(options) = field.options.take() {
            let mut interpreted = FieldOptions::default();
            for option in &options.uninterpreted_option {
                let name: Vec<&str> = option
                    .name
                    .iter()
                    .map(|part| part.name_part.as_str())
                    .collect();
                let value = option.identifier_value.as_deref();
                let flag = match value {
                    Some("true") => Some(true),
                    Some("false") => Some(false),
                    _ => None,
                };
                match (name.as_slice(), flag) {
                    (["deprecated"], Some(flag)) => interpreted.deprecated = Some(flag),
                    (["packed"], Some(flag)) => interpreted.packed = Some(flag),
                    _ => {
                        let mut option_path = path.to_vec();
                        option_path.push(tag::FIELD_OPTIONS);
                        self.errors.push(OverlayError::Unsupported {
                            at: site.at(&option_path),
                            what: format!("field option `{}`", name.join(".")),
                            fix: "only `deprecated = true|false` and `packed = true|false` are understood; remove the option".into(),
                        });
                        return None;
                    }
                }
            }
            if interpreted != FieldOptions::default() {
                field.options = Some(interpreted);
            }
        }
        Some(field)
    }

    fn resolve_all(&mut self) {
        for pending in std::mem::take(&mut self.unresolved) {
            let field = match &pending.slot {
                Slot::Edit(index) => match &mut self.plan.edits[*index].edit {
                    FieldEdit::Set(field) => field,
                    FieldEdit::Remove => continue,
                },
                Slot::New {
                    message,
                    nested,
                    field,
                } => {
                    let mut proto = &mut self.plan.new_messages[*message].proto;
                    for &index in nested {
                        proto = &mut proto.nested_type[index];
                    }
                    &mut proto.field[*field]
                }
            };
            let Some(written) = field.type_name.clone() else {
                continue;
            };
            match self.plan.symbols.resolve(&written, &pending.scope) {
                Some(full) => {
                    let kind = self.plan.symbols.get(&full).map(|info| info.kind);
                    field.r#type = Some(match kind {
                        Some(Kind::Enum) => Type::Enum as i32,
                        _ => Type::Message as i32,
                    });
                    field.type_name = Some(full);
                }
                None => {
                    let suggestion = self.plan.symbols.suggest_type_full(&written);
                    if let Some(full) = &suggestion {
                        self.suggested.insert(full.clone());
                    }
                    self.errors.push(OverlayError::UnknownFieldType {
                        at: pending.loc,
                        message: pending.message,
                        field: field.name().to_string(),
                        type_name: written.clone(),
                        suggestion: DidYouMean(
                            suggestion.map(|full| relative_to(&full, &pending.package)),
                        ),
                    });
                }
            }
        }
    }

    /// A new message nothing refers to is a misspelled target (`NodeStatuss`).
    fn check_new_messages_are_used(&mut self) {
        // (type referred to, message holding the field)
        let mut uses: Vec<(String, String)> = Vec::new();
        for edit in &self.plan.edits {
            if let FieldEdit::Set(field) = &edit.edit {
                if let Some(t) = &field.type_name {
                    uses.push((t.clone(), edit.target.clone()));
                }
            }
        }
        for message in &self.plan.new_messages {
            collect_uses(&message.full, &message.proto, &mut uses);
        }
        for message in &self.plan.new_messages {
            // A message referring to itself (or from inside) does not make it used.
            let inside = format!("{}.", message.full);
            let used = uses.iter().any(|(t, holder)| {
                *t == message.full && *holder != message.full && !holder.starts_with(&inside)
            });
            // A misspelled field type that points here already explains why it is unused.
            if used || self.suggested.contains(&message.full) {
                continue;
            }
            let short = relative_to(&message.full, &message.package);
            self.errors.push(OverlayError::UnknownTargetMessage {
                at: message.origin.loc.clone(),
                message: short.clone(),
                package: message.package.clone(),
                suggestion: DidYouMean(
                    self.plan
                        .symbols
                        .suggest_upstream_message(&short, &message.package),
                ),
            });
        }
    }

    /// Two overlays (or two fragments) that define the same field or new message differently.
    fn check_conflicts(&mut self) {
        let mut first_edit: BTreeMap<(&str, &str), &Edit> = BTreeMap::new();
        for edit in &self.plan.edits {
            match first_edit.get(&(edit.target.as_str(), edit.field.as_str())) {
                None => {
                    first_edit.insert((&edit.target, &edit.field), edit);
                }
                Some(first) if first.edit != edit.edit => {
                    let what = format!(
                        "field `{}.{}`",
                        relative_to(&edit.target, &edit.package),
                        edit.field
                    );
                    let detail = format!(
                        "\n  here:  `{}`\n  there: `{}`",
                        edit_text(edit, &edit.package),
                        edit_text(first, &edit.package)
                    );
                    self.errors
                        .push(disagreement(what, detail, &edit.origin, &first.origin));
                }
                Some(_) => {}
            }
        }
        let mut first_message: BTreeMap<&str, &NewMessage> = BTreeMap::new();
        for message in &self.plan.new_messages {
            match first_message.get(message.full.as_str()) {
                None => {
                    first_message.insert(&message.full, message);
                }
                Some(first) if first.proto != message.proto => {
                    let what = format!(
                        "new message `{}`",
                        relative_to(&message.full, &message.package)
                    );
                    self.errors.push(disagreement(
                        what,
                        String::new(),
                        &message.origin,
                        &first.origin,
                    ));
                }
                Some(_) => {}
            }
        }
    }
}

/// How a fragment wrote the edit (for conflict reports).
fn edit_text(edit: &Edit, package: &str) -> String {
    match &edit.edit {
        FieldEdit::Set(field) => crate::validate::declaration(
            field,
            field.number(),
            package,
            &DescriptorProto::default(),
        ),
        FieldEdit::Remove => format!("reserved \"{}\";", edit.field),
    }
}

fn disagreement(what: String, detail: String, here: &Origin, first: &Origin) -> OverlayError {
    if here.overlay == first.overlay {
        OverlayError::Contradiction {
            at: here.loc.clone(),
            what,
            detail,
            overlay: here.overlay.clone(),
            other: first.loc.clone(),
        }
    } else {
        OverlayError::Conflict {
            at: here.loc.clone(),
            what,
            overlay: here.overlay.clone(),
            detail,
            other: first.loc.clone(),
            other_overlay: first.overlay.clone(),
        }
    }
}

fn collect_uses(full: &str, message: &DescriptorProto, uses: &mut Vec<(String, String)>) {
    for field in &message.field {
        if let Some(t) = &field.type_name {
            uses.push((t.clone(), full.to_string()));
        }
    }
    for nested in &message.nested_type {
        collect_uses(&format!("{full}.{}", nested.name()), nested, uses);
    }
}

/// protoc's default JSON name: underscores dropped, the letter after each capitalized.
pub(crate) fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper_next = false;
    for c in name.chars() {
        if c == '_' {
            upper_next = true;
        } else if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn index_i32(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}
