//! Small accessors over the generated (prost) types so family functions stay one-liners:
//! absent optional fields read as Go's zero values, as KSM sees them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::api::core::v1::{ContainerState, ContainerStatus};
use crate::api::meta::v1::Time;
use crate::api::resource::Quantity as QuantityMessage;

use super::labelmap::{self, AllowList};
use super::quantity::Quantity;

/// Go's `time.Time{}.Unix()`: what KSM reports for an unset timestamp it reads anyway
/// (e.g. a running container without `startedAt`).
pub const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

pub static EMPTY_STATE: LazyLock<ContainerState> = LazyLock::new(ContainerState::default);

/// An optional message field as Go sees it: the value, or the type's zero value
/// when unset (one shared default per call site). `zero_or!(pod.spec, PodSpec)`.
#[macro_export]
macro_rules! zero_or {
    ($field:expr, $ty:ty) => {{
        static ZERO: ::std::sync::LazyLock<$ty> = ::std::sync::LazyLock::new(<$ty>::default);
        $field.as_ref().unwrap_or(&ZERO)
    }};
}
pub use zero_or;

/// `Option<String>` as Go's string (empty when unset).
pub fn s(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

/// A `metav1.Time` as Unix seconds; unset reads as Go's zero time.
pub fn unix(time: &Option<Time>) -> f64 {
    time.as_ref()
        .and_then(|t| t.seconds)
        .unwrap_or(GO_ZERO_TIME_UNIX) as f64
}

/// Unix seconds unless the time is unset or Go's zero time (`IsZero()`).
pub fn unix_if_set(time: &Option<Time>) -> Option<f64> {
    time.as_ref()
        .and_then(|t| t.seconds)
        .filter(|&s| s != GO_ZERO_TIME_UNIX)
        .map(|s| s as f64)
}

pub fn bool_value(flag: bool) -> f64 {
    if flag {
        1.0
    } else {
        0.0
    }
}

pub fn bool_word(flag: bool) -> &'static str {
    if flag {
        "true"
    } else {
        "false"
    }
}

pub fn state(status: &ContainerStatus) -> &ContainerState {
    status.state.as_ref().unwrap_or(&EMPTY_STATE)
}

pub fn last_state(status: &ContainerStatus) -> &ContainerState {
    status.last_state.as_ref().unwrap_or(&EMPTY_STATE)
}

pub fn quantity(value: &QuantityMessage) -> Option<Quantity> {
    let text = value.string.as_deref()?;
    match Quantity::parse(text) {
        Ok(q) => Some(q),
        Err(error) => {
            tracing::debug!(%error, "skipping unparseable quantity");
            None
        }
    }
}

/// The three series KSM emits per condition: `true`, `false`, `unknown`, value 1 on
/// the one matching the condition's status.
pub fn condition_statuses(status: &str) -> [(&'static str, f64); 3] {
    [
        ("true", bool_value(status == "True")),
        ("false", bool_value(status == "False")),
        ("unknown", bool_value(status == "Unknown")),
    ]
}

/// Resource names as label values: every character outside `[a-zA-Z0-9_]` → `_`.
pub fn sanitize(name: &str) -> Cow<'_, str> {
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(
            name.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect(),
        )
    }
}

/// The `_labels` / `_annotations` sample: allowed keys as `prefix_<key>` pairs.
pub fn allowed_pairs<'a>(
    prefix: &str,
    map: &'a BTreeMap<String, String>,
    allow: &AllowList,
) -> Vec<(String, &'a str)> {
    labelmap::to_label_pairs(prefix, &allow.select(map))
}

/// Every entry of a map as `prefix_<key>` pairs (node selectors).
pub fn all_pairs<'a>(prefix: &str, map: &'a BTreeMap<String, String>) -> Vec<(String, &'a str)> {
    let all = map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    labelmap::to_label_pairs(prefix, &all)
}

/// How a resource quantity is reported: its `unit` label, or `None` when KSM skips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Cpu,
    Bytes,
    Integer,
}

impl ResourceKind {
    pub fn unit(self) -> &'static str {
        match self {
            ResourceKind::Cpu => "core",
            ResourceKind::Bytes => "byte",
            ResourceKind::Integer => "integer",
        }
    }
}

/// KSM's classification of a resource name; `count_pods` is true for node
/// resources, where `pods` is reported as an integer.
pub fn resource_kind(name: &str, count_pods: bool) -> Option<ResourceKind> {
    match name {
        "cpu" => Some(ResourceKind::Cpu),
        "memory" | "storage" | "ephemeral-storage" => Some(ResourceKind::Bytes),
        "pods" if count_pods => Some(ResourceKind::Integer),
        _ if name.starts_with("hugepages-") || name.starts_with("attachable-volumes-") => {
            Some(ResourceKind::Bytes)
        }
        _ if is_extended_resource(name) => Some(ResourceKind::Integer),
        _ => None,
    }
}

/// Extended resources (`nvidia.com/gpu`): not native (native names have no `/` or
/// live under `kubernetes.io/`), not `requests.*`, and `requests.<name>` is a valid
/// qualified name.
fn is_extended_resource(name: &str) -> bool {
    if !name.contains('/') || name.contains("kubernetes.io/") || name.starts_with("requests.") {
        return false;
    }
    let qualified = format!("requests.{name}");
    let Some((prefix, local)) = qualified.split_once('/') else {
        return false;
    };
    is_dns_subdomain(prefix) && is_qualified_local_name(local)
}

fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

fn is_qualified_local_name(text: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.first().copied().is_some_and(alnum)
        && bytes.last().copied().is_some_and(alnum)
        && bytes
            .iter()
            .all(|&b| alnum(b) || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_resources_like_ksm() {
        assert_eq!(resource_kind("cpu", false), Some(ResourceKind::Cpu));
        assert_eq!(
            resource_kind("ephemeral-storage", false),
            Some(ResourceKind::Bytes)
        );
        assert_eq!(
            resource_kind("hugepages-2Mi", false),
            Some(ResourceKind::Bytes)
        );
        assert_eq!(
            resource_kind("attachable-volumes-aws-ebs", false),
            Some(ResourceKind::Bytes)
        );
        assert_eq!(
            resource_kind("nvidia.com/gpu", false),
            Some(ResourceKind::Integer)
        );
        assert_eq!(resource_kind("pods", false), None);
        assert_eq!(resource_kind("pods", true), Some(ResourceKind::Integer));
        assert_eq!(resource_kind("example.kubernetes.io/thing", false), None);
        assert_eq!(resource_kind("Bad_Prefix/x", false), None);
        assert_eq!(resource_kind("unknown", false), None);
        assert_eq!(sanitize("nvidia.com/gpu"), "nvidia_com_gpu");
    }

    #[test]
    fn times_read_as_go_does() {
        assert_eq!(unix(&None), -62_135_596_800.0);
        assert_eq!(unix_if_set(&None), None);
        assert_eq!(
            unix_if_set(&Some(Time {
                seconds: Some(1_500_000_000),
                nanos: None
            })),
            Some(1.5e9)
        );
    }
}
