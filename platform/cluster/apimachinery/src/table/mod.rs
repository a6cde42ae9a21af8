//! Server-side printing: `meta.k8s.io/v1` Table output for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
//!
//! ```text
//!   ResourceType ──► printer_for ──► Printer { columns, row: Fn(&object) -> Row }
//!   objects ────────────────────────────────┘          │
//!                                                      ▼
//!   Table { metadata{resourceVersion, continue}, columnDefinitions, rows[{cells, object, conditions}] }
//! ```
//!
//! Built-in kinds reproduce kube-apiserver's printers (`pkg/printers/internalversion/printers.go`): the same column
//! names, types and priorities, and the same cells, computed from the JSON object. Like the apiserver, every
//! column is produced, including `-o wide` ones (priority 1); kubectl hides those itself. Custom resources use
//! their CRD's printer columns (see [`custom`]). Cells are plain functions of the object and `now`; a missing or
//! wrongly typed field gives the Go zero value (empty string, 0) rather than an error, and nothing here panics.
use crate::{IncludeObject, ResourceType};
use serde_json::{Map, Value, json};

mod access;
mod apps;
mod core;
mod custom;
mod events;
mod jsonpath;
mod other;
mod pod;
mod rbac;

#[cfg(test)]
mod tests;

pub use access::human_duration;
pub use custom::printer_columns;

/// `metav1.ObjectMeta` documentation of `name`, the description of every Name column.
pub(crate) const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `metav1.ObjectMeta` documentation of `creationTimestamp`, the description of every Age column.
pub(crate) const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// One `TableColumnDefinition`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Column {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i32,
}

impl Column {
    /// A standard-view column.
    pub fn new(name: &str, type_: &str, description: &str) -> Self {
        Self {
            name: name.into(),
            type_: type_.into(),
            format: String::new(),
            description: description.into(),
            priority: 0,
        }
    }

    /// The `Name` column every printer starts with.
    pub fn name() -> Self {
        Self {
            format: "name".into(),
            ..Self::new("Name", "string", NAME_DESCRIPTION)
        }
    }

    /// The `Age` column.
    pub fn age() -> Self {
        Self::new("Age", "string", AGE_DESCRIPTION)
    }

    /// Shown only by `-o wide`.
    pub fn wide(self) -> Self {
        Self {
            priority: 1,
            ..self
        }
    }

    fn to_json(&self) -> Value {
        json!({"name": self.name, "type": self.type_, "format": self.format,
               "description": self.description, "priority": self.priority})
    }
}

/// The cells of one object, plus the row conditions the pod printer sets for finished pods.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Row {
    pub cells: Vec<Value>,
    pub conditions: Option<Value>,
}

impl From<Vec<Value>> for Row {
    fn from(cells: Vec<Value>) -> Self {
        Self {
            cells,
            conditions: None,
        }
    }
}

/// Columns and the function that fills them for one object.
pub(crate) struct Printer<'a> {
    pub columns: Vec<Column>,
    pub row: Box<dyn Fn(&Value) -> Row + 'a>,
}

/// A built-in printer's row function: the object and `now`.
pub(crate) type RowFn = fn(&Value, jiff::Timestamp) -> Row;

impl Printer<'static> {
    /// A built-in printer evaluated at `now`.
    pub fn builtin(columns: Vec<Column>, row: RowFn, now: jiff::Timestamp) -> Self {
        Self {
            columns,
            row: Box::new(move |object| row(object, now)),
        }
    }
}

/// Render `objects` of `resource` as a Table. Built-in kinds use kube-apiserver's printers (pods show READY and
/// STATUS, deployments READY/UP-TO-DATE/AVAILABLE, ...); custom resources use their printer columns plus NAME and
/// AGE. `resource_version` goes to the Table's metadata.
pub fn to_table(
    resource: &ResourceType,
    objects: &[Value],
    include: IncludeObject,
    now: jiff::Timestamp,
    resource_version: &str,
) -> Value {
    to_table_page(resource, objects, include, now, resource_version, None)
}

/// [`to_table`] for one page of a chunked list: `continue_token` (when present and not empty) goes to the
/// Table's `metadata.continue`, as the apiserver copies it from the list it converts.
pub fn to_table_page(
    resource: &ResourceType,
    objects: &[Value],
    include: IncludeObject,
    now: jiff::Timestamp,
    resource_version: &str,
    continue_token: Option<&str>,
) -> Value {
    let printer = printer_for(resource, now);
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| row_json((printer.row)(object), object, include))
        .collect();
    let mut metadata = Map::new();
    if !resource_version.is_empty() {
        metadata.insert("resourceVersion".into(), resource_version.into());
    }
    if let Some(token) = continue_token.filter(|t| !t.is_empty()) {
        metadata.insert("continue".into(), token.into());
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": printer.columns.iter().map(Column::to_json).collect::<Vec<_>>(),
        "rows": rows,
    })
}

/// Pick the printer: a CRD's columns for custom resources, kube-apiserver's for built-in kinds.
fn printer_for(resource: &ResourceType, now: jiff::Timestamp) -> Printer<'_> {
    if let Some(columns) = &resource.printer_columns {
        return custom::printer(columns, now);
    }
    let builtin = match (resource.group.as_str(), resource.plural.as_str()) {
        ("", "pods") => Some(pod::printer(now)),
        ("", "events") | ("events.k8s.io", "events") => Some(events::printer(now)),
        ("", plural) => core::printer(plural, now),
        ("apps", plural) => apps::printer(plural, now),
        ("rbac.authorization.k8s.io", plural) => rbac::printer(plural, now),
        (group, plural) => other::printer(group, plural, now),
    };
    builtin.unwrap_or_else(|| other::name_age_printer(now))
}

/// One `TableRow`: cells, the object as `include` asks, and conditions when the printer set some.
fn row_json(row: Row, object: &Value, include: IncludeObject) -> Value {
    let embedded = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => object.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    };
    let mut map = Map::new();
    map.insert("cells".into(), Value::Array(row.cells));
    if let Some(conditions) = row.conditions {
        map.insert("conditions".into(), conditions);
    }
    map.insert("object".into(), embedded);
    Value::Object(map)
}
