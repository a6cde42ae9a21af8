//! `ValidateCustomResourceDefinition`: the rules a user hits when applying a CRD (names, group, scope, versions,
//! printer columns, a schema per version), so a bad CRD gets a 422 instead of being stored and not served.
use super::Causes;
use super::names::{go_quote, is_dns1035_label, is_dns1123_subdomain};
use serde_json::Value;

/// How the list of versions is shown in messages (kube-apiserver prints every field of every version).
const VERSIONS_VALUE: &str = "[]apiextensions.CustomResourceDefinitionVersion{...}";
const COLUMN_TYPES: &[&str] = &["boolean", "date", "integer", "number", "string"];

/// Validate a (defaulted) CRD object.
pub(super) fn crd(causes: &mut Causes, object: &Value) {
    let empty = Value::Null;
    let spec = object.get("spec").unwrap_or(&empty);
    let group = causes
        .string(spec, "group", "spec.group")
        .unwrap_or_default();
    let plural = spec
        .pointer("/names/plural")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !group.is_empty() && name != format!("{plural}.{group}") {
        causes.invalid(
            "metadata.name",
            &go_quote(name),
            "must be spec.names.plural+\".\"+spec.group",
        );
    }
    if group.is_empty() {
        causes.required("spec.group", "");
    } else if let errors @ [_, ..] = is_dns1123_subdomain(group).as_slice() {
        causes.invalid("spec.group", &go_quote(group), &errors.join(","));
    } else if !group.contains('.') {
        causes.invalid(
            "spec.group",
            &go_quote(group),
            "should be a domain with at least one dot",
        );
    }
    match causes
        .string(spec, "scope", "spec.scope")
        .unwrap_or_default()
    {
        "" => causes.required("spec.scope", ""),
        "Cluster" | "Namespaced" => {}
        other => causes.not_supported("spec.scope", &go_quote(other), &["Cluster", "Namespaced"]),
    }
    names(causes, spec.get("names").unwrap_or(&empty));
    versions(causes, spec);
}

fn names(causes: &mut Causes, names: &Value) {
    for key in ["plural", "singular", "kind", "listKind"] {
        let field = format!("spec.names.{key}");
        let value = causes.string(names, key, &field).unwrap_or_default();
        if value.is_empty() {
            causes.required(&field, "");
            continue;
        }
        let (checked, prefix) = match key {
            "plural" | "singular" => (value.to_owned(), ""),
            _ => (
                value.to_lowercase(),
                "may have mixed case, but should otherwise match: ",
            ),
        };
        let errors = is_dns1035_label(&checked);
        if !errors.is_empty() {
            causes.invalid(
                &field,
                &go_quote(value),
                &format!("{prefix}{}", errors.join(",")),
            );
        }
    }
    let kind = names
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !kind.is_empty() && names.get("listKind").and_then(Value::as_str) == Some(kind) {
        causes.invalid(
            "spec.names.listKind",
            &go_quote(kind),
            "kind and listKind may not be the same",
        );
    }
    for key in ["shortNames", "categories"] {
        let field = format!("spec.names.{key}");
        let items = super::meta::string_list(causes, names, key, &field);
        for (i, item) in items.iter().enumerate() {
            let errors = is_dns1035_label(item);
            if !errors.is_empty() {
                causes.invalid(&format!("{field}[{i}]"), &go_quote(item), &errors.join(","));
            }
        }
    }
}

fn versions(causes: &mut Causes, spec: &Value) {
    let versions = causes
        .array(spec, "versions", "spec.versions")
        .map(Vec::as_slice)
        .unwrap_or_default();
    let storage = versions
        .iter()
        .filter(|v| v.get("storage") == Some(&Value::Bool(true)))
        .count();
    if storage != 1 {
        causes.invalid(
            "spec.versions",
            VERSIONS_VALUE,
            "must have exactly one version marked as storage version",
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        let path = format!("spec.versions[{i}]");
        let name = causes
            .string(version, "name", &format!("{path}.name"))
            .unwrap_or_default();
        for message in is_dns1035_label(name) {
            causes.invalid(&format!("{path}.name"), &go_quote(name), &message);
        }
        if seen.contains(&name) {
            causes.invalid(
                "spec.versions",
                VERSIONS_VALUE,
                "must contain unique version names",
            );
        }
        seen.push(name);
        schema(causes, version, &path);
        columns(causes, version, &path);
    }
}

fn schema(causes: &mut Causes, version: &Value, path: &str) {
    let field = format!("{path}.schema.openAPIV3Schema");
    match version.pointer("/schema/openAPIV3Schema") {
        None | Some(Value::Null) => causes.required(&field, "schemas are required"),
        Some(schema) => match schema.get("type").and_then(Value::as_str) {
            None | Some("") => {
                causes.required(&format!("{field}.type"), "must not be empty at the root")
            }
            Some("object") => {}
            Some(other) => causes.invalid(
                &format!("{field}.type"),
                &go_quote(other),
                "must be object at the root",
            ),
        },
    }
}

fn columns(causes: &mut Causes, version: &Value, path: &str) {
    let field = format!("{path}.additionalPrinterColumns");
    for (i, column) in causes
        .array(version, "additionalPrinterColumns", &field)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let path = format!("{field}[{i}]");
        if causes
            .string(column, "name", &format!("{path}.name"))
            .is_none_or(str::is_empty)
        {
            causes.required(&format!("{path}.name"), "");
        }
        match causes
            .string(column, "type", &format!("{path}.type"))
            .unwrap_or_default()
        {
            "" => causes.required(&format!("{path}.type"), ""),
            t if !COLUMN_TYPES.contains(&t) => {
                causes.not_supported(&format!("{path}.type"), &go_quote(t), COLUMN_TYPES)
            }
            _ => {}
        }
        if causes
            .string(column, "jsonPath", &format!("{path}.jsonPath"))
            .is_none_or(str::is_empty)
        {
            causes.required(&format!("{path}.jsonPath"), "");
        }
        if let Some(priority) = causes.integer(column, "priority", &format!("{path}.priority"))
            && priority < 0
        {
            causes.invalid(
                &format!("{path}.priority"),
                &priority.to_string(),
                "must be greater than or equal to 0",
            );
        }
    }
}
