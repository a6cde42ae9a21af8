//! Decoding of Kubernetes protobuf request bodies (`k8s\0` magic, then `runtime.Unknown`) into JSON objects.
//!
//! kubectl's typed clients (`create configmap|secret|deployment|namespace|serviceaccount|service|job|cronjob`)
//! send their bodies as Kubernetes protobuf and do not fall back to JSON on a 415 (kubectl 1.32's `run` and
//! `delete` send JSON; Pod and DeleteOptions are decoded too for other client-go users of protobuf):
//!
//! ```text
//!   "k8s\0" ── runtime.Unknown { typeMeta{apiVersion, kind}, raw, contentEncoding, contentType }
//!                                                      │
//!                      (apiVersion, kind) picks a message from k8s.io/api generated.proto
//!                                                      ▼
//!                          prost-decoded struct ── serde ──► the REST API's JSON form
//! ```
//!
//! The structs are hand-written `prost::Message`s carrying the field numbers of the real `generated.proto` files,
//! and `serde` attributes that reproduce Go's JSON: camelCase names, inlined embedded structs, `omitempty` (see
//! [`json`]), base64 for bytes, RFC 3339 times, IntOrString and Quantity as the API prints them. Fields a
//! `kubectl create` never sends (probes, security contexts, affinity, ...) are not modelled and are dropped;
//! `status` is decoded as `{}` because the server resets it on create.
use prost::Message;
use serde::Serialize;
use serde_json::{Map, Value};

pub mod core;
pub mod json;
pub mod meta;
pub mod pod;
pub mod volume;
pub mod workloads;

#[cfg(test)]
mod tests;

/// The protobuf media type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a protobuf body could not be decoded; becomes a 400 or 415 Status.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// Missing magic, truncated or malformed message.
    #[error("malformed protobuf body: {0}")]
    Malformed(String),
    /// A kind this server cannot decode from protobuf.
    #[error("protobuf decoding of {0} is not supported")]
    UnsupportedKind(String),
}

/// Decode a whole request body (with the `k8s\0` prefix) to the JSON form of the object, with apiVersion and kind.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = body
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| ProtobufError::Malformed("missing the k8s\\0 magic prefix".into()))?;
    let unknown = meta::Unknown::decode(envelope).map_err(malformed("runtime.Unknown"))?;
    if let Some(encoding) = unknown
        .content_encoding
        .as_deref()
        .filter(|e| !e.is_empty())
    {
        return Err(ProtobufError::Malformed(format!(
            "unsupported contentEncoding {encoding:?}"
        )));
    }
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    if kind.is_empty() {
        return Err(ProtobufError::Malformed(
            "runtime.Unknown has no kind".into(),
        ));
    }
    let raw = unknown.raw.unwrap_or_default();
    let mut object = decode_object(&api_version, &kind, &raw)?;
    object.insert("apiVersion".into(), Value::String(api_version));
    object.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(object))
}

/// Wrap `raw`, the message of an object of `api_version`/`kind`, in the `k8s\0` + `runtime.Unknown` envelope,
/// exactly as client-go's protobuf serializer does. Useful to build request bodies in tests.
pub fn encode_envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = meta::Unknown {
        type_meta: Some(meta::TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

/// Dispatch on the type: the object's fields as a JSON map, without apiVersion and kind.
fn decode_object(
    api_version: &str,
    kind: &str,
    raw: &[u8],
) -> Result<Map<String, Value>, ProtobufError> {
    match (api_version, kind) {
        ("v1", "ConfigMap") => to_json::<core::ConfigMap>(kind, raw),
        ("v1", "Secret") => to_json::<core::Secret>(kind, raw),
        ("v1", "Namespace") => to_json::<core::Namespace>(kind, raw),
        ("v1", "ServiceAccount") => to_json::<core::ServiceAccount>(kind, raw),
        ("v1", "Service") => to_json::<core::Service>(kind, raw),
        ("v1", "Pod") => to_json::<core::Pod>(kind, raw),
        ("apps/v1", "Deployment") => to_json::<workloads::Deployment>(kind, raw),
        ("batch/v1", "Job") => to_json::<workloads::Job>(kind, raw),
        ("batch/v1", "CronJob") => to_json::<workloads::CronJob>(kind, raw),
        // DeleteOptions is registered in every group version; typed clients tag it with their own.
        (_, "DeleteOptions") => to_json::<meta::DeleteOptions>(kind, raw),
        _ => Err(ProtobufError::UnsupportedKind(if api_version.is_empty() {
            kind.to_string()
        } else {
            format!("{kind} ({api_version})")
        })),
    }
}

fn to_json<M: Message + Default + Serialize>(
    kind: &str,
    raw: &[u8],
) -> Result<Map<String, Value>, ProtobufError> {
    let message = M::decode(raw).map_err(malformed(kind))?;
    match serde_json::to_value(&message) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ProtobufError::Malformed(format!(
            "{kind} did not decode to an object"
        ))),
        Err(error) => Err(ProtobufError::Malformed(format!("{kind}: {error}"))),
    }
}

fn malformed(what: &str) -> impl FnOnce(prost::DecodeError) -> ProtobufError + '_ {
    move |error| ProtobufError::Malformed(format!("{what}: {error}"))
}
