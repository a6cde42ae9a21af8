//! The three PATCH flavours that are not server-side apply: JSON patch, JSON merge patch, strategic merge patch.
//! CONTRACT STUB: the signatures are fixed; the implementation is being written.
use serde_json::Value;

/// Why a patch could not be applied; becomes a 422 or 400 Status.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The patch document itself is malformed.
    #[error("invalid patch: {0}")]
    InvalidPatch(String),
    /// A JSON patch operation failed (bad path, failed `test`).
    #[error("the JSON patch could not be applied: {0}")]
    ApplyJsonPatch(String),
}

/// RFC 6902 JSON patch (`application/json-patch+json`).
pub fn apply_json_patch(object: &Value, patch: &Value) -> Result<Value, PatchError> {
    let _ = (object, patch);
    Err(PatchError::InvalidPatch("not implemented".into()))
}

/// RFC 7386 JSON merge patch (`application/merge-patch+json`).
pub fn apply_merge_patch(object: &Value, patch: &Value) -> Result<Value, PatchError> {
    let _ = (object, patch);
    Err(PatchError::InvalidPatch("not implemented".into()))
}

/// Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds: lists with a merge key
/// (containers, env, volumes, ...) are merged by key; `$patch`, `$retainKeys`, `$setElementOrder` and
/// `$deleteFromPrimitiveList` directives are honoured. The kind is read from `object`'s apiVersion and kind.
pub fn apply_strategic_merge_patch(object: &Value, patch: &Value) -> Result<Value, PatchError> {
    let _ = (object, patch);
    Err(PatchError::InvalidPatch("not implemented".into()))
}
