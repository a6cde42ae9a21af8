//! ConfigMap and Secret rules: key syntax, the 1 MiB size limit, `immutable`, and Secret type requirements.
//! Secret values never appear in a message.
use super::Causes;
use super::names::{go_quote, is_config_map_key};
use base64::Engine as _;
use serde_json::{Map, Value};

/// `MaxConfigMapSize` and `MaxSecretSize`.
pub(crate) const MAX_DATA_BYTES: usize = 1024 * 1024;
const IMMUTABLE: &str = "field is immutable when `immutable` is set";

/// Bytes a base64 value decodes to; the length of the text when it is not base64 (the decoder rejects it).
fn decoded_len(value: &str) -> usize {
    base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_or(value.len(), |bytes| bytes.len())
}

/// Check keys of `object[bag]`, and return its values' total size (`base64`: values are encoded bytes).
fn check_bag(
    causes: &mut Causes,
    object: &Value,
    bag: &str,
    other_bag: Option<&str>,
    base64: bool,
) -> usize {
    let Some(entries) = causes.object(object, bag, bag) else {
        return 0;
    };
    let other = other_bag
        .and_then(|b| object.get(b))
        .and_then(Value::as_object);
    let mut total = 0;
    for (key, value) in entries {
        let field = format!("{bag}[{key}]");
        for message in is_config_map_key(key) {
            causes.invalid(&field, &go_quote(key), &message);
        }
        if let (Some(other), Some(other_bag)) = (other, other_bag)
            && other.contains_key(key)
        {
            causes.invalid(
                &field,
                &go_quote(key),
                &format!("duplicate of key present in {other_bag}"),
            );
        }
        match value.as_str() {
            Some(text) if base64 => total += decoded_len(text),
            Some(text) => total += text.len(),
            None => causes.type_invalid(&field, &Value::String(type_name(value).into()), "string"),
        }
    }
    total
}

/// The JSON type of a value, shown instead of the value itself (it may be secret).
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn bag(object: &Value, key: &str) -> Map<String, Value> {
    object
        .get(key)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn is_immutable(object: &Value) -> bool {
    object.get("immutable") == Some(&Value::Bool(true))
}

/// Once `immutable: true` is stored, the flag and the listed bags cannot change.
fn check_immutable(causes: &mut Causes, object: &Value, old: Option<&Value>, bags: &[&str]) {
    let Some(old) = old.filter(|o| is_immutable(o)) else {
        return;
    };
    if !is_immutable(object) {
        causes.forbidden("immutable", IMMUTABLE);
    }
    for key in bags {
        if bag(object, key) != bag(old, key) {
            causes.forbidden(key, IMMUTABLE);
        }
    }
}

/// `ValidateConfigMap` and `ValidateConfigMapUpdate`.
pub(super) fn config_map(causes: &mut Causes, object: &Value, old: Option<&Value>) {
    check_immutable(causes, object, old, &["data", "binaryData"]);
    let total = check_bag(causes, object, "data", Some("binaryData"), false)
        + check_bag(causes, object, "binaryData", Some("data"), true);
    if total > MAX_DATA_BYTES {
        causes.too_long("[]", MAX_DATA_BYTES);
    }
}

/// `ValidateSecret` and `ValidateSecretUpdate`.
pub(super) fn secret(causes: &mut Causes, object: &Value, old: Option<&Value>) {
    let secret_type = causes.string(object, "type", "type").unwrap_or_default();
    if let Some(old) = old {
        let old_type = old.get("type").and_then(Value::as_str).unwrap_or_default();
        if old_type != secret_type {
            causes.invalid("type", &go_quote(secret_type), "field is immutable");
        }
    }
    check_immutable(causes, object, old, &["data"]);
    if let Some(string_data) = causes.object(object, "stringData", "stringData") {
        for (key, value) in string_data.iter().filter(|(_, v)| !v.is_string()) {
            causes.type_invalid(
                &format!("stringData[{key}]"),
                &Value::String(type_name(value).into()),
                "string",
            );
        }
    }
    if check_bag(causes, object, "data", None, true) > MAX_DATA_BYTES {
        causes.too_long("data", MAX_DATA_BYTES);
    }
    secret_type_keys(causes, object, secret_type);
}

/// The keys each built-in Secret type requires.
fn secret_type_keys(causes: &mut Causes, object: &Value, secret_type: &str) {
    let data = bag(object, "data");
    let has = |key: &str| data.contains_key(key);
    match secret_type {
        "kubernetes.io/service-account-token" => {
            let annotations =
                object.pointer("/metadata/annotations/kubernetes.io~1service-account.name");
            if annotations
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                causes.required(
                    "metadata.annotations[kubernetes.io/service-account.name]",
                    "",
                );
            }
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => causes.required("data[.dockercfg]", ""),
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            causes.required("data[.dockerconfigjson]", "");
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            causes.required("data[username]", "");
            causes.required("data[password]", "");
        }
        "kubernetes.io/ssh-auth" if !has("ssh-privatekey") => {
            causes.required("data[ssh-privatekey]", "")
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !has(key) {
                    causes.required(&format!("data[{key}]"), "");
                }
            }
        }
        _ => {}
    }
}
