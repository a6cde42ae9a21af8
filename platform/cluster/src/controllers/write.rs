//! Writing decisions back through the API, the way the real components do: status through merge patches of the
//! status subresource, spec changes through merge patches, each under the real component's field manager.
//!
//! A workload controller's status write carries the `resourceVersion` of the object it computed that status
//! from ([`if_unchanged`]), as kube-controller-manager's UpdateStatus does: when anyone wrote the object since
//! (a condition of another client's, say), the API server answers 409 Conflict instead of the write silently
//! dropping that change, and the controller syncs again from the fresh object ([`caused_by_conflict`]).

use std::fmt::Debug;

use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde::Serialize;
use serde_json::{Map, Value};

/// Field manager of the Deployment, ReplicaSet, StatefulSet, DaemonSet controllers and the garbage collector.
pub const CONTROLLER_MANAGER: &str = "kube-controller-manager";
/// Field manager of the pod status writes.
pub const KUBELET: &str = "kubelet";
/// Field manager of pod binding (`spec.nodeName`).
pub const SCHEDULER: &str = "kube-scheduler";

/// A JSON merge patch `{"status": new}` that also clears (with `null`) every top-level status field that `old`
/// has and `new` lacks, so the stored status ends up exactly `new`.
pub fn status_patch<S: Serialize>(old: Option<&S>, new: &S) -> Value {
    let mut new_value = serde_json::to_value(new).unwrap_or(Value::Null);
    let old_value = old.and_then(|o| serde_json::to_value(o).ok());
    if let (Some(Value::Object(old_map)), Value::Object(new_map)) = (old_value, &mut new_value) {
        for key in old_map.keys() {
            if !new_map.contains_key(key) {
                new_map.insert(key.clone(), Value::Null);
            }
        }
    }
    let mut patch = Map::new();
    patch.insert("status".to_string(), new_value);
    Value::Object(patch)
}

/// `patch` made conditional on the object still being at `resource_version` (the one its new content was
/// computed from): the API server answers 409 Conflict when the object was written since. `None` leaves the
/// patch unconditional.
pub fn if_unchanged(mut patch: Value, resource_version: Option<&str>) -> Value {
    if let (Some(version), Some(map)) = (resource_version, patch.as_object_mut()) {
        let metadata = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("resourceVersion".to_string(), Value::from(version));
        }
    }
    patch
}

/// Whether the API answered 409 Conflict (the object changed since it was read), as opposed to AlreadyExists.
pub fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409 && status.reason == "Conflict")
}

/// Whether `error`, or any error in its chain of causes, is a 409 Conflict: the sync computed from an object
/// that has changed since, and should run again at once on the fresh one.
pub fn caused_by_conflict(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.downcast_ref::<kube::Error>().is_some_and(is_conflict) {
            return true;
        }
        next = error.source();
    }
    false
}

/// Whether the API answered 404.
pub fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// Whether the API answered 409 AlreadyExists (as opposed to a Conflict).
pub fn is_already_exists(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409 && status.reason == "AlreadyExists")
}

/// Merge-patches the status subresource of `name`. A vanished object is not an error.
pub async fn patch_status<K>(
    api: &Api<K>,
    name: &str,
    patch: &Value,
    manager: &str,
) -> kube::Result<()>
where
    K: Clone + DeserializeOwned + Debug,
{
    let params = merge_params(manager);
    let result = api.patch_status(name, &params, &Patch::Merge(patch)).await;
    ignore_not_found(result)
}

/// Merge-patches the main resource of `name`. A vanished object is not an error.
pub async fn patch_object<K>(
    api: &Api<K>,
    name: &str,
    patch: &Value,
    manager: &str,
) -> kube::Result<()>
where
    K: Clone + DeserializeOwned + Debug,
{
    let result = api
        .patch(name, &merge_params(manager), &Patch::Merge(patch))
        .await;
    ignore_not_found(result)
}

fn merge_params(manager: &str) -> PatchParams {
    PatchParams {
        field_manager: Some(manager.to_string()),
        ..PatchParams::default()
    }
}

/// A write whose object vanished did nothing to do: not an error.
fn ignore_not_found<T>(result: kube::Result<T>) -> kube::Result<()> {
    match result {
        Err(error) if is_not_found(&error) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Deletes `name` with background propagation. A vanished object is not an error.
pub async fn delete_object<K>(
    api: &Api<K>,
    name: &str,
    grace_seconds: Option<u32>,
) -> kube::Result<()>
where
    K: Clone + DeserializeOwned + Debug,
{
    let params = DeleteParams {
        grace_period_seconds: grace_seconds,
        ..DeleteParams::background()
    };
    ignore_not_found(api.delete(name, &params).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_patch_clears_fields_that_disappeared() {
        let old = json!({"replicas": 3, "readyReplicas": 3});
        let new = json!({"replicas": 2});
        assert_eq!(
            status_patch(Some(&old), &new),
            json!({"status": {"replicas": 2, "readyReplicas": null}})
        );
        assert_eq!(status_patch(None, &new), json!({"status": {"replicas": 2}}));
    }

    #[test]
    fn a_conditional_patch_carries_the_resource_version_it_was_computed_from() {
        let patch = json!({"status": {"replicas": 2}, "metadata": {"annotations": {"a": "1"}}});
        assert_eq!(
            if_unchanged(patch.clone(), Some("41")),
            json!({"status": {"replicas": 2}, "metadata": {"annotations": {"a": "1"}, "resourceVersion": "41"}})
        );
        assert_eq!(
            if_unchanged(json!({"status": {}}), Some("7")),
            json!({"status": {}, "metadata": {"resourceVersion": "7"}})
        );
        assert_eq!(if_unchanged(patch.clone(), None), patch);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("writing status: {0}")]
    struct WriteStatus(#[source] kube::Error);

    fn api_error(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("refused", reason)
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn a_conflict_is_found_through_the_chain_of_causes_and_already_exists_is_not_one() {
        assert!(caused_by_conflict(&WriteStatus(api_error(409, "Conflict"))));
        assert!(!caused_by_conflict(&WriteStatus(api_error(
            409,
            "AlreadyExists"
        ))));
        assert!(!caused_by_conflict(&WriteStatus(api_error(
            500,
            "InternalError"
        ))));
    }
}
