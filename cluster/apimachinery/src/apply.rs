//! Server-side apply and `metadata.managedFields` bookkeeping.
//! CONTRACT STUB: the signatures are fixed; the implementation is being written.
use serde_json::Value;

/// One server-side apply request.
#[derive(Clone, Copy, Debug)]
pub struct ApplyRequest<'a> {
    /// The live object, or `None` when apply creates it.
    pub live: Option<&'a Value>,
    /// The applied configuration (already parsed from YAML or JSON).
    pub applied: &'a Value,
    /// The `fieldManager` query parameter (required for apply).
    pub manager: &'a str,
    /// The `force` query parameter: take ownership of conflicting fields.
    pub force: bool,
    /// The request time, RFC 3339, for the managedFields entry.
    pub now: &'a str,
    /// `Some("status")` when applying to the status subresource.
    pub subresource: Option<&'a str>,
}

/// A field owned by another manager with a different value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The manager that owns the field.
    pub manager: String,
    /// The apiVersion that manager used.
    pub api_version: String,
    /// The field path as the apiserver prints it, e.g. `.spec.replicas`.
    pub field: String,
}

/// Why an apply failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Fields are owned by other managers; becomes a 409 with reason `Conflict` and `FieldManagerConflict` causes.
    #[error("Apply failed with {} conflict(s)", .0.len())]
    Conflicts(Vec<Conflict>),
    /// The applied configuration is not a valid object.
    #[error("invalid object: {0}")]
    InvalidObject(String),
}

/// Merge `applied` into `live` with field ownership, returning the new object with updated managedFields.
pub fn server_side_apply(request: ApplyRequest<'_>) -> Result<Value, ApplyError> {
    let _ = request;
    Err(ApplyError::InvalidObject("not implemented".into()))
}

/// Record an `Update` operation by `manager` (create, update, non-apply patch) in `new`'s managedFields.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    now: &str,
    subresource: Option<&str>,
) {
    let _ = (old, new, manager, now, subresource);
}
