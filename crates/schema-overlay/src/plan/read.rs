//! Reading fragments into edits and new messages (patch or new, per message).

use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, FieldDescriptorProto, FieldOptions};

use super::{
    index_i32, Edit, FieldEdit, NewMessage, Parent, PendingField, Planner, ReservedNumbers, Site,
    Slot,
};
use crate::error::{DidYouMean, Loc, OverlayError};
use crate::fragment::{tag, Fragment};
use crate::symbols::{relative_to, Kind};

impl Planner<'_, '_> {
    pub(super) fn read_fragment(&mut self, overlay: &str, fragment: &Fragment) {
        let site = |path: Vec<i32>| Site {
            overlay,
            fragment,
            path,
        };
        let file = &fragment.file;
        let root = site(Vec::new());
        if let Some(syntax) = file.syntax.as_deref().filter(|s| *s != "proto2") {
            self.errors.push(OverlayError::Unsupported {
                at: root.at(&[tag::FILE_SYNTAX]),
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
}

/// protoc's default JSON name: underscores dropped, the letter after each capitalized.
fn json_name(name: &str) -> String {
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
