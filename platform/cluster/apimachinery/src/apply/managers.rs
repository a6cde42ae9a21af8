//! `metadata.managedFields` entries: reading, identifying and writing them back in the apiserver's order.
use serde_json::{Map, Value, json};

use super::fieldset::FieldSet;

/// `operation: Apply`.
pub const APPLY: &str = "Apply";
/// `operation: Update`.
pub const UPDATE: &str = "Update";

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerEntry {
    /// The field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The apiVersion the manager used.
    pub api_version: String,
    /// When the manager last changed something, RFC 3339.
    pub time: Option<String>,
    /// `status` and the like; `None` for the main resource.
    pub subresource: Option<String>,
    /// The fields it owns.
    pub fields: FieldSet,
}

impl ManagerEntry {
    /// Whether two entries are the same manager: name, operation and subresource, plus the apiVersion for
    /// `Update` (the apiserver's `BuildManagerIdentifier`).
    pub fn same_manager(&self, other: &ManagerEntry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == APPLY || self.api_version == other.api_version)
    }

    fn from_json(entry: &Value) -> Option<ManagerEntry> {
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
        let fields = match entry.get("fieldsV1") {
            Some(json) => FieldSet::from_fields_v1(json)?,
            None => FieldSet::default(),
        };
        Some(ManagerEntry {
            manager: text("manager").unwrap_or_default(),
            operation: text("operation")?,
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            fields,
        })
    }

    fn to_json(&self) -> Value {
        let mut entry = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields.to_fields_v1(),
        });
        if let Some(map) = entry.as_object_mut() {
            if let Some(time) = &self.time {
                map.insert("time".into(), Value::String(time.clone()));
            }
            if let Some(subresource) = &self.subresource {
                map.insert("subresource".into(), Value::String(subresource.clone()));
            }
        }
        entry
    }
}

/// The entries of an object's `metadata.managedFields`; malformed entries are dropped, as the apiserver
/// resets managed fields it cannot decode.
pub fn read(object: &Value) -> Vec<ManagerEntry> {
    let entries = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    entries
        .map(|entries| entries.iter().filter_map(ManagerEntry::from_json).collect())
        .unwrap_or_default()
}

/// Write `entries` (without the empty ones) into `object`'s metadata, sorted as the apiserver sorts them:
/// by operation, time, manager, apiVersion, subresource. No entries removes `managedFields`.
pub fn write(object: &mut Value, mut entries: Vec<ManagerEntry>) {
    entries.retain(|entry| !entry.fields.is_empty());
    entries.sort_by(|a, b| {
        let key = |e: &ManagerEntry| {
            let ManagerEntry {
                operation,
                time,
                manager,
                api_version,
                subresource,
                ..
            } = e;
            (
                operation.clone(),
                time.clone(),
                manager.clone(),
                api_version.clone(),
                subresource.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    if entries.is_empty() {
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("managedFields");
        }
        return;
    }
    let Some(object) = object.as_object_mut() else {
        return;
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    let managed = entries.iter().map(ManagerEntry::to_json).collect();
    metadata.insert("managedFields".into(), managed);
}
