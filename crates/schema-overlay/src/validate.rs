//! Checks of the merged schema: field numbers unique and usable in every message an
//! overlay touched, every type reference resolvable, and finally a full
//! `prost_reflect::DescriptorPool` build as the last safety net.

use std::collections::BTreeMap;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};

use crate::apply::{find_message, Applied};
use crate::error::{DidYouMean, OverlayError};
use crate::symbols::{relative_to, Symbols};

const MAX_FIELD_NUMBER: i32 = 536_870_911;
const IMPLEMENTATION_RESERVED: std::ops::RangeInclusive<i32> = 19_000..=19_999;

/// Field numbers and reservations of the touched messages.
pub(crate) fn check_numbers(applied: &Applied, errors: &mut Vec<OverlayError>) {
    for full in &applied.touched {
        let Some((file_index, message)) = find_message(&applied.fds, full) else {
            continue;
        };
        let file = &applied.fds.file[file_index];
        let context = MessageContext {
            full,
            package: file.package(),
            file: file.name(),
            message,
            applied,
        };
        context.check_duplicates(errors);
        context.check_reservations(errors);
    }
}

struct MessageContext<'a> {
    full: &'a str,
    package: &'a str,
    file: &'a str,
    message: &'a DescriptorProto,
    applied: &'a Applied,
}

impl MessageContext<'_> {
    fn short(&self) -> String {
        relative_to(self.full, self.package)
    }

    fn origin(&self, field: &FieldDescriptorProto) -> Option<&crate::plan::Origin> {
        self.applied
            .origins
            .get(&(self.full.to_string(), field.name().to_string()))
    }

    fn check_duplicates(&self, errors: &mut Vec<OverlayError>) {
        let mut by_number: BTreeMap<i32, Vec<&FieldDescriptorProto>> = BTreeMap::new();
        for field in &self.message.field {
            by_number.entry(field.number()).or_default().push(field);
        }
        for (number, fields) in by_number.into_iter().filter(|(_, f)| f.len() > 1) {
            let mut from_overlays: Vec<(&FieldDescriptorProto, &crate::plan::Origin)> = fields
                .iter()
                .filter_map(|f| self.origin(f).map(|o| (*f, o)))
                .collect();
            from_overlays.sort_by(|a, b| a.1.loc.cmp(&b.1.loc));
            let Some((_, first_origin)) = from_overlays.first() else {
                continue;
            };
            // The overlay's fields first, in file order, then upstream's.
            let mut ordered = fields.clone();
            ordered.sort_by_key(|f| {
                (
                    self.origin(f).is_none(),
                    self.origin(f).map(|o| o.loc.clone()),
                )
            });
            let described: Vec<String> = ordered
                .iter()
                .map(|f| match self.origin(f) {
                    Some(origin) if origin.loc == first_origin.loc => {
                        format!("`{}` (this line)", f.name())
                    }
                    Some(origin) => format!(
                        "`{}` (overlay `{}`, {})",
                        f.name(),
                        origin.overlay,
                        origin.loc
                    ),
                    None => format!("`{}` (upstream, {})", f.name(), self.file),
                })
                .collect();
            let free = next_free_number(self.message);
            let upstream_field = fields.iter().find(|f| self.origin(f).is_none());
            let fix = match upstream_field {
                Some(upstream) => format!(
                    "every field needs its own number. Move the upstream field `{name}` to a free number by redefining it in the fragment, e.g. `{}`, or remove it with `reserved \"{name}\";`, or give the overlay's field another number",
                    declaration(upstream, free, self.package, self.message),
                    name = upstream.name(),
                ),
                None => format!(
                    "every field needs its own number; give one of {} another number, e.g. {free} (the lowest number above all fields and reservations of {})",
                    fields.iter().map(|f| format!("`{}`", f.name())).collect::<Vec<_>>().join(", "),
                    self.short(),
                ),
            };
            errors.push(OverlayError::DuplicateFieldNumber {
                at: first_origin.loc.clone(),
                message: self.short(),
                number,
                fields: join_and(&described),
                fix,
            });
        }
    }

    fn check_reservations(&self, errors: &mut Vec<OverlayError>) {
        let free = next_free_number(self.message);
        for field in &self.message.field {
            let Some(origin) = self.origin(field) else {
                continue;
            };
            let number = field.number();
            let invalid = if !(1..=MAX_FIELD_NUMBER).contains(&number) {
                Some(format!("field numbers run from 1 to {MAX_FIELD_NUMBER}"))
            } else if IMPLEMENTATION_RESERVED.contains(&number) {
                Some("19000-19999 are reserved for the protobuf implementation".to_string())
            } else {
                None
            };
            if let Some(problem) = invalid {
                errors.push(OverlayError::InvalidFieldNumber {
                    at: origin.loc.clone(),
                    message: self.short(),
                    field: field.name().to_string(),
                    number,
                    problem,
                    free,
                });
            }
            if let Some(range) = self
                .message
                .reserved_range
                .iter()
                .find(|r| (r.start()..r.end()).contains(&number))
            {
                errors.push(OverlayError::Reserved {
                    at: origin.loc.clone(),
                    message: self.short(),
                    field: field.name().to_string(),
                    problem: format!(
                        "number {number} is reserved in {} ({})",
                        self.short(),
                        describe_range(range.start(), range.end())
                    ),
                    fix: format!(
                        "use a free number, e.g. {free}, or drop the reservation if the overlay made it"
                    ),
                });
            }
            if self.message.reserved_name.iter().any(|n| n == field.name()) {
                errors.push(OverlayError::Reserved {
                    at: origin.loc.clone(),
                    message: self.short(),
                    field: field.name().to_string(),
                    problem: format!("the name `{}` is reserved in {}", field.name(), self.short()),
                    fix: "rename the field, or drop `reserved \"...\";` for it (a field redefined by name replaces the upstream one, no reservation needed)".into(),
                });
            }
        }
    }
}

fn describe_range(start: i32, end: i32) -> String {
    if end == start + 1 {
        format!("`reserved {start};`")
    } else {
        format!("`reserved {start} to {};`", end - 1)
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The lowest number above every field and reservation, skipping 19000-19999.
pub(crate) fn next_free_number(message: &DescriptorProto) -> i32 {
    let highest_field = message.field.iter().map(|f| f.number()).max().unwrap_or(0);
    let highest_reserved = message
        .reserved_range
        .iter()
        .map(|r| r.end() - 1)
        .max()
        .unwrap_or(0);
    let next = highest_field.max(highest_reserved).saturating_add(1);
    if IMPLEMENTATION_RESERVED.contains(&next) {
        IMPLEMENTATION_RESERVED.end() + 1
    } else {
        next
    }
}

/// How the field would be declared in a fragment with another number.
pub(crate) fn declaration(
    field: &FieldDescriptorProto,
    number: i32,
    package: &str,
    message: &DescriptorProto,
) -> String {
    let type_text = type_text(field, package);
    let map_entry = field
        .type_name
        .as_deref()
        .and_then(|t| t.rsplit('.').next())
        .and_then(|name| message.nested_type.iter().find(|n| n.name() == name))
        .filter(|n| {
            n.options
                .as_ref()
                .and_then(|o| o.map_entry)
                .unwrap_or(false)
        });
    if let Some(entry) = map_entry {
        let key = entry
            .field
            .iter()
            .find(|f| f.number() == 1)
            .map(|f| type_text_of(f, package));
        let value = entry
            .field
            .iter()
            .find(|f| f.number() == 2)
            .map(|f| type_text_of(f, package));
        if let (Some(key), Some(value)) = (key, value) {
            return format!("map<{key}, {value}> {} = {number};", field.name());
        }
    }
    let label = match field.label() {
        Label::Repeated => "repeated",
        Label::Required => "required",
        Label::Optional => "optional",
    };
    format!("{label} {type_text} {} = {number};", field.name())
}

fn type_text_of(field: &FieldDescriptorProto, package: &str) -> String {
    type_text(field, package)
}

fn type_text(field: &FieldDescriptorProto, package: &str) -> String {
    if let Some(name) = &field.type_name {
        return relative_to(name, package);
    }
    let scalar = match field.r#type() {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
        Type::Group | Type::Message | Type::Enum => "?",
    };
    scalar.to_string()
}

/// Every type reference of the merged schema must name a type in it.
pub(crate) fn check_references(applied: &Applied, errors: &mut Vec<OverlayError>) {
    let symbols = Symbols::from_set(&applied.fds);
    for file in &applied.fds.file {
        let scope = format!(".{}", file.package());
        for message in &file.message_type {
            check_message_references(&scope, message, file.package(), &symbols, applied, errors);
        }
    }
}

fn check_message_references(
    scope: &str,
    message: &DescriptorProto,
    package: &str,
    symbols: &Symbols,
    applied: &Applied,
    errors: &mut Vec<OverlayError>,
) {
    let full = format!("{scope}.{}", message.name());
    for field in &message.field {
        let Some(type_name) = field.type_name.as_deref() else {
            continue;
        };
        if symbols.get(type_name).is_some() {
            continue;
        }
        let origin = applied
            .origins
            .get(&(full.clone(), field.name().to_string()));
        errors.push(match origin {
            Some(origin) => OverlayError::UnknownFieldType {
                at: origin.loc.clone(),
                message: relative_to(&full, package),
                field: field.name().to_string(),
                type_name: type_name.to_string(),
                suggestion: DidYouMean(symbols.suggest_type(type_name, package)),
            },
            None => OverlayError::InvalidSchema {
                message: format!(
                    "{}.{} refers to the missing type {type_name}",
                    &full[1..],
                    field.name()
                ),
                fix: "an overlay removed or renamed something upstream still uses; keep that type"
                    .into(),
            },
        });
    }
    for nested in &message.nested_type {
        check_message_references(&full, nested, package, symbols, applied, errors);
    }
}

/// Builds the reflection pool prost-reflect and the generated code will rely on.
pub(crate) fn check_pool(fds: &FileDescriptorSet, errors: &mut Vec<OverlayError>) {
    if let Err(err) = prost_reflect::DescriptorPool::from_file_descriptor_set(fds.clone()) {
        errors.push(OverlayError::InvalidSchema {
            message: err.to_string(),
            fix:
                "the overlays passed the merger's own checks but the schema is still inconsistent; \
                  reduce the overlays to find the element, and report the case"
                    .into(),
        });
    }
}
