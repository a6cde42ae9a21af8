//! Defaulting and validation of objects on create and update, as kube-apiserver does them for the kinds served.
//! CONTRACT STUB: the signatures are fixed; the implementation is being written.
use crate::ResourceType;
use serde_json::Value;

/// One invalid field; becomes an entry of a 422 Status's `details.causes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldCause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueTooLong`, `FieldValueNotSupported`, ...
    pub reason: String,
    /// The message, e.g. `Invalid value: "A": a lowercase RFC 1123 subdomain must ...`.
    pub message: String,
    /// The field path, e.g. `metadata.name`.
    pub field: String,
}

/// The object is invalid.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{} is invalid", .kind)]
pub struct Invalid {
    /// The object's kind, for the Status message.
    pub kind: String,
    /// Every invalid field.
    pub causes: Vec<FieldCause>,
}

/// Fill in the defaults kube-apiserver sets (e.g. Deployment strategy, Secret type `Opaque`).
pub fn apply_defaults(resource: &ResourceType, object: &mut Value) {
    let _ = (resource, object);
}

/// Validate `object` (the new state) against `old` (the stored state on update).
pub fn validate(
    resource: &ResourceType,
    object: &Value,
    old: Option<&Value>,
) -> Result<(), Invalid> {
    let _ = (resource, object, old);
    Ok(())
}
