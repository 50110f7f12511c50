//! Server-side Tables (`as=Table;g=meta.k8s.io;v=v1`) in the replay apiserver: how
//! the apiserver prints a kind into cells, and how a recorded Table turns back into
//! objects the replay timelines hold.
//!
//! A recorded Table row becomes a PartialObjectMetadata object that keeps its cells
//! under [`CELLS`], so replaying it prints the same cells again; a recorded full
//! object is printed the way the apiserver prints that kind.

use serde_json::{json, Map, Value};

use crate::api::ResourceType;

/// Where an object made from a recorded Table row keeps its printed cells.
pub const CELLS: &str = "x-replay-cells";

/// The columns the apiserver prints for `resource` (its default printer for kinds
/// without a dedicated one).
pub fn columns(resource: &ResourceType) -> &'static [&'static str] {
    match resource.plural {
        "secrets" => &["Name", "Type", "Data", "Age"],
        _ => &["Name", "Created At"],
    }
}

/// The cell of `column` for `object`: as recorded, else as the apiserver prints it.
fn cell(object: &Value, column: &str) -> Value {
    if let Some(recorded) = object.get(CELLS).and_then(|cells| cells.get(column)) {
        return recorded.clone();
    }
    let metadata = |key: &str| object.pointer(&format!("/metadata/{key}")).cloned();
    match column {
        "Name" => metadata("name").unwrap_or(Value::Null),
        "Created At" => metadata("creationTimestamp").unwrap_or(Value::Null),
        // An unset type reads as the default type, as the apiserver defaults it.
        "Type" => object
            .get("type")
            .cloned()
            .unwrap_or_else(|| json!("Opaque")),
        "Data" => json!(object
            .get("data")
            .and_then(Value::as_object)
            .map_or(0, Map::len)),
        // A replay has no clock relation to the recording: any age will do.
        "Age" => json!("0s"),
        _ => Value::Null,
    }
}

/// One row: the printed cells and, as `includeObject=Metadata` asks, the object's
/// metadata.
pub fn row(resource: &ResourceType, object: &Value) -> Value {
    let cells: Vec<Value> = columns(resource)
        .iter()
        .map(|column| cell(object, column))
        .collect();
    json!({
        "cells": cells,
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object.get("metadata").cloned().unwrap_or(Value::Null),
        },
    })
}

/// A Table of `rows`; `with_columns` is false for every watch event but the first.
pub fn table(
    resource: &ResourceType,
    metadata: Value,
    rows: Vec<Value>,
    with_columns: bool,
) -> Value {
    let definitions: Vec<Value> = if with_columns {
        columns(resource)
            .iter()
            .map(|name| json!({"name": name, "type": "string", "format": "", "description": "", "priority": 0}))
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

/// The objects of a recorded Table: each row's PartialObjectMetadata with its
/// cells kept by column name. `names` carries the column names of a watch stream
/// from its first event (the only one that has them) to the others. `None` when
/// `table` is not a Table.
pub fn objects_of_table(table: &Value, names: &mut Vec<String>) -> Option<Vec<Value>> {
    if table.get("kind")?.as_str()? != "Table" {
        return None;
    }
    let defined: Vec<String> = table
        .get("columnDefinitions")
        .and_then(Value::as_array)
        .map(|columns| {
            columns
                .iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !defined.is_empty() {
        *names = defined;
    }
    let rows = table.get("rows").and_then(Value::as_array)?;
    Some(
        rows.iter()
            .map(|row| {
                let mut object = row.get("object").cloned().unwrap_or_else(|| json!({}));
                let cells: Map<String, Value> = names
                    .iter()
                    .zip(
                        row.get("cells")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten(),
                    )
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect();
                if let Some(fields) = object.as_object_mut() {
                    fields.insert(CELLS.to_string(), Value::Object(cells));
                }
                object
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> &'static ResourceType {
        ResourceType::by_plural("secrets").expect("secrets are served")
    }

    #[test]
    fn prints_a_full_secret_like_the_apiserver_without_its_values() {
        let secret = json!({"kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": "s", "namespace": "ns"},
            "type": "kubernetes.io/tls", "data": {"tls.crt": "eA==", "tls.key": "eQ=="}});
        let printed = row(secrets(), &secret);
        assert_eq!(printed["cells"], json!(["s", "kubernetes.io/tls", 2, "0s"]));
        assert_eq!(printed["object"]["metadata"]["name"], "s");
        assert!(
            !printed.to_string().contains("eA=="),
            "values are never printed"
        );
    }

    #[test]
    fn a_recorded_row_prints_its_recorded_cells_again() {
        let recorded = table(
            secrets(),
            json!({"resourceVersion": "7"}),
            vec![json!({"cells": ["s", "Opaque", 3, "5d"],
                        "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                   "metadata": {"name": "s"}}})],
            true,
        );
        let mut names = Vec::new();
        let objects = objects_of_table(&recorded, &mut names).expect("a table");
        assert_eq!(objects.len(), 1);
        assert_eq!(
            row(secrets(), &objects[0])["cells"],
            json!(["s", "Opaque", 3, "5d"])
        );
        assert_eq!(
            objects_of_table(&json!({"kind": "SecretList"}), &mut names),
            None
        );
        // A later watch event has no column definitions: the names seen before apply.
        let later = table(
            secrets(),
            json!({}),
            vec![json!({"cells": ["t", "kubernetes.io/tls", 2, "1s"],
            "object": {"metadata": {"name": "t"}}})],
            false,
        );
        let objects = objects_of_table(&later, &mut names).expect("a table");
        assert_eq!(
            row(secrets(), &objects[0])["cells"],
            json!(["t", "kubernetes.io/tls", 2, "1s"])
        );
    }
}
