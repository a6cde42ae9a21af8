//! Deletion: preconditions, graceful deletion while finalizers remain (deletionTimestamp set, object kept,
//! generation bumped), immediate removal otherwise, and namespace termination.
use super::{Inner, WriteRequest, lifecycle, object_key, propagation};
use crate::meta::{self, metadata_mut};
use crate::status::{ApiError, deleted_status};
use crate::store::{ObjectKey, ResourceKey};
use configsync_apimachinery::resource::ResourceType;
use serde_json::{Value, json};

/// The parts of `DeleteOptions` this server honours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `gracePeriodSeconds`, recorded as `deletionGracePeriodSeconds`.
    pub grace_period_seconds: Option<i64>,
    /// `propagationPolicy`: `Orphan`, `Background` (default) or `Foreground`; see `propagation`.
    pub propagation_policy: Option<String>,
}

impl DeleteOptions {
    /// Read a `DeleteOptions` body (may be `Null`), with query parameters taking precedence.
    pub fn from_parts(
        body: &Value,
        grace_query: Option<i64>,
        propagation_query: Option<&str>,
    ) -> Self {
        let text = |pointer: &str| {
            body.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Self {
            uid: text("/preconditions/uid"),
            resource_version: text("/preconditions/resourceVersion"),
            grace_period_seconds: grace_query
                .or_else(|| body.get("gracePeriodSeconds").and_then(Value::as_i64)),
            propagation_policy: propagation_query
                .map(str::to_owned)
                .or_else(|| text("/propagationPolicy")),
        }
    }
}

/// What a deletion did.
pub(super) enum Outcome {
    /// The object remains with a deletionTimestamp until its finalizers are gone.
    Pending(Value),
    /// The object was removed.
    Removed(Value),
}

pub(super) fn delete(
    inner: &mut Inner,
    request: &WriteRequest<'_>,
    name: &str,
    options: &DeleteOptions,
) -> Result<Value, ApiError> {
    let rt = request.rt;
    let key = object_key(rt, request.namespace, name);
    let old = inner
        .store
        .get(&key)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    // The storage layer reports failed preconditions under the kind, not the resource.
    check_preconditions(&old, options)
        .map_err(|why| ApiError::conflict(&rt.group, &rt.kind, name, &why))?;
    if request.dry_run {
        return Ok(dry_run_answer(rt, name, &old));
    }
    let policy = options.propagation_policy.as_deref();
    let finalizers = propagation::deletion_finalizers(rt, &old, policy);
    let outcome = delete_with_finalizers(inner, &key, options.grace_period_seconds, finalizers);
    match outcome {
        Some(Outcome::Pending(object)) => Ok(object),
        Some(Outcome::Removed(object)) if returns_deleted_object(&rt.group, &rt.plural) => {
            Ok(object)
        }
        Some(Outcome::Removed(object)) => {
            let uid = meta::meta_str(&object, "uid").unwrap_or("");
            Ok(deleted_status(&rt.group, &rt.plural, name, uid))
        }
        None => Err(ApiError::not_found(&rt.group, &rt.plural, name)),
    }
}

/// The kinds whose registry sets `ReturnDeletedObject` (pods, serviceaccounts): an immediate delete answers
/// with the object; every other kind answers with a success `Status`.
fn returns_deleted_object(group: &str, plural: &str) -> bool {
    group.is_empty() && matches!(plural, "pods" | "serviceaccounts")
}

/// What a dry-run delete answers: the object when it would stay (finalizers) or its kind returns deleted
/// objects, a success `Status` otherwise, as for a real delete.
fn dry_run_answer(rt: &ResourceType, name: &str, old: &Value) -> Value {
    let finalized = old
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if finalized || returns_deleted_object(&rt.group, &rt.plural) {
        return old.clone();
    }
    let uid = meta::meta_str(old, "uid").unwrap_or("");
    deleted_status(&rt.group, &rt.plural, name, uid)
}

fn check_preconditions(old: &Value, options: &DeleteOptions) -> Result<(), String> {
    let stored_uid = meta::meta_str(old, "uid").unwrap_or("");
    if let Some(uid) = &options.uid
        && uid != stored_uid
    {
        return Err(format!(
            "the UID in the precondition ({uid}) does not match the UID in record ({stored_uid}). The object might have been deleted and then recreated"
        ));
    }
    let stored_rv = meta::meta_str(old, "resourceVersion").unwrap_or("");
    if let Some(rv) = &options.resource_version
        && rv != stored_rv
    {
        return Err(format!(
            "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({stored_rv}). The object might have been modified"
        ));
    }
    Ok(())
}

/// Delete one stored object by key, honouring finalizers; `None` if it does not exist.
pub(super) fn delete_key(
    inner: &mut Inner,
    key: &ObjectKey,
    grace: Option<i64>,
) -> Option<Outcome> {
    delete_with_finalizers(inner, key, grace, None)
}

/// [`delete_key`], first replacing the object's finalizers with `finalizers` (the deletion propagation's).
fn delete_with_finalizers(
    inner: &mut Inner,
    key: &ObjectKey,
    grace: Option<i64>,
    finalizers: Option<Vec<String>>,
) -> Option<Outcome> {
    let old = inner.store.get(key)?;
    if key.resource == ResourceKey::new("", "namespaces") {
        return Some(delete_namespace(inner, key, &old));
    }
    if meta::is_deleting(&old) {
        return Some(Outcome::Pending((*old).clone()));
    }
    let mut marked = (*old).clone();
    if let Some(finalizers) = finalizers {
        metadata_mut(&mut marked).insert("finalizers".into(), json!(finalizers));
    }
    if meta::finalizers(&marked).is_empty() {
        let removed = inner.store.remove(key)?;
        lifecycle::after_removal(inner, key);
        return Some(Outcome::Removed((*removed).clone()));
    }
    mark_deleting(&mut marked, grace.unwrap_or(0));
    let stored = inner.store.update(key.clone(), marked).ok()?;
    Some(Outcome::Pending((*stored).clone()))
}

fn mark_deleting(object: &mut Value, grace: i64) {
    let generation = meta::generation(object);
    let metadata = metadata_mut(object);
    metadata.insert("deletionTimestamp".into(), json!(meta::now_rfc3339()));
    metadata.insert("deletionGracePeriodSeconds".into(), json!(grace.max(0)));
    if generation > 0 {
        metadata.insert("generation".into(), json!(generation + 1));
    }
}

/// A namespace turns Terminating, its objects are deleted, and it goes once empty.
fn delete_namespace(inner: &mut Inner, key: &ObjectKey, old: &Value) -> Outcome {
    if !meta::is_deleting(old) {
        let mut terminating = old.clone();
        mark_deleting(&mut terminating, 0);
        terminating["status"] = json!({ "phase": "Terminating" });
        // The key exists (we just read it under the same lock).
        let _ = inner.store.update(key.clone(), terminating);
    }
    lifecycle::terminate_namespace(inner, &key.name);
    match inner.store.get(key) {
        Some(current) => Outcome::Pending((*current).clone()),
        None => {
            let mut gone = old.clone();
            gone["status"] = json!({ "phase": "Terminating" });
            Outcome::Pending(gone)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_prefer_query_parameters() {
        let body = json!({"gracePeriodSeconds": 5, "propagationPolicy": "Orphan", "preconditions": {"uid": "u1"}});
        let options = DeleteOptions::from_parts(&body, Some(0), None);
        assert_eq!(options.grace_period_seconds, Some(0));
        assert_eq!(options.propagation_policy.as_deref(), Some("Orphan"));
        assert_eq!(options.uid.as_deref(), Some("u1"));
        assert_eq!(
            DeleteOptions::from_parts(&Value::Null, None, None),
            DeleteOptions::default()
        );
    }

    #[test]
    fn preconditions_name_both_values() {
        let old = json!({"metadata": {"uid": "a", "resourceVersion": "7"}});
        let wrong_uid = DeleteOptions {
            uid: Some("b".into()),
            ..Default::default()
        };
        assert_eq!(
            check_preconditions(&old, &wrong_uid),
            Err("the UID in the precondition (b) does not match the UID in record (a). The object might have been deleted and then recreated".into())
        );
        let right = DeleteOptions {
            uid: Some("a".into()),
            resource_version: Some("7".into()),
            ..Default::default()
        };
        assert_eq!(check_preconditions(&old, &right), Ok(()));
    }
}
