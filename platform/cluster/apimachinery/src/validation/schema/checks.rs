//! The per-node checks of kube-openapi's validator, with the messages apiextensions-apiserver turns into field
//! errors: `Required value`, `Unsupported value`, `Invalid value: "string": spec.x in body must be of type integer:
//! "string"`, `spec.x in body should match '^…$'`, `Too many: 3: must have at most 2 items`, ...
use super::super::Causes;
use super::super::names::go_quote;
use super::{child_path, flag, property_schema, rules};
use crate::validation::go_value;
use serde_json::Value;

/// Check `value` (and everything under it) against `schema`; `old` is the correlated stored value, if any.
pub(super) fn walk(
    causes: &mut Causes,
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    path: &str,
) {
    if value.is_null() && (flag(schema, "nullable") || schema.get("type").is_none()) {
        return;
    }
    if !type_matches(schema, value) {
        let expected = if flag(schema, "x-kubernetes-int-or-string") {
            "int-or-string"
        } else {
            schema
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let actual = go_quote(json_type(value));
        let detail = format!("{path} in body must be of type {expected}: {actual}");
        causes.type_invalid_detail(path, &actual, &detail);
        return;
    }
    scalar(causes, schema, value, path);
    match value {
        Value::Object(map) => {
            for key in required(schema) {
                if !map.contains_key(key) {
                    causes.required(&child_path(path, key), "");
                }
            }
            for (key, child) in map {
                if let Some(child_schema) = property_schema(schema, key) {
                    let old_child = old.and_then(|old| old.get(key));
                    walk(
                        causes,
                        child_schema,
                        child,
                        old_child,
                        &child_path(path, key),
                    );
                }
            }
        }
        Value::Array(items) => {
            list_size(causes, schema, items.len(), path);
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    walk(causes, item_schema, item, None, &format!("{path}[{index}]"));
                }
            }
        }
        _ => {}
    }
    rules::check(causes, schema, value, old, path);
}

/// The JSON type name kube-openapi reports for a value.
pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(schema: &Value, value: &Value) -> bool {
    if flag(schema, "x-kubernetes-int-or-string") {
        return matches!(json_type(value), "integer" | "string");
    }
    match (schema.get("type").and_then(Value::as_str), json_type(value)) {
        (None | Some(""), _) => true,
        (Some("number"), "integer") => true,
        (Some(expected), actual) => expected == actual,
    }
}

fn required(schema: &Value) -> impl Iterator<Item = &str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// enum, string length, pattern, format and numeric bounds.
fn scalar(causes: &mut Causes, schema: &Value, value: &Value, path: &str) {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed
            .iter()
            .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        causes.not_supported(path, &go_value(value), &names);
    }
    if let Value::String(text) = value {
        string(causes, schema, text, path);
    }
    if let Some(number) = value.as_f64() {
        let bad = go_value(value);
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && number < min
        {
            let detail = format!(
                "{path} in body should be greater than or equal to {}",
                go_number(min)
            );
            causes.invalid(path, &bad, &detail);
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && number > max
        {
            let detail = format!(
                "{path} in body should be less than or equal to {}",
                go_number(max)
            );
            causes.invalid(path, &bad, &detail);
        }
    }
}

fn string(causes: &mut Causes, schema: &Value, text: &str, path: &str) {
    let length = text.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && length > max
    {
        causes.too_long(path, usize::try_from(max).unwrap_or(usize::MAX));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && length < min
    {
        let detail = format!("{path} in body should be at least {min} chars long");
        causes.invalid(path, &go_quote(text), &detail);
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && rules::matches(text, pattern) == Some(false)
    {
        let detail = format!("{path} in body should match '{pattern}'");
        causes.invalid(path, &go_quote(text), &detail);
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str)
        && !format_matches(format, text)
    {
        let detail = format!(
            "{path} in body must be of type {format}: {}",
            go_quote(text)
        );
        causes.type_invalid_detail(path, &go_quote(text), &detail);
    }
}

/// The string formats checked (cheap ones only); unknown formats pass, as in kube-openapi.
fn format_matches(format: &str, text: &str) -> bool {
    match format {
        "date-time" => text.parse::<jiff::Timestamp>().is_ok(),
        "date" => text.parse::<jiff::civil::Date>().is_ok(),
        _ => true,
    }
}

fn list_size(causes: &mut Causes, schema: &Value, size: usize, path: &str) {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && size as u64 > max
    {
        causes.too_many(path, size, max);
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (size as u64) < min
    {
        let detail = format!("{path} in body should have at least {min} items");
        causes.invalid(path, &size.to_string(), &detail);
    }
}

/// How Go's `%v` prints a float64 bound: `1` rather than `1.0`.
fn go_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{number:.0}")
    } else {
        number.to_string()
    }
}
