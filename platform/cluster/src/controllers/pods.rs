//! Shared, pure helpers about pods and ownership: readiness, availability, controller references, and building a
//! pod from a template the way the workload controllers do.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The one simulated node every pod is scheduled to.
pub const NODE_NAME: &str = "configsync-node";
/// The simulated node's address, reported as `status.hostIP`.
pub const HOST_IP: &str = "172.18.0.2";

/// Whether the pod's `Ready` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// When the pod's `Ready` condition last became `True`, if it is `True` now. A `True` condition without a
/// timestamp counts as ready since the beginning of time.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let ready = conditions
        .iter()
        .find(|condition| condition.type_ == "Ready" && condition.status == "True")?;
    Some(
        ready
            .last_transition_time
            .as_ref()
            .map_or(Timestamp::MIN, |time| time.0),
    )
}

/// `podutil.IsPodAvailable`: ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(since) => since
            .checked_add(SignedDuration::from_secs(i64::from(min_ready_seconds)))
            .is_ok_and(|available_at| available_at <= now),
    }
}

/// When a ready pod becomes available, if it is not available yet at `now`.
pub fn available_at(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<Timestamp> {
    let since = ready_since(pod)?;
    let at = since
        .checked_add(SignedDuration::from_secs(i64::from(min_ready_seconds)))
        .ok()?;
    (at > now).then_some(at)
}

/// `controller.IsPodActive`: not terminating and not finished.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod
        .status
        .as_ref()
        .and_then(|status| status.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// Whether the pod is being deleted.
pub fn is_terminating(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

/// The uid of the object's controlling owner, if any.
pub fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|owner| owner.controller == Some(true))
        .map(|owner| owner.uid.as_str())
}

/// Whether `meta` is controlled by the object with `uid`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_uid(meta) == Some(uid)
}

/// An `apps/v1` controller reference, as the workload controllers set it.
pub fn controller_ref(kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        uid: uid.to_string(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The labels of `template` plus `extra`, which win on conflict.
pub fn template_labels(
    template: &PodTemplateSpec,
    extra: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut labels = template
        .metadata
        .as_ref()
        .and_then(|meta| meta.labels.clone())
        .unwrap_or_default();
    for (key, value) in extra {
        labels.insert((*key).to_string(), (*value).to_string());
    }
    labels
}

/// A pod built from `template` the way `controller.GetPodFromTemplate` does: labels, annotations and finalizers
/// from the template, the given name, namespace, owner and extra labels, and the template's spec.
pub fn pod_from_template(
    template: &PodTemplateSpec,
    name: &str,
    namespace: &str,
    owner: OwnerReference,
    extra_labels: &[(&str, &str)],
) -> Pod {
    let template_meta = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(template_labels(template, extra_labels)),
            annotations: template_meta.annotations,
            finalizers: template_meta.finalizers,
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// `t` truncated to whole seconds: `metav1.Time` is serialized with second precision, so every timestamp a
/// controller compares with a stored one must be truncated first.
pub fn whole_seconds(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// The current time in whole seconds.
pub fn now() -> Timestamp {
    whole_seconds(Timestamp::now())
}

/// `creationTimestamp` or the beginning of time, for sorting.
pub fn created(meta: &ObjectMeta) -> Timestamp {
    meta.creation_timestamp
        .as_ref()
        .map_or(Timestamp::MIN, |time| time.0)
}

#[cfg(test)]
#[path = "tests/pods.rs"]
mod tests;
