//! Metric families an overlay declares (`[[metric]]` tables in `overlay.toml`): parsed
//! with the position of every value, then checked against the merged schema so that a
//! wrong path is a build error naming the overlay line, never a run-time surprise. The
//! checked form ([`CheckedFamily`]) is plain data: the code generator turns it into
//! Rust without any reflection at run time.

use std::collections::BTreeMap;
use std::fmt;

use prost_reflect::{Cardinality, DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use prost_types::FileDescriptorSet;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::error::{Loc, OverlayError, OverlayErrors};
use crate::overlay::Overlay;
use crate::symbols::closest;

/// One `[[metric]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFamily {
    name: Spanned<String>,
    help: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    stability: Spanned<String>,
    resource: Spanned<String>,
    #[serde(default)]
    each: Option<Spanned<String>>,
    #[serde(default)]
    labels: Option<Spanned<Labels>>,
    value: Spanned<toml::Value>,
}

/// `labels = { device = "name", type = "type" }` in the order written: the label
/// order of the family is the order in the file.
#[derive(Debug, Clone, Default)]
struct Labels(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Labels, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of label name = \"field path\"")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
                let mut pairs = Vec::new();
                while let Some((label, path)) = map.next_entry::<String, String>()? {
                    pairs.push((label, path));
                }
                Ok(Labels(pairs))
            }
        }
        deserializer.deserialize_map(Ordered)
    }
}

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub at: Loc,
}

/// A declared family, not yet checked against a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilyDecl {
    pub name: Located<String>,
    pub help: Located<String>,
    pub kind: Located<String>,
    pub stability: Located<String>,
    pub resource: Located<String>,
    pub each: Option<Located<String>>,
    /// (label name, field path); all at the `labels` line.
    pub labels: Located<Vec<(String, String)>>,
    pub value: Located<DeclaredValue>,
}

/// `value = 1` or `value = "count"`.
#[derive(Debug, Clone, PartialEq)]
pub enum DeclaredValue {
    Constant(f64),
    Field(String),
    /// Anything else TOML allows (a table, a date, …), as written.
    Other(String),
}

impl RawFamily {
    pub(crate) fn locate(self, file: &str, text: &str) -> FamilyDecl {
        fn at<T>(spanned: Spanned<T>, file: &str, text: &str) -> Located<T> {
            let loc = Loc::at_offset(file, text, spanned.span().start);
            Located {
                value: spanned.into_inner(),
                at: loc,
            }
        }
        let value = at(self.value, file, text);
        let name = at(self.name, file, text);
        FamilyDecl {
            labels: match self.labels {
                Some(labels) => {
                    let labels = at(labels, file, text);
                    Located {
                        value: labels.value.0,
                        at: labels.at,
                    }
                }
                None => Located {
                    value: Vec::new(),
                    at: name.at.clone(),
                },
            },
            name,
            help: at(self.help, file, text),
            kind: at(self.kind, file, text),
            stability: at(self.stability, file, text),
            resource: at(self.resource, file, text),
            each: self.each.map(|each| at(each, file, text)),
            value: Located {
                value: match value.value {
                    toml::Value::Integer(n) => DeclaredValue::Constant(n as f64),
                    toml::Value::Float(x) => DeclaredValue::Constant(x),
                    toml::Value::String(path) => DeclaredValue::Field(path),
                    other => DeclaredValue::Other(other.to_string()),
                },
                at: value.at,
            },
        }
    }
}

// ---- the checked form ----------------------------------------------------------

/// How a step reaches its field in the generated (prost) types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `Option<T>` (proto2 `optional`): absent means the zero value.
    Optional,
    /// `T` (proto2 `required`).
    Required,
    /// `Vec<T>`: iterated (only in `each`).
    Repeated,
}

/// One field along a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The field's protobuf name (`deviceInfo`); the generator derives the Rust name.
    pub field: String,
    pub access: Access,
}

/// The scalar at the end of a label or value path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    String,
    Bool,
    /// Any integer type (`int32` … `fixed64`).
    Int,
    /// `float` or `double`.
    Float,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyType {
    Gauge,
    Counter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyStability {
    Alpha,
    Stable,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckedLabel {
    pub name: String,
    pub path: Vec<Step>,
    pub scalar: Scalar,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckedValue {
    Constant(f64),
    Field { path: Vec<Step>, scalar: Scalar },
}

/// A family whose every path exists in the merged schema and has the right type.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedFamily {
    /// The overlay that declared it.
    pub overlay: String,
    pub name: String,
    pub help: String,
    pub kind: FamilyType,
    pub stability: FamilyStability,
    /// `--resources` name of the resource it joins (`nodes`).
    pub resource: String,
    /// Fields from the object to the element a sample is made for; every `Repeated`
    /// step iterates. Empty: one sample per object.
    pub each: Vec<Step>,
    pub labels: Vec<CheckedLabel>,
    pub value: CheckedValue,
}

/// A resource families may join: its plural and the full name of its message
/// (`k8s.io.api.core.v1.Node`, no leading dot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRef {
    pub plural: String,
    pub message: String,
}

/// Checks every family the overlays declare against `merged`: names (well formed, not
/// one of `existing` nor declared twice), type, stability, resource, and each path.
/// Reports all problems, each with its overlay line and a fix.
pub fn check_families(
    merged: &FileDescriptorSet,
    overlays: &[Overlay],
    resources: &[ResourceRef],
    existing: &[String],
) -> Result<Vec<CheckedFamily>, OverlayErrors> {
    let declared: Vec<(&Overlay, &FamilyDecl)> = overlays
        .iter()
        .flat_map(|overlay| overlay.families().iter().map(move |f| (overlay, f)))
        .collect();
    if declared.is_empty() {
        return Ok(Vec::new());
    }
    let pool = DescriptorPool::from_file_descriptor_set(merged.clone()).map_err(|err| {
        OverlayErrors::one(OverlayError::InvalidSchema {
            message: err.to_string(),
            fix: "fix the overlay's fragments first".into(),
        })
    })?;
    let mut errors = Vec::new();
    let mut checked = Vec::new();
    let mut seen: BTreeMap<&str, &Loc> = BTreeMap::new();
    for (overlay, decl) in declared {
        let before = errors.len();
        let name = decl.name.value.as_str();
        if let Some(first) = seen.get(name) {
            errors.push(problem(
                decl,
                &decl.name.at,
                format!("the name is declared twice (first at {first})"),
                "give each family its own name".into(),
            ));
        }
        seen.entry(name).or_insert(&decl.name.at);
        if let Some(family) = check_one(&pool, overlay, decl, resources, existing, &mut errors) {
            if errors.len() == before {
                checked.push(family);
            }
        }
    }
    OverlayErrors::check(errors)?;
    Ok(checked)
}

fn problem(decl: &FamilyDecl, at: &Loc, problem: String, fix: String) -> OverlayError {
    OverlayError::Metric {
        at: at.clone(),
        family: decl.name.value.clone(),
        problem,
        fix,
    }
}

fn check_one(
    pool: &DescriptorPool,
    overlay: &Overlay,
    decl: &FamilyDecl,
    resources: &[ResourceRef],
    existing: &[String],
    errors: &mut Vec<OverlayError>,
) -> Option<CheckedFamily> {
    let mut fail = |at: &Loc, what: String, fix: String| errors.push(problem(decl, at, what, fix));
    let name = &decl.name.value;
    if !is_metric_name(name) {
        fail(
            &decl.name.at,
            format!("`{name}` is not a Prometheus metric name"),
            "use letters, digits and `_`, starting with a letter, e.g. `kube_node_device_info`"
                .into(),
        );
    }
    // Prometheus reserves these suffixes for histogram and summary series
    // (`promtool check metrics` rejects a gauge named so, OpenMetrics parsers misread it).
    if let Some(suffix) = ["_count", "_sum", "_bucket", "_total", "_created"]
        .iter()
        .find(|suffix| name.ends_with(*suffix))
    {
        let is_counter_total = *suffix == "_total" && decl.kind.value == "counter";
        if !is_counter_total {
            fail(
                &decl.name.at,
                format!("`{name}` ends in `{suffix}`, which Prometheus reserves for histogram, summary or counter series"),
                format!("name what is counted instead, e.g. `{}_units`", name.trim_end_matches(suffix)),
            );
        }
    }
    if existing.iter().any(|n| n == name) {
        fail(
            &decl.name.at,
            format!("`{name}` is already a kube-state-metrics family of this exporter"),
            format!(
                "choose a name no built-in family uses, e.g. `{name}_{}`",
                overlay.name().replace('-', "_")
            ),
        );
    }
    if decl.help.value.trim().is_empty() {
        fail(
            &decl.help.at,
            "`help` is empty".into(),
            "say what one series means, e.g. `help = \"1 for each device of the node.\"`".into(),
        );
    }
    let kind = match decl.kind.value.as_str() {
        "gauge" => Some(FamilyType::Gauge),
        "counter" => Some(FamilyType::Counter),
        other => {
            fail(
                &decl.kind.at,
                format!("unknown type `{other}`"),
                "`type = \"gauge\"` (also for info families: value = 1) or `type = \"counter\"`"
                    .into(),
            );
            None
        }
    };
    let stability = match decl.stability.value.as_str() {
        "alpha" => Some(FamilyStability::Alpha),
        "stable" => Some(FamilyStability::Stable),
        other => {
            fail(
                &decl.stability.at,
                format!("unknown stability `{other}`"),
                "`stability = \"alpha\"` (new families) or `stability = \"stable\"`".into(),
            );
            None
        }
    };
    let resource = resources.iter().find(|r| r.plural == decl.resource.value);
    let Some(resource) = resource else {
        let suggestion = closest(
            &decl.resource.value,
            resources
                .iter()
                .map(|r| (r.plural.as_str(), r.plural.as_str())),
        );
        fail(
            &decl.resource.at,
            format!("unknown resource `{}`", decl.resource.value),
            match suggestion {
                Some(s) => format!("use a plural of proto/resources.toml, e.g. `{s}`"),
                None => "use a plural of proto/resources.toml, e.g. `nodes`".into(),
            },
        );
        return None;
    };
    let Some(root) = pool.get_message_by_name(&resource.message) else {
        fail(
            &decl.resource.at,
            format!("message {} is not in the merged schema", resource.message),
            "check proto/resources.toml".into(),
        );
        return None;
    };

    let (each, element) = match &decl.each {
        Some(each) => match walk(&root, &each.value, Mode::Each) {
            Ok((steps, Target::Message(message))) => (steps, message),
            Ok(_) => unreachable_target(),
            Err(found) => {
                fail(&each.at, found.problem, found.fix);
                return None;
            }
        },
        None => (Vec::new(), root),
    };

    let mut labels = Vec::new();
    let mut label_names: Vec<&str> = Vec::new();
    for (label, path) in &decl.labels.value {
        let at = &decl.labels.at;
        if !is_label_name(label) {
            fail(
                at,
                format!("`{label}` is not a Prometheus label name"),
                "use letters, digits and `_`, starting with a letter".into(),
            );
        }
        if label_names.contains(&label.as_str()) {
            fail(
                at,
                format!("label `{label}` is declared twice"),
                "give each label its own name".into(),
            );
        }
        label_names.push(label);
        match walk(&element, path, Mode::Scalar) {
            Ok((_, Target::Scalar(Scalar::Float))) => fail(
                at,
                format!("label `{label}` ← `{path}`: a float makes a poor label (every value a new series)"),
                format!("use `{path}` as the family's `value`, or label from a string field"),
            ),
            Ok((steps, Target::Scalar(scalar))) => labels.push(CheckedLabel {
                name: label.clone(),
                path: steps,
                scalar,
            }),
            Ok(_) => unreachable_target(),
            Err(found) => fail(
                at,
                format!("label `{label}` ← `{path}`: {}", found.problem),
                found.fix,
            ),
        }
    }

    let value = match &decl.value.value {
        DeclaredValue::Constant(x) => Some(CheckedValue::Constant(*x)),
        DeclaredValue::Other(text) => {
            fail(
                &decl.value.at,
                format!("value `{text}` is neither a number nor a field path"),
                "`value = 1` for an info family, or the path of a number or bool field, e.g. `value = \"count\"`".into(),
            );
            None
        }
        DeclaredValue::Field(path) => match walk(&element, path, Mode::Scalar) {
            Ok((_, Target::Scalar(Scalar::String))) => {
                fail(
                    &decl.value.at,
                    format!("value `{path}` is a string field; a sample's value is a number"),
                    format!("make `{path}` a label (`labels = {{ x = \"{path}\" }}`) and use `value = 1`, or pick a number or bool field"),
                );
                None
            }
            Ok((steps, Target::Scalar(scalar))) => Some(CheckedValue::Field {
                path: steps,
                scalar,
            }),
            Ok(_) => unreachable_target(),
            Err(found) => {
                fail(
                    &decl.value.at,
                    format!("value `{path}`: {}", found.problem),
                    found.fix,
                );
                None
            }
        },
    };

    Some(CheckedFamily {
        overlay: overlay.name().to_string(),
        name: name.clone(),
        help: decl.help.value.clone(),
        kind: kind?,
        stability: stability?,
        resource: resource.plural.clone(),
        each,
        labels,
        value: value?,
    })
}

// `walk` returns a message in Each mode and a scalar in Scalar mode, by construction.
fn unreachable_target() -> ! {
    unreachable!("walk's target matches its mode")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `each`: `[]` iterates repeated fields; must end at a repeated message.
    Each,
    /// a label or value: singular fields only, ending at a scalar.
    Scalar,
}

enum Target {
    Message(MessageDescriptor),
    Scalar(Scalar),
}

struct Found {
    problem: String,
    fix: String,
}

fn found(problem: String, fix: impl Into<String>) -> Found {
    Found {
        problem,
        fix: fix.into(),
    }
}

/// Follows `path` (`status.deviceInfo.devices[]`, `name`) from `root`.
fn walk(root: &MessageDescriptor, path: &str, mode: Mode) -> Result<(Vec<Step>, Target), Found> {
    if path.trim().is_empty() {
        return Err(found(
            "the path is empty".into(),
            "name a field, e.g. `status.deviceInfo.devices[]` or `name`",
        ));
    }
    let segments: Vec<&str> = path.split('.').collect();
    let mut message = root.clone();
    let mut steps = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        let last = index + 1 == segments.len();
        let (name, iterate) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (*segment, false),
        };
        let Some(field) = lookup(&message, name) else {
            let fields: Vec<String> = message.fields().map(|f| f.name().to_string()).collect();
            let hint = closest(name, fields.iter().map(|f| (f.as_str(), f.as_str())));
            return Err(found(
                format!(
                    "`{}` has no field `{name}`{}",
                    message.name(),
                    hint.map(|h| format!(" (did you mean `{h}`?)"))
                        .unwrap_or_default()
                ),
                format!("use a field of {} ({})", message.name(), preview(&fields)),
            ));
        };
        let so_far = segments[..=index].join(".");
        if field.is_map() {
            return Err(found(
                format!("`{so_far}` is a map; maps are not supported in family paths"),
                "declare the family over a repeated or singular field instead",
            ));
        }
        let repeated = field.cardinality() == Cardinality::Repeated;
        if iterate && mode == Mode::Scalar {
            return Err(found(
                format!("`{so_far}` iterates (`[]`); a label or value takes one field of the element"),
                "iterate with `each = \"…[]\"` and make label and value paths relative to its element",
            ));
        }
        if iterate && !repeated {
            return Err(found(
                format!("`{so_far}` is not repeated, so `[]` cannot iterate it"),
                format!("write `{}` without `[]`", so_far.trim_end_matches("[]")),
            ));
        }
        if repeated && !iterate {
            return Err(match mode {
                Mode::Each => found(
                    format!("`{so_far}` is repeated but used as a single value"),
                    format!("iterate it: `{so_far}[]`"),
                ),
                Mode::Scalar => found(
                    format!("`{so_far}` is repeated; a label or value takes one value"),
                    format!("iterate it with `each = \"…{name}[]\"` and use paths relative to its element"),
                ),
            });
        }
        steps.push(Step {
            field: field.name().to_string(),
            access: match field.cardinality() {
                Cardinality::Repeated => Access::Repeated,
                Cardinality::Required => Access::Required,
                Cardinality::Optional => Access::Optional,
            },
        });
        match (field.kind(), last, mode) {
            (Kind::Message(next), false, _) => message = next,
            (_, false, _) => {
                return Err(found(
                    format!(
                        "`{so_far}` is a {}, not a message; the path cannot go on",
                        type_name(&field)
                    ),
                    format!("end the path at `{so_far}`"),
                ))
            }
            (Kind::Message(next), true, Mode::Each) => return Ok((steps, Target::Message(next))),
            (_, true, Mode::Each) => {
                return Err(found(
                    format!(
                        "`{so_far}` is a repeated {}; `each` iterates messages",
                        type_name(&field)
                    ),
                    "iterate a repeated message field, whose fields become labels and value",
                ))
            }
            (kind, true, Mode::Scalar) => return match scalar(&kind) {
                Some(scalar) => Ok((steps, Target::Scalar(scalar))),
                None => Err(found(
                    format!("`{so_far}` is a {}, not a scalar", type_name(&field)),
                    "name a string, bool or number field (go further into the message with `.`)",
                )),
            },
        }
    }
    Err(found("the path is empty".into(), "name a field"))
}

/// By protobuf name, then by JSON name (they differ only where `json_name` is set).
fn lookup(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(name)
        .or_else(|| message.get_field_by_json_name(name))
}

fn scalar(kind: &Kind) -> Option<Scalar> {
    Some(match kind {
        Kind::String => Scalar::String,
        Kind::Bool => Scalar::Bool,
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Fixed32
        | Kind::Fixed64
        | Kind::Sfixed32
        | Kind::Sfixed64 => Scalar::Int,
        Kind::Float | Kind::Double => Scalar::Float,
        Kind::Bytes | Kind::Message(_) | Kind::Enum(_) => return None,
    })
}

fn type_name(field: &FieldDescriptor) -> String {
    match field.kind() {
        Kind::Message(m) => format!("message ({})", m.name()),
        Kind::Enum(e) => format!("enum ({})", e.name()),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn preview(fields: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = fields
        .iter()
        .take(SHOWN)
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if fields.len() > SHOWN {
        text.push_str(", …");
    }
    text
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_label_name(name: &str) -> bool {
    is_metric_name(name) && !name.starts_with("__")
}
