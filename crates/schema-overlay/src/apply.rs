//! Second half of the merge: applies a checked plan to a copy of the upstream
//! descriptors and records which overlay line every changed field comes from.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::{descriptor_proto::ReservedRange, DescriptorProto, FileDescriptorSet};

use crate::plan::{FieldEdit, Origin, Parent, Plan};

/// (message full name, field name) → the overlay line that defined the field.
pub(crate) type Origins = BTreeMap<(String, String), Origin>;

pub(crate) struct Applied {
    pub fds: FileDescriptorSet,
    pub origins: Origins,
    /// Full names of every message an overlay changed or added (nested ones too).
    pub touched: BTreeSet<String>,
    pub warnings: Vec<String>,
}

pub(crate) fn apply(upstream: &FileDescriptorSet, plan: &Plan) -> Applied {
    let mut applied = Applied {
        fds: upstream.clone(),
        origins: Origins::new(),
        touched: BTreeSet::new(),
        warnings: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    let mut redefined = BTreeSet::new();
    for edit in &plan.edits {
        // Conflicting duplicates were reported by the plan; the first one stands.
        if !seen.insert((edit.target.as_str(), edit.field.as_str())) {
            continue;
        }
        let Some(message) = find_message_mut(&mut applied.fds, &edit.target) else {
            continue;
        };
        applied.touched.insert(edit.target.clone());
        match &edit.edit {
            FieldEdit::Set(field) => {
                redefined.insert((edit.target.as_str(), edit.field.as_str()));
                match message.field.iter_mut().find(|f| f.name() == edit.field) {
                    Some(existing) => *existing = (**field).clone(),
                    None => message.field.push((**field).clone()),
                }
                applied.origins.insert(
                    (edit.target.clone(), edit.field.clone()),
                    edit.origin.clone(),
                );
            }
            FieldEdit::Remove => {
                message.field.retain(|f| f.name() != edit.field);
                if !message.reserved_name.contains(&edit.field) {
                    message.reserved_name.push(edit.field.clone());
                }
            }
        }
    }
    for reserved in &plan.reserved {
        let Some(message) = find_message_mut(&mut applied.fds, &reserved.target) else {
            continue;
        };
        applied.touched.insert(reserved.target.clone());
        let range = ReservedRange {
            start: Some(reserved.start),
            end: Some(reserved.end),
        };
        if !message.reserved_range.contains(&range) {
            message.reserved_range.push(range);
        }
        // An upstream field redefined by name keeps living under its new number.
        message.field.retain(|f| {
            !reserved.upstream_fields.iter().any(|name| name == f.name())
                || redefined.contains(&(reserved.target.as_str(), f.name()))
        });
    }
    add_new_messages(&mut applied, plan);
    for target in applied.touched.clone() {
        if let Some(message) = find_message_mut(&mut applied.fds, &target) {
            tidy(message);
        }
    }
    add_imports(&mut applied, plan);
    applied
}

fn add_new_messages(applied: &mut Applied, plan: &Plan) {
    let mut added = BTreeSet::new();
    for new in &plan.new_messages {
        if !added.insert(new.full.as_str()) {
            continue;
        }
        match &new.parent {
            Parent::Package(package) => {
                let file_name = plan.symbols.file_of_package(package).unwrap_or_default();
                if let Some(file) = applied.fds.file.iter_mut().find(|f| f.name() == file_name) {
                    file.message_type.push(new.proto.clone());
                }
            }
            Parent::Message(parent) => {
                if let Some(message) = find_message_mut(&mut applied.fds, parent) {
                    message.nested_type.push(new.proto.clone());
                }
            }
        }
        mark_touched(&new.full, &new.proto, &mut applied.touched);
        for (message, field, loc) in &new.field_locs {
            let origin = Origin {
                overlay: new.origin.overlay.clone(),
                loc: loc.clone(),
            };
            applied
                .origins
                .insert((message.clone(), field.clone()), origin);
        }
    }
}

fn mark_touched(full: &str, message: &DescriptorProto, touched: &mut BTreeSet<String>) {
    touched.insert(full.to_string());
    for nested in &message.nested_type {
        mark_touched(&format!("{full}.{}", nested.name()), nested, touched);
    }
}

/// Fields in number order (as upstream and Go's encoder have them) and no map entry
/// left behind by a removed map field.
fn tidy(message: &mut DescriptorProto) {
    message.field.sort_by_key(|f| f.number());
    let used: BTreeSet<String> = message
        .field
        .iter()
        .filter_map(|f| f.type_name.as_deref())
        .filter_map(|t| t.rsplit('.').next())
        .map(str::to_string)
        .collect();
    message.nested_type.retain(|nested| {
        let is_map_entry = nested
            .options
            .as_ref()
            .and_then(|o| o.map_entry)
            .unwrap_or(false);
        !is_map_entry || used.contains(nested.name())
    });
}

/// A field an overlay added may refer to a type of a file its message's file does not
/// import yet (the fragment never imports anything): add the import.
fn add_imports(applied: &mut Applied, plan: &Plan) {
    let mut needed: Vec<(usize, String)> = Vec::new();
    for (message_name, field_name) in applied.origins.keys() {
        let Some((file_index, message)) = find_message(&applied.fds, message_name) else {
            continue;
        };
        let Some(type_name) = message
            .field
            .iter()
            .find(|f| f.name() == field_name)
            .and_then(|f| f.type_name.as_deref())
        else {
            continue;
        };
        if let Some(info) = plan.symbols.get(type_name) {
            needed.push((file_index, info.file.clone()));
        }
    }
    for (file_index, dependency) in needed {
        let file = &mut applied.fds.file[file_index];
        if file.name() == dependency || file.dependency.contains(&dependency) {
            continue;
        }
        file.dependency.push(dependency.clone());
        let importer = file.name().to_string();
        if imports_transitively(&applied.fds, &dependency, &importer) {
            applied.warnings.push(format!(
                "overlay fields make {importer} import {dependency}, which already imports it: \
                 prost and prost-reflect accept the cycle, protoc would not"
            ));
        }
    }
}

/// Whether `from` reaches `to` through imports (bounded by the number of files).
fn imports_transitively(fds: &FileDescriptorSet, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut queue = vec![from.to_string()];
    while let Some(name) = queue.pop() {
        if name == to {
            return true;
        }
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(file) = fds.file.iter().find(|f| f.name() == name) {
            queue.extend(file.dependency.iter().cloned());
        }
    }
    false
}

/// The file index and message of a full name (`.pkg.Outer.Inner`).
pub(crate) fn find_message<'a>(
    fds: &'a FileDescriptorSet,
    full: &str,
) -> Option<(usize, &'a DescriptorProto)> {
    fds.file.iter().enumerate().find_map(|(index, file)| {
        let rest = strip_package(full, file.package())?;
        let mut parts = rest.split('.');
        let first = parts.next()?;
        let mut message = file.message_type.iter().find(|m| m.name() == first)?;
        for part in parts {
            message = message.nested_type.iter().find(|m| m.name() == part)?;
        }
        Some((index, message))
    })
}

pub(crate) fn find_message_mut<'a>(
    fds: &'a mut FileDescriptorSet,
    full: &str,
) -> Option<&'a mut DescriptorProto> {
    let (index, _) = find_message(fds, full)?;
    let file = &mut fds.file[index];
    let rest = strip_package(full, file.package())?.to_string();
    let mut parts = rest.split('.');
    let first = parts.next()?;
    let mut message = file.message_type.iter_mut().find(|m| m.name() == first)?;
    for part in parts {
        message = message.nested_type.iter_mut().find(|m| m.name() == part)?;
    }
    Some(message)
}

fn strip_package<'a>(full: &'a str, package: &str) -> Option<&'a str> {
    if package.is_empty() {
        full.strip_prefix('.')
    } else {
        full.strip_prefix('.')?
            .strip_prefix(package)?
            .strip_prefix('.')
    }
}
