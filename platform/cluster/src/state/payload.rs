//! Secret payload rules applied before validation: `stringData` is merged into base64 `data` on write and never
//! stored, and `data` values must be base64, or the body is rejected the way kube-apiserver's decoder rejects
//! it (400 `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte N`).
//! Values are never put into error messages. The 1 MiB cap on ConfigMaps and Secrets is enforced by
//! `validation::validate`, which runs after this.
use crate::status::ApiError;
use base64::engine::general_purpose::STANDARD;
use base64::{DecodeError, Engine};
use configsync_apimachinery::ResourceType;
use serde_json::{Map, Value, json};

/// Apply the payload rules to a Secret about to be stored; other kinds pass unchanged.
pub fn normalize(rt: &ResourceType, object: &mut Value) -> Result<(), ApiError> {
    if !(rt.group.is_empty() && rt.plural == "secrets") {
        return Ok(());
    }
    let Some(map) = object.as_object_mut() else {
        return Ok(());
    };
    let string_data = map.remove("stringData");
    let mut data = match map.remove("data") {
        Some(Value::Object(data)) => data,
        Some(other) => {
            map.insert("data".into(), other);
            Map::new()
        }
        None => Map::new(),
    };
    for value in data.values() {
        if let Some(text) = value.as_str()
            && let Err(error) = STANDARD.decode(text)
        {
            return Err(illegal_base64(text, &error));
        }
    }
    if let Some(Value::Object(strings)) = string_data {
        for (key, value) in strings {
            let text = value.as_str().unwrap_or_default();
            data.insert(key, json!(STANDARD.encode(text)));
        }
    }
    if !data.is_empty() {
        map.insert("data".into(), Value::Object(data));
    }
    Ok(())
}

fn illegal_base64(text: &str, error: &DecodeError) -> ApiError {
    let offset = match error {
        DecodeError::InvalidByte(offset, _) | DecodeError::InvalidLastSymbol(offset, _) => *offset,
        DecodeError::InvalidLength(length) => *length,
        DecodeError::InvalidPadding => text.len(),
    };
    ApiError::bad_request(format!(
        "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte {offset}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::builtin;

    fn secret_type() -> ResourceType {
        builtin("", "secrets")
    }

    #[test]
    fn string_data_is_merged_into_base64_data() {
        let mut secret = json!({"data": {"a": "eA==", "b": "eA=="}, "stringData": {"b": "hello", "c": "1f2d1e2e67df"}});
        normalize(&secret_type(), &mut secret).expect("valid");
        assert_eq!(
            secret,
            json!({"data": {"a": "eA==", "b": "aGVsbG8=", "c": "MWYyZDFlMmU2N2Rm"}})
        );
    }

    #[test]
    fn invalid_base64_is_rejected_without_echoing_the_value() {
        let mut secret = json!({"data": {"k": "hunter2!"}});
        let error = normalize(&secret_type(), &mut secret).expect_err("invalid");
        assert_eq!(error.code, 400);
        assert_eq!(
            error.message,
            "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 7"
        );
    }

    #[test]
    fn other_kinds_pass_unchanged() {
        let cm_type = builtin("", "configmaps");
        let mut configmap = json!({"data": {"k": "not base64!"}, "stringData": {"x": "y"}});
        let before = configmap.clone();
        normalize(&cm_type, &mut configmap).expect("untouched");
        assert_eq!(configmap, before);
    }
}
