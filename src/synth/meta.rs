//! Small constructors shared by the object builders: times, quantities, metadata.

use std::collections::BTreeMap;

use crate::api::meta::v1::{ObjectMeta, OwnerReference, Time};
use crate::api::resource::Quantity;

pub fn time(seconds: i64) -> Option<Time> {
    Some(Time {
        seconds: Some(seconds),
        nanos: Some(0),
    })
}

pub fn quantity(text: impl Into<String>) -> Quantity {
    Quantity {
        string: Some(text.into()),
    }
}

pub fn some(text: impl Into<String>) -> Option<String> {
    Some(text.into())
}

pub fn labels<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

/// Metadata as the apiserver returns it for a stored object.
pub struct Meta<'a> {
    pub name: String,
    pub namespace: Option<&'a str>,
    pub uid: String,
    pub resource_version: u64,
    pub created: i64,
    pub generation: Option<i64>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub owner: Option<OwnerReference>,
}

impl Meta<'_> {
    pub fn build(self) -> ObjectMeta {
        ObjectMeta {
            name: Some(self.name),
            namespace: self.namespace.map(str::to_string),
            uid: Some(self.uid),
            resource_version: Some(self.resource_version.to_string()),
            generation: self.generation,
            creation_timestamp: time(self.created),
            labels: self.labels,
            annotations: self.annotations,
            owner_references: self.owner.into_iter().collect(),
            ..Default::default()
        }
    }
}

/// The reference a controller puts on what it owns.
pub fn controller_ref(api_version: &str, kind: &str, name: &str, uid: String) -> OwnerReference {
    OwnerReference {
        api_version: some(api_version),
        kind: some(kind),
        name: some(name),
        uid: Some(uid),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}
