//! `apiextensions.k8s.io/v1` CustomResourceDefinition → the resource types it serves, as the CRD handler does.
use super::RegistryError;
use crate::{PrinterColumn, ResourceType};
use serde_json::Value;

/// The verbs kube-apiserver advertises for every custom resource, in its order.
const CUSTOM_RESOURCE_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

/// The column served when a version lists no `additionalPrinterColumns` (apiextensions `serveDefaultColumnsIfEmpty`).
fn default_columns() -> Vec<PrinterColumn> {
    vec![PrinterColumn {
        name: "Age".into(),
        type_: "date".into(),
        format: String::new(),
        description: "CreationTimestamp is a timestamp representing the server time when this object was created. \
It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. \
It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: \
https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
            .into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    }]
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::InvalidCrd(message.into())
}

fn required_str<'a>(object: &'a Value, path: &[&str]) -> Result<&'a str, RegistryError> {
    let mut current = object;
    for key in path {
        current = current.get(key).unwrap_or(&Value::Null);
    }
    match current.as_str() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(invalid(format!(
            "{} must be a non-empty string",
            path.join(".")
        ))),
    }
}

fn string_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, RegistryError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .ok_or_else(|| invalid(format!("{field} must be a list of strings")))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("{field} must be a list of strings")))
        })
        .collect()
}

/// The names every version shares.
struct Names {
    group: String,
    kind: String,
    list_kind: String,
    plural: String,
    singular: String,
    namespaced: bool,
    short_names: Vec<String>,
    categories: Vec<String>,
}

fn names(crd: &Value) -> Result<Names, RegistryError> {
    let group = required_str(crd, &["spec", "group"])?.to_owned();
    let kind = required_str(crd, &["spec", "names", "kind"])?.to_owned();
    let plural = required_str(crd, &["spec", "names", "plural"])?.to_owned();
    let names = &crd["spec"]["names"];
    let optional = |key: &str| {
        names
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let namespaced = match crd["spec"].get("scope").and_then(Value::as_str) {
        Some("Namespaced") => true,
        Some("Cluster") => false,
        other => {
            return Err(invalid(format!(
                "spec.scope must be Namespaced or Cluster, not {other:?}"
            )));
        }
    };
    Ok(Names {
        list_kind: optional("listKind").map_or_else(|| format!("{kind}List"), str::to_owned),
        singular: optional("singular").map_or_else(|| kind.to_lowercase(), str::to_owned),
        short_names: string_list(names.get("shortNames"), "spec.names.shortNames")?,
        categories: string_list(names.get("categories"), "spec.names.categories")?,
        group,
        kind,
        plural,
        namespaced,
    })
}

fn printer_column(column: &Value, field: &str) -> Result<PrinterColumn, RegistryError> {
    let text = |key: &str| {
        column
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let name = required_str(column, &["name"])
        .map_err(|_| invalid(format!("{field}.name is required")))?;
    let type_ = required_str(column, &["type"])
        .map_err(|_| invalid(format!("{field}.type is required")))?;
    if !["integer", "number", "string", "boolean", "date"].contains(&type_) {
        return Err(invalid(format!(
            "{field}.type {type_:?} is not one of integer, number, string, boolean, date"
        )));
    }
    let json_path = required_str(column, &["jsonPath"])
        .map_err(|_| invalid(format!("{field}.jsonPath is required")))?;
    let priority = match column.get("priority") {
        None | Some(Value::Null) => 0,
        Some(p) => p
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p >= 0)
            .ok_or_else(|| invalid(format!("{field}.priority must be a non-negative integer")))?,
    };
    Ok(PrinterColumn {
        name: name.to_owned(),
        type_: type_.to_owned(),
        format: text("format"),
        description: text("description"),
        priority,
        json_path: json_path.to_owned(),
    })
}

fn printer_columns(version: &Value, field: &str) -> Result<Vec<PrinterColumn>, RegistryError> {
    let columns = match version.get("additionalPrinterColumns") {
        None | Some(Value::Null) => return Ok(default_columns()),
        Some(Value::Array(columns)) => columns,
        Some(_) => {
            return Err(invalid(format!(
                "{field}.additionalPrinterColumns must be a list"
            )));
        }
    };
    if columns.is_empty() {
        return Ok(default_columns());
    }
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| printer_column(c, &format!("{field}.additionalPrinterColumns[{i}]")))
        .collect()
}

fn version_resource(
    names: &Names,
    version: &Value,
    field: &str,
) -> Result<Option<ResourceType>, RegistryError> {
    let name = required_str(version, &["name"])
        .map_err(|_| invalid(format!("{field}.name is required")))?;
    let served = match version.get("served") {
        Some(Value::Bool(served)) => *served,
        _ => return Err(invalid(format!("{field}.served must be a boolean"))),
    };
    let columns = printer_columns(version, field)?;
    if !served {
        return Ok(None);
    }
    let subresources = version.get("subresources").filter(|s| s.is_object());
    let has = |key: &str| {
        subresources
            .and_then(|s| s.get(key))
            .is_some_and(Value::is_object)
    };
    Ok(Some(ResourceType {
        group: names.group.clone(),
        version: name.to_owned(),
        kind: names.kind.clone(),
        list_kind: names.list_kind.clone(),
        plural: names.plural.clone(),
        singular: names.singular.clone(),
        namespaced: names.namespaced,
        short_names: names.short_names.clone(),
        categories: names.categories.clone(),
        verbs: CUSTOM_RESOURCE_VERBS
            .iter()
            .map(|v| (*v).to_owned())
            .collect(),
        has_status: has("status"),
        has_scale: has("scale"),
        printer_columns: Some(columns),
    }))
}

/// One resource type per served version of `crd`, in the CRD's version order.
pub(super) fn resources(crd: &Value) -> Result<Vec<ResourceType>, RegistryError> {
    if !crd.is_object() {
        return Err(invalid("the object is not a JSON object"));
    }
    let names = names(crd)?;
    let versions = match crd["spec"].get("versions") {
        Some(Value::Array(versions)) if !versions.is_empty() => versions,
        _ => return Err(invalid("spec.versions must list at least one version")),
    };
    let storage = versions
        .iter()
        .filter(|v| v.get("storage") == Some(&Value::Bool(true)))
        .count();
    if storage != 1 {
        return Err(invalid(format!(
            "exactly one version must be marked as storage version, found {storage}"
        )));
    }
    let mut resources = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        if let Some(resource) = version_resource(&names, version, &format!("spec.versions[{i}]"))? {
            resources.push(resource);
        }
    }
    Ok(resources)
}

/// The `status` kube-apiserver's CRD controllers give an accepted CRD: `acceptedNames` (the defaulted names),
/// `NamesAccepted` and `Established` conditions, and the storage version added to `storedVersions`. Conditions
/// keep their `lastTransitionTime` when already true; `now` is RFC 3339.
pub(super) fn status(crd: &Value, now: &str) -> Result<Value, RegistryError> {
    let names = names(crd)?;
    let storage = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v.get("storage") == Some(&Value::Bool(true)))
        .and_then(|v| v.get("name").and_then(Value::as_str))
        .ok_or_else(|| invalid("no version is marked as storage version"))?;
    let mut accepted = serde_json::Map::new();
    accepted.insert("plural".into(), Value::String(names.plural));
    accepted.insert("singular".into(), Value::String(names.singular));
    accepted.insert("kind".into(), Value::String(names.kind));
    accepted.insert("listKind".into(), Value::String(names.list_kind));
    for (key, list) in [
        ("shortNames", names.short_names),
        ("categories", names.categories),
    ] {
        if !list.is_empty() {
            accepted.insert(key.into(), list.into_iter().map(Value::String).collect());
        }
    }
    let old = &crd["status"];
    let mut stored: Vec<Value> = old["storedVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !stored.iter().any(|v| v.as_str() == Some(storage)) {
        stored.push(Value::String(storage.to_owned()));
    }
    let condition = |kind: &str, reason: &str, message: &str| {
        let previous = old["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind);
        let since = previous
            .filter(|c| c["status"] == "True")
            .and_then(|c| c["lastTransitionTime"].as_str())
            .unwrap_or(now);
        serde_json::json!({"type": kind, "status": "True", "reason": reason, "message": message,
                           "lastTransitionTime": since})
    };
    Ok(serde_json::json!({
        "acceptedNames": accepted,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    }))
}
