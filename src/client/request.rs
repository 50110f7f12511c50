//! Request paths and Accept headers for one resource.

use crate::api::{ResourceType, View};

use super::decode::Format;

/// One list/watch target: a resource, cluster-wide or in one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub resource: &'static ResourceType,
    /// Only for namespaced resources; `None` lists across all namespaces.
    pub namespace: Option<String>,
    /// `fieldSelector` of every list and watch (`--namespaces-denylist`).
    pub field_selector: Option<String>,
}

impl Target {
    pub fn new(resource: &'static ResourceType, namespace: Option<String>) -> Target {
        let namespace = namespace.filter(|ns| resource.namespaced && !ns.is_empty());
        Target {
            resource,
            namespace,
            field_selector: None,
        }
    }

    /// The same target, its lists and watches restricted by a field selector.
    pub fn with_field_selector(mut self, selector: impl Into<String>) -> Target {
        let selector = selector.into();
        self.field_selector = Some(selector).filter(|s| !s.is_empty());
        self
    }

    /// Query pairs every list and watch of this target carries.
    pub fn selector_query(&self) -> Option<(&'static str, &str)> {
        self.field_selector
            .as_deref()
            .map(|selector| ("fieldSelector", selector))
    }

    /// `/api/v1/namespaces/demo/pods`, `/apis/apps/v1/deployments`, …
    pub fn collection_path(&self) -> String {
        let resource = self.resource;
        let mut path = if resource.group.is_empty() {
            format!("/api/{}", resource.version)
        } else {
            format!("/apis/{}/{}", resource.group, resource.version)
        };
        if let Some(namespace) = &self.namespace {
            path.push_str("/namespaces/");
            path.push_str(namespace);
        }
        path.push('/');
        path.push_str(resource.plural);
        path
    }

    /// `pods` or `pods/demo`: how logs and metrics name this target.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}", self.resource.plural, ns),
            None => self.resource.plural.to_string(),
        }
    }
}

const TABLE: &str = "application/json;as=Table;g=meta.k8s.io;v=v1";

/// The Accept header for a list (`watch == false`) or a watch of `resource`.
/// Protobuf is offered with JSON as the second choice (custom resources have no
/// protobuf); metadata-only kinds ask for PartialObjectMetadata(List). Table kinds
/// ask for the server-side Table, which exists in JSON only (a 1.35 apiserver answers
/// 406 to a protobuf Table), with metadata-only JSON as the fallback of a server
/// that prints no Table.
pub fn accept(resource: &ResourceType, preferred: Format, watch: bool) -> String {
    let partial = if watch {
        ";as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
    } else {
        ";as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
    };
    let suffix = match resource.view {
        View::Full => "",
        View::Metadata => partial,
        View::Table => return format!("{TABLE}, application/json{partial}"),
    };
    match preferred {
        Format::Protobuf => {
            format!("application/vnd.kubernetes.protobuf{suffix}, application/json{suffix}")
        }
        Format::Json => format!("application/json{suffix}"),
    }
}

/// Query parameters every list and watch of `resource` carries: a Table of the
/// objects' metadata rather than of bare rows.
pub fn view_query(resource: &ResourceType) -> &'static [(&'static str, &'static str)] {
    match resource.view {
        View::Table => &[("includeObject", "Metadata")],
        View::Full | View::Metadata => &[],
    }
}

/// Appends `key=value` pairs as a query string (values are percent-encoded).
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = path.to_string();
    for (i, (key, value)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        out.push_str(&percent_encode(value));
    }
    out
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_core_and_group_paths() {
        let pods = ResourceType::by_plural("pods").unwrap();
        let deployments = ResourceType::by_plural("deployments").unwrap();
        let nodes = ResourceType::by_plural("nodes").unwrap();
        assert_eq!(Target::new(pods, None).collection_path(), "/api/v1/pods");
        assert_eq!(
            Target::new(pods, Some("demo".into())).collection_path(),
            "/api/v1/namespaces/demo/pods"
        );
        assert_eq!(
            Target::new(deployments, None).collection_path(),
            "/apis/apps/v1/deployments"
        );
        // A namespace never applies to a cluster-scoped resource.
        assert_eq!(
            Target::new(nodes, Some("demo".into())).collection_path(),
            "/api/v1/nodes"
        );
    }

    #[test]
    fn asks_metadata_only_kinds_for_partial_metadata() {
        let configmaps = ResourceType::by_plural("configmaps").unwrap();
        assert_eq!(
            accept(configmaps, Format::Protobuf, false),
            "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
        );
        assert!(view_query(configmaps).is_empty());
    }

    #[test]
    fn asks_table_kinds_for_a_json_table_of_metadata() {
        let secrets = ResourceType::by_plural("secrets").unwrap();
        assert_eq!(
            accept(secrets, Format::Protobuf, false),
            "application/json;as=Table;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
        );
        assert_eq!(
            accept(secrets, Format::Json, true),
            "application/json;as=Table;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
        );
        assert_eq!(view_query(secrets), [("includeObject", "Metadata")]);
    }

    #[test]
    fn field_selectors_are_query_pairs() {
        let pods = ResourceType::by_plural("pods").unwrap();
        let target = Target::new(pods, None).with_field_selector("metadata.namespace!=x");
        assert_eq!(
            with_query(
                &target.collection_path(),
                &target.selector_query().into_iter().collect::<Vec<_>>()
            ),
            "/api/v1/pods?fieldSelector=metadata.namespace%21%3Dx"
        );
        assert_eq!(
            Target::new(pods, None)
                .with_field_selector("")
                .field_selector,
            None
        );
    }

    #[test]
    fn encodes_continue_tokens() {
        assert_eq!(
            with_query("/api/v1/pods", &[("limit", "3"), ("continue", "a=b/c")]),
            "/api/v1/pods?limit=3&continue=a%3Db%2Fc"
        );
    }
}
