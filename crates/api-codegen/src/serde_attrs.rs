//! Serde attributes for the generated types, derived from the descriptors, so the
//! same prost structs also read and write the apiserver's JSON.
//!
//! The descriptor's field name is the Kubernetes JSON name (`podIPs`, `volumeID`):
//! upstream writes its `.proto` fields in the Go JSON spelling, and prost snake-cases
//! them, so every field gets an explicit `rename`. Messages whose JSON form is not a
//! JSON object (times, quantities, int-or-string, raw JSON) get no derive: their
//! impls are written by hand in the exporter (`src/api/json`).

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};

use crate::CodegenError;

/// Module of the exporter crate that holds the field helpers the attributes name.
const FIELD_HELPERS: &str = "crate::api::json::fields";

/// Messages whose JSON is written by hand (their JSON is a string, a number or
/// arbitrary JSON, not an object of their fields).
pub const HAND_WRITTEN_JSON: &[&str] = &[
    ".k8s.io.apimachinery.pkg.apis.meta.v1.Time",
    ".k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
    ".k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
    ".k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
    ".k8s.io.apimachinery.pkg.api.resource.Quantity",
    ".k8s.io.apimachinery.pkg.api.resource.QuantityValue",
    ".k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    ".k8s.io.apimachinery.pkg.runtime.RawExtension",
];

/// Messages that never appear in JSON (the protobuf envelope itself).
const NO_JSON: &[&str] = &[".k8s.io.apimachinery.pkg.runtime.Unknown"];

/// The attributes to hand to prost-build, as (protobuf path, attribute) pairs.
#[derive(Debug, Default)]
pub struct SerdePlan {
    pub type_attributes: Vec<(String, String)>,
    pub field_attributes: Vec<(String, String)>,
    /// Messages serialized as their single `items` list (Go named slice types such
    /// as `ExtraValue`), reported for the build log and tests.
    pub transparent: Vec<String>,
}

impl SerdePlan {
    pub fn from_descriptors(fds: &FileDescriptorSet) -> Result<SerdePlan, CodegenError> {
        let mut plan = SerdePlan::default();
        for file in &fds.file {
            let package = file.package.as_deref().unwrap_or_default();
            let scope = if package.is_empty() { String::new() } else { format!(".{package}") };
            for message in &file.message_type {
                plan.add_message(&scope, message)?;
            }
        }
        Ok(plan)
    }

    fn add_message(&mut self, scope: &str, message: &DescriptorProto) -> Result<(), CodegenError> {
        let name = message.name.as_deref().unwrap_or_default();
        let path = format!("{scope}.{name}");
        // Map entries are not structs in prost; their fields are handled by the map field.
        if message.options.as_ref().and_then(|o| o.map_entry).unwrap_or(false) {
            return Ok(());
        }
        for nested in &message.nested_type {
            self.add_message(&path, nested)?;
        }
        if HAND_WRITTEN_JSON.contains(&path.as_str()) || NO_JSON.contains(&path.as_str()) {
            return Ok(());
        }
        let derive = "#[derive(::serde::Serialize, ::serde::Deserialize)]";
        if is_named_slice(message) {
            self.type_attributes
                .push((path.clone(), format!("{derive}\n#[serde(transparent)]")));
            self.transparent.push(path);
            return Ok(());
        }
        self.type_attributes
            .push((path.clone(), format!("{derive}\n#[serde(default)]")));
        for field in &message.field {
            let attribute = field_attribute(message, field).map_err(|reason| {
                CodegenError::Serde {
                    field: format!("{path}.{}", field.name.as_deref().unwrap_or_default()),
                    reason,
                }
            })?;
            let field_name = field.name.as_deref().unwrap_or_default();
            self.field_attributes
                .push((format!("{path}.{field_name}"), attribute));
        }
        Ok(())
    }
}

/// Go named slice types (`type ExtraValue []string`): upstream wraps each in a message
/// with one repeated field `items`, but its JSON is the bare list. They cannot be told
/// apart from real objects with an `items` list (`DownwardAPIProjection`) by shape,
/// so they are named here (by message name, in whichever package).
const NAMED_SLICES: &[&str] = &["ExtraValue", "Verbs"];

fn is_named_slice(message: &DescriptorProto) -> bool {
    let named = message
        .name
        .as_deref()
        .is_some_and(|name| NAMED_SLICES.contains(&name));
    named
        && matches!(message.field.as_slice(),
            [only] if only.name.as_deref() == Some("items") && only.label() == Label::Repeated)
}

fn is_map(message: &DescriptorProto, field: &FieldDescriptorProto) -> bool {
    map_entry(message, field).is_some()
}

/// The synthetic `XEntry` message of a map field, if the field is a map.
fn map_entry<'a>(message: &'a DescriptorProto, field: &FieldDescriptorProto) -> Option<&'a DescriptorProto> {
    if field.label() != Label::Repeated || field.r#type() != Type::Message {
        return None;
    }
    let type_name = field.type_name.as_deref()?;
    let entry_name = type_name.rsplit('.').next()?;
    message.nested_type.iter().find(|nested| {
        nested.name.as_deref() == Some(entry_name)
            && nested.options.as_ref().and_then(|o| o.map_entry).unwrap_or(false)
    })
}

fn field_attribute(message: &DescriptorProto, field: &FieldDescriptorProto) -> Result<String, String> {
    let json_name = field.name.as_deref().ok_or("field without a name")?;
    let rename = format!("rename = {json_name:?}");
    let helpers = FIELD_HELPERS;
    let rest = if let Some(entry) = map_entry(message, field) {
        let value_is_bytes = entry
            .field
            .iter()
            .find(|f| f.number == Some(2))
            .map(|value| value.r#type() == Type::Bytes)
            .unwrap_or(false);
        if value_is_bytes {
            format!(
                "with = \"{helpers}::base64_map\", \
                 skip_serializing_if = \"::std::collections::BTreeMap::is_empty\""
            )
        } else {
            format!(
                "deserialize_with = \"{helpers}::null_as_default\", \
                 skip_serializing_if = \"::std::collections::BTreeMap::is_empty\""
            )
        }
    } else if field.label() == Label::Repeated {
        if field.r#type() == Type::Bytes {
            return Err("repeated bytes has no JSON mapping here".into());
        }
        format!(
            "deserialize_with = \"{helpers}::null_as_default\", \
             skip_serializing_if = \"::std::vec::Vec::is_empty\""
        )
    } else if field.r#type() == Type::Bytes {
        format!(
            "with = \"{helpers}::base64_option\", \
             skip_serializing_if = \"::std::option::Option::is_none\""
        )
    } else {
        "skip_serializing_if = \"::std::option::Option::is_none\"".to_string()
    };
    Ok(format!("#[serde({rename}, {rest})]"))
}
