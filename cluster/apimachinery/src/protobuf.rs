//! Decoding of Kubernetes protobuf request bodies (`k8s\0` magic, then `runtime.Unknown`) into JSON objects.
//! kubectl's typed clients (create configmap/secret/deployment/namespace/serviceaccount/service) send these.
//! CONTRACT STUB: the signatures are fixed; the implementation is being written.
use serde_json::Value;

/// The protobuf media type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

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
    let _ = body;
    Err(ProtobufError::Malformed("not implemented".into()))
}
