//! Writing decisions back through the API, the way the real components do: status through merge patches of the
//! status subresource, spec changes through merge patches, each under the real component's field manager.

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
}
