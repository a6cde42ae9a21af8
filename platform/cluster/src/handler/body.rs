//! Request body decoding: JSON, YAML, and Kubernetes protobuf (`k8s\0` + `runtime.Unknown`, which kubectl's
//! typed clients send for `create configmap|secret|deployment`), plus the PATCH content types.
use crate::status::ApiError;
use configsync_apimachinery::protobuf;
use serde_json::Value;

/// The PATCH flavours, by `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/json-patch+json`.
    Json,
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchKind {
    /// The patch flavour of a `Content-Type`.
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        match media_type(content_type).as_str() {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml"
            | "application/apply-patch+json"
            | "application/apply-patch+cbor" => Ok(Self::Apply),
            _ => Err(unsupported_patch(content_type)),
        }
    }
}

/// The 415 for a patch type the resource does not accept.
pub fn unsupported_patch(content_type: &str) -> ApiError {
    // kube-apiserver's patch handler answers an unknown patch type with the bare HTTP status text.
    let mut error = ApiError::unsupported_media_type(content_type);
    error.message = "415: Unsupported Media Type".to_owned();
    error.details = Some(serde_json::json!({}));
    error
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Decode an object body of any accepted type.
pub fn decode_object(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    let media = media_type(content_type);
    if media == protobuf::CONTENT_TYPE || body.starts_with(b"k8s\0") {
        return protobuf::decode(body).map_err(|error| match error {
            protobuf::ProtobufError::UnsupportedKind(_) => {
                let mut status = ApiError::unsupported_media_type(content_type);
                status.message = error.to_string();
                status
            }
            protobuf::ProtobufError::Malformed(_) => ApiError::bad_request(error.to_string()),
        });
    }
    if media.contains("yaml") {
        return decode_yaml(body);
    }
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("json parse error: {error}")))
}

/// Decode a YAML (or JSON, which is YAML) body.
pub fn decode_yaml(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    serde_saphyr::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("yaml parse error: {error}")))
}

/// Decode a possibly empty JSON body (DeleteOptions), `Null` when empty.
pub fn decode_optional(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    decode_object(content_type, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_json_and_yaml() {
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: \"1\"\n";
        let value = decode_object("application/apply-patch+yaml", yaml).expect("yaml");
        assert_eq!(value["data"]["k"], "1");
        assert_eq!(
            decode_object("application/json", br#"{"a":1}"#).expect("json"),
            json!({"a": 1})
        );
        assert_eq!(
            decode_object("application/json", b"{")
                .expect_err("bad")
                .code,
            400
        );
        assert_eq!(
            decode_optional("application/json", b"  ").expect("empty"),
            Value::Null
        );
    }

    #[test]
    fn patch_types_by_content_type() {
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json; charset=utf-8").ok(),
            Some(PatchKind::Merge)
        );
        assert_eq!(
            PatchKind::from_content_type("application/apply-patch+yaml").ok(),
            Some(PatchKind::Apply)
        );
        assert_eq!(
            PatchKind::from_content_type("text/plain")
                .expect_err("415")
                .code,
            415
        );
    }
}
