//! The three PATCH flavours that are not server-side apply: JSON patch, JSON merge patch, strategic merge patch.
//!
//! ```text
//!   application/json-patch+json            ──► json_patch::patch   (RFC 6902, the `json-patch` crate)
//!   application/merge-patch+json           ──► json_patch::merge   (RFC 7386, the `json-patch` crate)
//!   application/strategic-merge-patch+json ──► strategic::merge_map (port of apimachinery strategicpatch)
//! ```
//!
//! Every function takes the live object and the patch document and returns the patched object, or a
//! [`PatchError`] for any malformed or inapplicable patch; none panics on any input. The result must still
//! be a JSON object: a patch that would turn the object into an array or a scalar is rejected.
//!
//! # Strategic merge patch
//! Lists merge as the `patchStrategy`/`patchMergeKey` tags of `k8s.io/api` say, through the table in
//! [`schema`] (which server-side apply reuses). Approximations compared to the apiserver:
//! - only the kinds and fields in [`schema`] are known; any other field merges maps and replaces lists, and
//!   so do custom resources (the real apiserver answers 415 for those: see [`supports_strategic_merge`]);
//! - directives inside a newly added value are applied against an empty value instead of being copied, and
//!   `null`s in it are dropped (the apiserver drops them when it decodes into Go structs);
//! - `$deleteFromPrimitiveList/<f>` on a missing list is a no-op (Go copies the deletion list in);
//! - an unknown `$` directive is an error instead of being stored as a field.
use serde_json::Value;

pub mod schema;
pub mod strategic;
#[cfg(test)]
mod tests;

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

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn not_object(what: &str, value: &Value) -> PatchError {
    PatchError::InvalidPatch(format!(
        "{what} must be a JSON object, got {}",
        json_type(value)
    ))
}

/// RFC 6902 JSON patch (`application/json-patch+json`).
pub fn apply_json_patch(object: &Value, patch: &Value) -> Result<Value, PatchError> {
    let operations: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|err| PatchError::InvalidPatch(format!("malformed JSON patch: {err}")))?;
    let mut patched = object.clone();
    json_patch::patch(&mut patched, &operations)
        .map_err(|err| PatchError::ApplyJsonPatch(err.to_string()))?;
    if !patched.is_object() {
        return Err(PatchError::ApplyJsonPatch(format!(
            "the result is {}, not an object",
            json_type(&patched)
        )));
    }
    Ok(patched)
}

/// RFC 7386 JSON merge patch (`application/merge-patch+json`).
pub fn apply_merge_patch(object: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_object() {
        return Err(not_object("a merge patch", patch));
    }
    let mut patched = object.clone();
    json_patch::merge(&mut patched, patch);
    Ok(patched)
}

/// Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds: lists with a merge key
/// (containers, env, volumes, ...) are merged by key; `$patch`, `$retainKeys`, `$setElementOrder` and
/// `$deleteFromPrimitiveList` directives are honoured. The kind is read from `object`'s apiVersion and kind.
pub fn apply_strategic_merge_patch(object: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Object(original) = object else {
        return Err(not_object("the object to patch", object));
    };
    let Value::Object(patch_map) = patch else {
        return Err(not_object("a strategic merge patch", patch));
    };
    let node = schema::TypeNode::for_object(object);
    let merged = strategic::merge_map(original.clone(), patch_map.clone(), node)?;
    Ok(Value::Object(merged))
}

/// Whether the apiserver accepts a strategic merge patch for this object: only built-in kinds; for custom
/// resources it answers 415 Unsupported Media Type. [`apply_strategic_merge_patch`] itself accepts both.
pub fn supports_strategic_merge(object: &Value) -> bool {
    schema::is_built_in(object)
}
