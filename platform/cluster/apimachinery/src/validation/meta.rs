//! `ValidateObjectMeta` and `ValidateObjectMetaUpdate`: names, namespace, labels, annotations, finalizers.
use super::Causes;
use super::names::{
    NameRule, check_name, go_quote, is_dns1123_label, is_qualified_name, is_valid_label_value,
};
use serde_json::Value;

/// `TotalAnnotationSizeLimitB`: keys and values of all annotations together.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// Go's `%#v` of a `[]string`.
pub(crate) fn go_string_slice(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

pub(super) fn validate(
    causes: &mut Causes,
    rule: NameRule,
    namespaced: bool,
    object: &Value,
    old: Option<&Value>,
) {
    let empty = Value::Null;
    let meta = object.get("metadata").unwrap_or(&empty);
    if !meta.is_null() && !meta.is_object() {
        causes.type_invalid("metadata", meta, "object");
        return;
    }
    names(causes, rule, namespaced, meta);
    labels(causes, meta, "labels", "metadata.labels");
    annotations(causes, meta);
    let finalizers = string_list(causes, meta, "finalizers", "metadata.finalizers");
    for finalizer in &finalizers {
        for message in is_qualified_name(finalizer) {
            causes.invalid("metadata.finalizers", &go_quote(finalizer), &message);
        }
    }
    if let Some(old_meta) = old.and_then(|o| o.get("metadata")) {
        update(causes, meta, old_meta, &finalizers);
    }
}

fn names(causes: &mut Causes, rule: NameRule, namespaced: bool, meta: &Value) {
    let generate_name = causes
        .string(meta, "generateName", "metadata.generateName")
        .unwrap_or_default();
    if !generate_name.is_empty() {
        for message in check_name(rule, generate_name, true) {
            causes.invalid("metadata.generateName", &go_quote(generate_name), &message);
        }
    }
    match causes
        .string(meta, "name", "metadata.name")
        .unwrap_or_default()
    {
        "" if generate_name.is_empty() => {
            causes.required("metadata.name", "name or generateName is required")
        }
        "" => {}
        name => {
            for message in check_name(rule, name, false) {
                causes.invalid("metadata.name", &go_quote(name), &message);
            }
        }
    }
    let namespace = causes
        .string(meta, "namespace", "metadata.namespace")
        .unwrap_or_default();
    if namespaced && namespace.is_empty() {
        causes.required("metadata.namespace", "");
    } else if namespaced {
        for message in is_dns1123_label(namespace) {
            causes.invalid("metadata.namespace", &go_quote(namespace), &message);
        }
    }
}

/// `ValidateLabels` on `parent[key]` (also used for selectors' `matchLabels`).
pub(crate) fn labels(causes: &mut Causes, parent: &Value, key: &str, field: &str) {
    let Some(labels) = causes.object(parent, key, field) else {
        return;
    };
    for (name, value) in labels {
        for message in is_qualified_name(name) {
            causes.invalid(field, &go_quote(name), &message);
        }
        match value.as_str() {
            Some(value) => {
                for message in is_valid_label_value(value) {
                    causes.invalid(field, &go_quote(value), &message);
                }
            }
            None => causes.type_invalid(&format!("{field}[{name}]"), value, "string"),
        }
    }
}

fn annotations(causes: &mut Causes, meta: &Value) {
    let field = "metadata.annotations";
    let Some(annotations) = causes.object(meta, "annotations", field) else {
        return;
    };
    let mut total = 0;
    for (name, value) in annotations {
        for message in is_qualified_name(&name.to_lowercase()) {
            causes.invalid(field, &go_quote(name), &message);
        }
        match value.as_str() {
            Some(value) => total += name.len() + value.len(),
            None => causes.type_invalid(&format!("{field}[{name}]"), value, "string"),
        }
    }
    if total > MAX_ANNOTATIONS_BYTES {
        causes.too_long(field, MAX_ANNOTATIONS_BYTES);
    }
}

/// `parent[key]` as a list of strings; wrongly typed entries become causes.
pub(crate) fn string_list<'a>(
    causes: &mut Causes,
    parent: &'a Value,
    key: &str,
    field: &str,
) -> Vec<&'a str> {
    let Some(items) = causes.array(parent, key, field) else {
        return Vec::new();
    };
    let mut strings = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => strings.push(s),
            None => causes.type_invalid(&format!("{field}[{i}]"), item, "string"),
        }
    }
    strings
}

fn update(causes: &mut Causes, meta: &Value, old_meta: &Value, finalizers: &[&str]) {
    for key in ["name", "namespace"] {
        let new = meta.get(key).and_then(Value::as_str).unwrap_or_default();
        let old = old_meta
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default();
        if new != old {
            causes.invalid(
                &format!("metadata.{key}"),
                &go_quote(new),
                "field is immutable",
            );
        }
    }
    let being_deleted = old_meta
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null());
    if being_deleted {
        let old: Vec<&str> = old_meta
            .get("finalizers")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut extra: Vec<&str> = finalizers
            .iter()
            .copied()
            .filter(|f| !old.contains(f))
            .collect();
        extra.sort_unstable();
        extra.dedup();
        if !extra.is_empty() {
            let detail = format!(
                "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                go_string_slice(&extra)
            );
            causes.forbidden("metadata.finalizers", &detail);
        }
    }
}
