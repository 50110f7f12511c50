//! The apiserver's server-side Table (`meta.k8s.io/v1 Table`, JSON only), asked for
//! kinds whose content must never arrive (`view = "table"`: secrets). With
//! `includeObject=Metadata` each row carries the object's metadata next to the
//! printed cells, so the exporter learns e.g. a Secret's type without its values.
//!
//! A watch sends the column definitions with its first event only; [`Columns`]
//! keeps them for the events that follow.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use super::meta::v1::{ObjectMeta, PartialObjectMetadata};
use super::{Object, ResourceType};

/// A decoded Table: list metadata, column names (when sent) and rows.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Table {
    #[serde(default)]
    pub metadata: TableMeta,
    /// `null` in every watch event but the first.
    #[serde(
        rename = "columnDefinitions",
        default,
        deserialize_with = "null_as_empty"
    )]
    pub column_definitions: Vec<ColumnDefinition>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub rows: Vec<Row>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TableMeta {
    #[serde(
        rename = "resourceVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_version: Option<String>,
    #[serde(rename = "continue", default, skip_serializing_if = "Option::is_none")]
    pub r#continue: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ColumnDefinition {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Row {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cells: Vec<Value>,
    /// The object as `includeObject` asked for it: PartialObjectMetadata here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
}

#[derive(Debug, Error, PartialEq)]
pub enum TableError {
    #[error("a Table row has no object: the request lacked includeObject=Metadata")]
    NoObject,
    #[error("a Table row's object is not PartialObjectMetadata: {0}")]
    Object(String),
    #[error("a Table arrived without column definitions and none were seen before on this stream")]
    NoColumns,
}

/// The column names of a Table stream, learned from the first Table that has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns(Vec<String>);

impl Columns {
    fn learn(&mut self, table: &Table) -> Result<(), TableError> {
        if !table.column_definitions.is_empty() {
            self.0 = table
                .column_definitions
                .iter()
                .map(|c| c.name.clone())
                .collect();
        }
        if self.0.is_empty() && !table.rows.is_empty() {
            return Err(TableError::NoColumns);
        }
        Ok(())
    }

    fn cell<'a>(&self, row: &'a Row, name: &str) -> Option<&'a Value> {
        let index = self.0.iter().position(|c| c == name)?;
        row.cells.get(index)
    }
}

impl Table {
    /// The rows as objects of `resource`: metadata from each row's object, the
    /// printed cells the metric families read (see [`fill_from_cells`]).
    pub fn into_objects(
        self,
        resource: &'static ResourceType,
        columns: &mut Columns,
    ) -> Result<Vec<Object>, TableError> {
        columns.learn(&self)?;
        self.rows
            .iter()
            .map(|row| {
                let partial: PartialObjectMetadata =
                    serde_json::from_value(row.object.clone().ok_or(TableError::NoObject)?)
                        .map_err(|e| TableError::Object(e.to_string()))?;
                let mut object =
                    Object::from_metadata(resource, partial.metadata.unwrap_or_default());
                fill_from_cells(&mut object, |name| columns.cell(row, name));
                Ok(object)
            })
            .collect()
    }
}

/// What a kind's families need beyond metadata, taken from its printed columns.
/// Only kinds listed with `view = "table"` reach this.
fn fill_from_cells<'a>(object: &mut Object, cell: impl Fn(&str) -> Option<&'a Value>) {
    if let Object::Secret(secret) = object {
        secret.r#type = cell("Type").and_then(Value::as_str).map(str::to_string);
    }
}

/// Metadata without what must never be held: `kubectl apply` copies an object's
/// whole manifest, a Secret's values included, into this annotation.
pub fn drop_last_applied(metadata: &mut ObjectMeta) {
    metadata.annotations.remove(LAST_APPLIED);
}

/// The annotation `kubectl apply` writes the applied manifest into.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> &'static ResourceType {
        ResourceType::by_plural("secrets").expect("secrets are served")
    }

    const FIRST: &str = r#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"200"},
      "columnDefinitions":[{"name":"Name"},{"name":"Type"},{"name":"Data"},{"name":"Age"}],
      "rows":[{"cells":["s1","kubernetes.io/basic-auth",2,"0s"],
               "object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
                         "metadata":{"name":"s1","namespace":"default","uid":"u1"}}}]}"#;
    const LATER: &str = r#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"201"},
      "columnDefinitions":null,"rows":[{"cells":["s2","Opaque",1,"0s"],
               "object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
                         "metadata":{"name":"s2","namespace":"default","uid":"u2"}}}]}"#;

    fn secret_type(object: &Object) -> Option<&str> {
        match object {
            Object::Secret(secret) => secret.r#type.as_deref(),
            _ => None,
        }
    }

    #[test]
    fn rows_become_secrets_with_their_type_and_later_tables_reuse_the_columns() {
        let mut columns = Columns::default();
        let first: Table = serde_json::from_str(FIRST).expect("table");
        let objects = first.into_objects(secrets(), &mut columns).expect("rows");
        assert_eq!(objects.len(), 1);
        assert_eq!(secret_type(&objects[0]), Some("kubernetes.io/basic-auth"));
        let later: Table = serde_json::from_str(LATER).expect("table");
        let objects = later.into_objects(secrets(), &mut columns).expect("rows");
        assert_eq!(secret_type(&objects[0]), Some("Opaque"));
        assert_eq!(
            objects[0].metadata().and_then(|m| m.name.as_deref()),
            Some("s2")
        );
    }

    #[test]
    fn a_table_without_columns_on_a_fresh_stream_is_an_error() {
        let later: Table = serde_json::from_str(LATER).expect("table");
        assert_eq!(
            later.into_objects(secrets(), &mut Columns::default()),
            Err(TableError::NoColumns)
        );
    }

    #[test]
    fn a_row_without_object_is_an_error() {
        let table: Table = serde_json::from_str(
            r#"{"columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["s1"]}]}"#,
        )
        .expect("table");
        assert_eq!(
            table.into_objects(secrets(), &mut Columns::default()),
            Err(TableError::NoObject)
        );
    }
}
