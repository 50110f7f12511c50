//! Checks on the whole plan: misspelled targets and overlays that disagree.

use std::collections::BTreeMap;

use prost_types::DescriptorProto;

use super::{Edit, FieldEdit, NewMessage, Origin, Planner};
use crate::error::{DidYouMean, OverlayError};
use crate::symbols::relative_to;

impl Planner<'_, '_> {
    /// A new message nothing refers to is a misspelled target (`NodeStatuss`).
    pub(super) fn check_new_messages_are_used(&mut self) {
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
    pub(super) fn check_conflicts(&mut self) {
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
