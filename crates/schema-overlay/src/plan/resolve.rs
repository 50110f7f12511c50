//! Resolving the fragments' type names once every new message is known.

use prost_types::field_descriptor_proto::Type;

use super::{FieldEdit, Planner, Slot};
use crate::error::{DidYouMean, OverlayError};
use crate::symbols::{relative_to, Kind};

impl Planner<'_, '_> {
    pub(super) fn resolve_all(&mut self) {
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
}
