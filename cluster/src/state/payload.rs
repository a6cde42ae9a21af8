//! ConfigMap and Secret payload rules: Secret `stringData` is merged into base64 `data` on write and never
//! stored; `data` must be valid base64; and the total payload is capped at 1 MiB, with kube-apiserver's messages
//! (`ConfigMap "x" is invalid: []: Too long: may not be more than 1048576 bytes`,
//! `Secret "x" is invalid: data: Too long: ...`). Values are never put into error messages.
use crate::status::ApiError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use configsync_apimachinery::ResourceType;
use configsync_apimachinery::validation::FieldCause;
use serde_json::{Map, Value, json};

/// The payload cap of ConfigMaps and Secrets (`core.MaxSecretSize`).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Apply the payload rules to a ConfigMap or Secret about to be stored; other kinds pass unchanged.
pub fn normalize(rt: &ResourceType, object: &mut Value, name: &str) -> Result<(), ApiError> {
    if !rt.group.is_empty() {
        return Ok(());
    }
    match rt.plural.as_str() {
        "secrets" => normalize_secret(rt, object, name),
        "configmaps" => check_configmap(rt, object, name),
        _ => Ok(()),
    }
}

fn normalize_secret(rt: &ResourceType, object: &mut Value, name: &str) -> Result<(), ApiError> {
    let Some(map) = object.as_object_mut() else {
        return Ok(());
    };
    let string_data = map.remove("stringData");
    let mut data = match map.remove("data") {
        Some(Value::Object(data)) => data,
        _ => Map::new(),
    };
    if let Some(Value::Object(strings)) = string_data {
        for (key, value) in strings {
            let text = value.as_str().unwrap_or_default();
            data.insert(key, json!(STANDARD.encode(text)));
        }
    }
    let mut total = 0usize;
    let mut causes = Vec::new();
    for (key, value) in &data {
        match value.as_str().map(|text| STANDARD.decode(text)) {
            Some(Ok(bytes)) => total += bytes.len(),
            Some(Err(_)) | None => causes.push(FieldCause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: \"<secret contents redacted>\": illegal base64 data"
                    .into(),
                field: format!("data[{key}]"),
            }),
        }
    }
    if total > MAX_PAYLOAD_BYTES {
        causes.push(too_long("data"));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(&rt.group, &rt.kind, name, &causes));
    }
    if !data.is_empty() {
        map.insert("data".into(), Value::Object(data));
    }
    Ok(())
}

fn check_configmap(rt: &ResourceType, object: &Value, name: &str) -> Result<(), ApiError> {
    let size = |field: &str, decode: bool| -> usize {
        let Some(entries) = object.get(field).and_then(Value::as_object) else {
            return 0;
        };
        entries
            .values()
            .filter_map(Value::as_str)
            .map(|text| {
                if decode {
                    STANDARD
                        .decode(text)
                        .map_or(text.len(), |bytes| bytes.len())
                } else {
                    text.len()
                }
            })
            .sum()
    };
    if size("data", false) + size("binaryData", true) > MAX_PAYLOAD_BYTES {
        return Err(ApiError::invalid(
            &rt.group,
            &rt.kind,
            name,
            &[too_long("[]")],
        ));
    }
    Ok(())
}

fn too_long(field: &str) -> FieldCause {
    FieldCause {
        reason: "FieldValueTooLong".into(),
        message: format!("Too long: may not be more than {MAX_PAYLOAD_BYTES} bytes"),
        field: field.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mk_type;

    fn secret_type() -> ResourceType {
        mk_type("", "v1", "Secret", "secrets", true)
    }

    #[test]
    fn string_data_is_merged_into_base64_data() {
        let mut secret = json!({"data": {"a": "eA==", "b": "eA=="}, "stringData": {"b": "hello", "c": "1f2d1e2e67df"}});
        normalize(&secret_type(), &mut secret, "s").expect("valid");
        assert_eq!(
            secret,
            json!({"data": {"a": "eA==", "b": "aGVsbG8=", "c": "MWYyZDFlMmU2N2Rm"}})
        );
    }

    #[test]
    fn invalid_base64_is_rejected_without_echoing_the_value() {
        let mut secret = json!({"data": {"k": "not base64!"}});
        let error = normalize(&secret_type(), &mut secret, "s").expect_err("invalid");
        assert_eq!(error.code, 422);
        assert!(!error.message.contains("not base64"), "{}", error.message);
        assert_eq!(
            error.to_status()["details"]["causes"][0]["field"],
            "data[k]"
        );
    }

    #[test]
    fn payloads_over_one_mebibyte_are_rejected() {
        let big = "x".repeat(MAX_PAYLOAD_BYTES + 1);
        let cm_type = mk_type("", "v1", "ConfigMap", "configmaps", true);
        let error =
            normalize(&cm_type, &mut json!({"data": {"k": big}}), "big").expect_err("too big");
        assert_eq!(
            error.message,
            "ConfigMap \"big\" is invalid: []: Too long: may not be more than 1048576 bytes"
        );
        let exact = "x".repeat(MAX_PAYLOAD_BYTES);
        normalize(&cm_type, &mut json!({"data": {"k": exact}}), "ok")
            .expect("exactly 1 MiB is allowed");
        let mut secret = json!({"stringData": {"k": "y".repeat(MAX_PAYLOAD_BYTES + 1)}});
        let error = normalize(&secret_type(), &mut secret, "s").expect_err("too big");
        assert_eq!(
            error.message,
            "Secret \"s\" is invalid: data: Too long: may not be more than 1048576 bytes"
        );
    }
}
