//! Object lifecycles the apiserver (and its built-in controllers) drive: pods start `Pending`; namespaces (Active → Terminating →
//! gone once empty), CRDs (served and `Established` on create, unserved with their objects on delete),
//! and finalizers (an object is removed only when its last finalizer goes). Owner references are followed by the
//! garbage collector (`controllers::gc`); deletion requests only set its finalizers (`propagation`).
use super::{Inner, delete};
use crate::catalog::storage_key;
use crate::meta::{self, metadata_mut};
use crate::status::ApiError;
use crate::store::{ObjectKey, ResourceKey};
use configsync_apimachinery::ResourceType;
use configsync_apimachinery::registry;
use configsync_apimachinery::validation::FieldCause;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

fn namespace_key(name: &str) -> ObjectKey {
    ObjectKey {
        resource: ResourceKey::new("", "namespaces"),
        namespace: String::new(),
        name: name.to_owned(),
    }
}

fn is_namespace(rt: &ResourceType) -> bool {
    rt.group.is_empty() && rt.plural == "namespaces"
}

fn is_crd(rt: &ResourceType) -> bool {
    rt.group == "apiextensions.k8s.io" && rt.plural == "customresourcedefinitions"
}

pub(super) fn create_initial_namespace(inner: &mut Inner, name: &str) {
    let namespace = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": meta::new_uid(),
            "creationTimestamp": meta::now_rfc3339(),
            "labels": { "kubernetes.io/metadata.name": name },
        },
        "spec": { "finalizers": ["kubernetes"] },
        "status": { "phase": "Active" },
    });
    // A fresh store has no objects, so this cannot collide.
    let _ = inner.store.create(namespace_key(name), namespace);
}

/// Objects may be created only in a namespace that exists and is not terminating.
pub(super) fn check_namespace_accepts(
    inner: &Inner,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    let Some(ns) = inner.store.get(&namespace_key(namespace)) else {
        return Err(ApiError::not_found("", "namespaces", namespace));
    };
    if meta::is_deleting(&ns) {
        let why = format!(
            "unable to create new content in namespace {namespace} because it is being terminated"
        );
        return Err(ApiError::forbidden(&rt.group, &rt.plural, name, &why));
    }
    Ok(())
}

/// Type-specific preparation of a new object: namespace name label, pod phase, CRD serving checks.
pub(super) fn prepare_create(rt: &ResourceType, object: &mut Value) -> Result<(), ApiError> {
    if is_namespace(rt) {
        let name = meta::name(object).to_owned();
        let metadata = metadata_mut(object);
        let labels = metadata.entry("labels").or_insert_with(|| json!({}));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
        // spec.finalizers and status.phase are set after field management (`validation::storage_fields`).
    }
    if rt.group.is_empty() && rt.plural == "pods" {
        // As kube-apiserver's pod strategy does; the (simulated) kubelet takes it from there.
        object["status"] = json!({ "phase": "Pending" });
    }
    if is_crd(rt) {
        crd_types(rt, object)?;
    }
    Ok(())
}

fn crd_types(rt: &ResourceType, crd: &Value) -> Result<Vec<ResourceType>, ApiError> {
    registry::resources_from_crd(crd).map_err(|error| {
        let cause = FieldCause {
            reason: "FieldValueInvalid".into(),
            message: error.to_string(),
            field: "spec".into(),
        };
        ApiError::invalid(&rt.group, &rt.kind, meta::name(crd), &[cause])
    })
}

/// After an object is stored: a CRD starts (or keeps) serving its types and is marked Established.
pub(super) fn after_write(
    inner: &mut Inner,
    rt: &ResourceType,
    stored: &Arc<Value>,
) -> Result<Value, ApiError> {
    if !is_crd(rt) || meta::is_deleting(stored) {
        return Ok((**stored).clone());
    }
    let types = crd_types(rt, stored)?;
    let name = meta::name(stored).to_owned();
    inner.catalog.serve_crd(&name, types);
    // Updates keep the stored status (status subresource), so a CRD is marked Established once.
    let already_established = stored
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    if already_established {
        return Ok((**stored).clone());
    }
    let mut established = (**stored).clone();
    let now = meta::now_rfc3339();
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    established["status"] = json!({
        "acceptedNames": stored.pointer("/spec/names").cloned().unwrap_or_else(|| json!({})),
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored_versions(stored),
    });
    let key = ObjectKey {
        resource: storage_key(rt),
        namespace: String::new(),
        name,
    };
    inner
        .store
        .update(key, established)
        .map(|stored| (*stored).clone())
        .map_err(|_| ApiError::internal("CRD vanished"))
}

fn stored_versions(crd: &Value) -> Value {
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    versions
        .iter()
        .filter(|version| {
            version
                .get("storage")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        })
        .filter_map(|version| version.get("name").cloned())
        .collect()
}

/// No finalizers may be added to an object that is being deleted.
pub(super) fn check_finalizers(
    rt: &ResourceType,
    old: &Value,
    new: &Value,
    name: &str,
) -> Result<(), ApiError> {
    if !meta::is_deleting(old) {
        return Ok(());
    }
    let before: HashSet<String> = meta::finalizers(old).into_iter().collect();
    let added: Vec<String> = meta::finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let cause = FieldCause {
        reason: "FieldValueForbidden".into(),
        message: format!(
            "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
        ),
        field: "metadata.finalizers".into(),
    };
    Err(ApiError::invalid(&rt.group, &rt.kind, name, &[cause]))
}

/// Remove an object whose deletion is complete, then whatever that unblocks.
pub(super) fn finish_deletion(
    inner: &mut Inner,
    key: &ObjectKey,
    last: Value,
) -> Result<Value, ApiError> {
    // Store the final state first so the DELETED event carries it.
    inner
        .store
        .update(key.clone(), last)
        .map_err(|_| ApiError::internal("object vanished"))?;
    let removed = inner
        .store
        .remove(key)
        .ok_or_else(|| ApiError::internal("object vanished"))?;
    after_removal(inner, key);
    Ok((*removed).clone())
}

/// Cascade a removal: a CRD's objects, a namespace's emptiness.
pub(super) fn after_removal(inner: &mut Inner, key: &ObjectKey) {
    if key.resource == ResourceKey::new("apiextensions.k8s.io", "customresourcedefinitions") {
        for rt in inner.catalog.remove_crd(&key.name) {
            for (object_key, _) in inner.store.list(&storage_key(&rt), None) {
                inner.store.remove(&object_key);
            }
        }
    }
    if !key.namespace.is_empty() {
        sweep_namespace(inner, &key.namespace);
    }
}

/// Delete every object of a terminating namespace; remove the namespace once none remain.
pub(super) fn terminate_namespace(inner: &mut Inner, name: &str) {
    let keys: Vec<ObjectKey> = inner.store.keys_in_namespace(name);
    for key in keys {
        delete::delete_key(inner, &key, None);
    }
    sweep_namespace(inner, name);
}

fn sweep_namespace(inner: &mut Inner, name: &str) {
    let key = namespace_key(name);
    let terminating = inner
        .store
        .get(&key)
        .is_some_and(|ns| meta::is_deleting(&ns));
    if terminating && inner.store.keys_in_namespace(name).is_empty() {
        inner.store.remove(&key);
    }
}
