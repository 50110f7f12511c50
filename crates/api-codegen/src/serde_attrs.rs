//! Serde attributes for the generated types, derived from the descriptors, so the
//! same prost structs also read and write the apiserver's JSON.
//!
//! The descriptor's field name is the Kubernetes JSON name (`podIPs`, `volumeID`):
//! upstream writes its `.proto` fields in the Go JSON spelling, and prost snake-cases
//! them, so every field gets an explicit `rename`. Messages whose JSON form is not a
//! JSON object (times, quantities, int-or-string, raw JSON) get no derive: their
//! impls are written by hand in the exporter (`src/api/json`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use quote::ToTokens;

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

/// How a field appears in Go's JSON when it is not "descriptor name as the key".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonForm {
    /// An embedded Go struct (`json:",inline"`): its fields sit in the parent object.
    Inline,
    /// A different key than the descriptor's field name.
    Key(&'static str),
}

/// The fields whose JSON form the descriptors do not tell, as
/// (package prefix, `Message.field`, form). Found with Kubernetes' own fixtures
/// (`tests/decode_testdata.rs` checks every field of every served group).
const JSON_EXCEPTIONS: &[(&str, &str, JsonForm)] = &[
    // Go field names leaked into the .proto where the JSON tag is lower case.
    (
        ".k8s.io.api.admissionregistration.",
        "MutatingWebhookConfiguration.Webhooks",
        JsonForm::Key("webhooks"),
    ),
    (
        ".k8s.io.api.admissionregistration.",
        "ValidatingWebhookConfiguration.Webhooks",
        JsonForm::Key("webhooks"),
    ),
    (
        ".k8s.io.api.admissionregistration.",
        "Validation.Expression",
        JsonForm::Key("expression"),
    ),
    (
        ".k8s.io.api.admissionregistration.",
        "Variable.Name",
        JsonForm::Key("name"),
    ),
    (
        ".k8s.io.api.admissionregistration.",
        "Variable.Expression",
        JsonForm::Key("expression"),
    ),
    (
        ".k8s.io.api.networking.",
        "IngressClassParametersReference.aPIGroup",
        JsonForm::Key("apiGroup"),
    ),
    // Embedded structs.
    (".k8s.io.api.core.", "Volume.volumeSource", JsonForm::Inline),
    (
        ".k8s.io.api.core.",
        "PersistentVolumeSpec.persistentVolumeSource",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.core.",
        "EphemeralContainer.ephemeralContainerCommon",
        JsonForm::Inline,
    ),
    (".k8s.io.api.core.", "Probe.handler", JsonForm::Inline),
    (
        ".k8s.io.api.networking.",
        "IngressRule.ingressRuleValue",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.core.",
        "ConfigMapEnvSource.localObjectReference",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.core.",
        "ConfigMapKeySelector.localObjectReference",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.core.",
        "ConfigMapProjection.localObjectReference",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.core.",
        "ConfigMapVolumeSource.localObjectReference",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.core.",
        "SecretEnvSource.localObjectReference",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.core.",
        "SecretKeySelector.localObjectReference",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.core.",
        "SecretProjection.localObjectReference",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.admissionregistration.",
        "RuleWithOperations.rule",
        JsonForm::Inline,
    ),
    (
        ".k8s.io.api.admissionregistration.",
        "NamedRuleWithOperations.ruleWithOperations",
        JsonForm::Inline,
    ),
];

fn json_form(message_path: &str, field: &str) -> Option<JsonForm> {
    JSON_EXCEPTIONS.iter().find_map(|(prefix, name, form)| {
        let rest = message_path.strip_prefix(prefix)?;
        // `v1.RuleWithOperations` → `RuleWithOperations.rule`
        let message = rest.rsplit('.').next()?;
        let (want_message, want_field) = name.split_once('.')?;
        (message == want_message && field == want_field).then_some(*form)
    })
}

/// Messages that never appear in JSON (the protobuf envelope itself).
const NO_JSON: &[&str] = &[".k8s.io.apimachinery.pkg.runtime.Unknown"];

/// Marks a struct (as a doc attribute, removed again) with its message path, so the
/// field attributes can be added after prost-build has written the code.
const MARKER: &str = "kse-serde-fields:";

/// The serde attributes for the generated types.
///
/// Type attributes go through prost-build (one matcher per message). Field attributes
/// do not: prost-build matches every field against every matcher, which took ~10 s
/// for our ~2000 fields; they are added to the written code by field number instead
/// ([`SerdePlan::inject_field_attributes`]).
#[derive(Debug, Default)]
pub struct SerdePlan {
    /// (message path, attribute) for prost-build's `type_attribute`.
    pub type_attributes: Vec<(String, String)>,
    /// message path → field number → attribute.
    pub field_attributes: BTreeMap<String, BTreeMap<i32, String>>,
    /// Messages serialized as their single `items` list (Go named slice types such
    /// as `ExtraValue`), reported for the build log and tests.
    pub transparent: Vec<String>,
}

impl SerdePlan {
    pub fn from_descriptors(fds: &FileDescriptorSet) -> Result<SerdePlan, CodegenError> {
        let mut plan = SerdePlan::default();
        for file in &fds.file {
            let package = file.package.as_deref().unwrap_or_default();
            let scope = if package.is_empty() {
                String::new()
            } else {
                format!(".{package}")
            };
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
        if message
            .options
            .as_ref()
            .and_then(|o| o.map_entry)
            .unwrap_or(false)
        {
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
        self.type_attributes.push((
            path.clone(),
            format!("{derive}\n#[serde(default)]\n#[doc = \"{MARKER}{path}\"]"),
        ));
        for field in &message.field {
            let attribute =
                field_attribute(&path, message, field).map_err(|reason| CodegenError::Serde {
                    field: format!("{path}.{}", field.name.as_deref().unwrap_or_default()),
                    reason,
                })?;
            let number = field.number.unwrap_or_default();
            self.field_attributes
                .entry(path.clone())
                .or_default()
                .insert(number, attribute);
        }
        Ok(())
    }

    /// Adds the field attributes to the files prost-build wrote (one per package).
    pub fn inject_field_attributes(
        &self,
        fds: &FileDescriptorSet,
        out_dir: &Path,
    ) -> Result<(), CodegenError> {
        // Packages without messages (runtime.schema) get no file from prost-build.
        let packages: BTreeSet<&str> = fds
            .file
            .iter()
            .filter(|f| !f.message_type.is_empty())
            .filter_map(|f| f.package.as_deref())
            .collect();
        for package in packages {
            let path = out_dir.join(format!("{package}.rs"));
            let io = |source| CodegenError::Io {
                path: path.display().to_string(),
                source,
            };
            let text = std::fs::read_to_string(&path).map_err(io)?;
            let mut file = syn::parse_file(&text).map_err(|err| CodegenError::Serde {
                field: package.to_string(),
                reason: format!("generated code does not parse: {err}"),
            })?;
            self.inject_items(&mut file.items)?;
            std::fs::write(&path, prettyplease::unparse(&file)).map_err(io)?;
        }
        Ok(())
    }

    fn inject_items(&self, items: &mut [syn::Item]) -> Result<(), CodegenError> {
        for item in items {
            match item {
                syn::Item::Struct(item) => self.inject_struct(item)?,
                syn::Item::Mod(syn::ItemMod {
                    content: Some((_, items)),
                    ..
                }) => self.inject_items(items)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn inject_struct(&self, item: &mut syn::ItemStruct) -> Result<(), CodegenError> {
        let Some((index, message)) = item
            .attrs
            .iter()
            .enumerate()
            .find_map(|(i, attr)| marker(attr).map(|m| (i, m)))
        else {
            return Ok(());
        };
        item.attrs.remove(index);
        let error = |reason: String| CodegenError::Serde {
            field: message.clone(),
            reason,
        };
        let no_fields = BTreeMap::new();
        let fields = self.field_attributes.get(&message).unwrap_or(&no_fields);
        for field in item.fields.iter_mut() {
            let tag = field
                .attrs
                .iter()
                .find_map(prost_tag)
                .ok_or_else(|| error("a generated field has no prost tag".into()))?;
            let text = fields
                .get(&tag)
                .ok_or_else(|| error(format!("no attribute planned for field {tag}")))?;
            let attributes = syn::parse::Parser::parse_str(syn::Attribute::parse_outer, text)
                .map_err(|err| error(format!("field {tag}: bad attribute {text}: {err}")))?;
            field.attrs.extend(attributes);
        }
        Ok(())
    }
}

/// The message path of a marker doc attribute.
fn marker(attr: &syn::Attribute) -> Option<String> {
    let syn::Meta::NameValue(name_value) = &attr.meta else {
        return None;
    };
    if !name_value.path.is_ident("doc") {
        return None;
    }
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(text),
        ..
    }) = &name_value.value
    else {
        return None;
    };
    text.value().strip_prefix(MARKER).map(str::to_string)
}

/// The field number in `#[prost(string, optional, tag = "5")]`.
fn prost_tag(attr: &syn::Attribute) -> Option<i32> {
    if !attr.path().is_ident("prost") {
        return None;
    }
    let tokens = attr.meta.to_token_stream().to_string();
    let (_, rest) = tokens.split_once("tag = \"")?;
    rest.split('"').next()?.parse().ok()
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

/// The synthetic `XEntry` message of a map field, if the field is a map.
fn map_entry<'a>(
    message: &'a DescriptorProto,
    field: &FieldDescriptorProto,
) -> Option<&'a DescriptorProto> {
    if field.label() != Label::Repeated || field.r#type() != Type::Message {
        return None;
    }
    let type_name = field.type_name.as_deref()?;
    let entry_name = type_name.rsplit('.').next()?;
    message.nested_type.iter().find(|nested| {
        nested.name.as_deref() == Some(entry_name)
            && nested
                .options
                .as_ref()
                .and_then(|o| o.map_entry)
                .unwrap_or(false)
    })
}

fn field_attribute(
    message_path: &str,
    message: &DescriptorProto,
    field: &FieldDescriptorProto,
) -> Result<String, String> {
    let field_name = field.name.as_deref().ok_or("field without a name")?;
    let json_name = match json_form(message_path, field_name) {
        Some(JsonForm::Inline) => {
            if field.label() == Label::Repeated || field.r#type() != Type::Message {
                return Err("only a singular message field can be inlined".into());
            }
            // Go always writes an embedded struct, so protobuf gives Some(..) and so
            // does serde's flatten (an all-default struct when none of its keys is there).
            return Ok(
                "#[serde(flatten, skip_serializing_if = \"::std::option::Option::is_none\")]"
                    .into(),
            );
        }
        Some(JsonForm::Key(key)) => key,
        None => field_name,
    };
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
