//! Events the simulated controllers record, worded and attributed exactly as kube-controller-manager's are, so
//! `kubectl get events` and `kubectl describe` read like a real cluster's.
//!
//! kube-controller-manager records `core/v1` Events through client-go's legacy recorder: one Event per
//! occurrence named `<object>.<unix nanoseconds in hex>`, `count: 1`, `firstTimestamp = lastTimestamp`,
//! `source.component` and `reportingComponent` set to the controller's name (`deployment-controller`, ...),
//! `reportingInstance` empty. Recording is best effort: a failed write is logged and never fails a sync.
//!
//! | controller | reason | message |
//! | --- | --- | --- |
//! | deployment | `ScalingReplicaSet` | `Scaled up replica set web-5d9c from 0 to 3` / `Scaled down ...` |
//! | replicaset, daemonset | `SuccessfulCreate` / `SuccessfulDelete` | `Created pod: web-5d9c-x2bqz` / `Deleted pod: ...` |
//! | statefulset | `SuccessfulCreate` / `SuccessfulDelete` | `create Pod web-0 in StatefulSet web successful` |
//!
//! Approximation: client-go's aggregation of repeated Events (`count` > 1, `series`) is not simulated.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, PostParams};
use kube::{Client, Resource};

/// `type: Normal`.
const NORMAL: &str = "Normal";

/// The component name kube-controller-manager's controller for `kind` records Events under.
pub fn component(kind: &str) -> &'static str {
    match kind {
        "Deployment" => "deployment-controller",
        "ReplicaSet" => "replicaset-controller",
        "StatefulSet" => "statefulset-controller",
        "DaemonSet" => "daemonset-controller",
        _ => "kube-controller-manager",
    }
}

/// The deployment controller's message for scaling `rs` from `from` to `to` replicas.
pub fn scaling_message(rs: &str, from: i32, to: i32) -> String {
    let direction = if from < to { "up" } else { "down" };
    format!("Scaled {direction} replica set {rs} from {from} to {to}")
}

/// The message of a pod created (`created`) or deleted by the controller of `owner_kind` named `owner`.
pub fn pod_message(owner_kind: &str, owner: &str, pod: &str, created: bool) -> String {
    match (owner_kind, created) {
        ("StatefulSet", true) => format!("create Pod {pod} in StatefulSet {owner} successful"),
        ("StatefulSet", false) => format!("delete Pod {pod} in StatefulSet {owner} successful"),
        (_, true) => format!("Created pod: {pod}"),
        (_, false) => format!("Deleted pod: {pod}"),
    }
}

/// A `Normal` Event about `regarding`, as client-go's recorder for `component` makes it at `now`.
pub fn build_event(
    component: &str,
    regarding: &ObjectReference,
    reason: &str,
    message: String,
    now: Timestamp,
) -> Event {
    let name = regarding.name.as_deref().unwrap_or_default();
    let nanos = u128::try_from(now.as_nanosecond()).unwrap_or_default();
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{nanos:x}")),
            namespace: regarding.namespace.clone(),
            ..ObjectMeta::default()
        },
        involved_object: regarding.clone(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        type_: Some(NORMAL.to_owned()),
        source: Some(EventSource {
            component: Some(component.to_owned()),
            host: None,
        }),
        reporting_component: Some(component.to_owned()),
        reporting_instance: Some(String::new()),
        ..Event::default()
    }
}

/// Records the Events of one controller about one object.
pub struct Recorder {
    api: Api<Event>,
    kind: String,
    regarding: ObjectReference,
}

impl Recorder {
    /// A recorder for Events about `object`, attributed to the controller of its kind.
    pub fn new<K: Resource<DynamicType = ()>>(client: &Client, object: &K) -> Self {
        let regarding = object.object_ref(&());
        let namespace = regarding.namespace.clone().unwrap_or_default();
        Self {
            api: Api::namespaced(client.clone(), &namespace),
            kind: K::kind(&()).into_owned(),
            regarding,
        }
    }

    /// Records a `Normal` Event with `reason` and `message`.
    pub async fn normal(&self, reason: &str, message: String) {
        let event = build_event(
            component(&self.kind),
            &self.regarding,
            reason,
            message,
            Timestamp::now(),
        );
        if let Err(error) = self.api.create(&PostParams::default(), &event).await {
            tracing::debug!(%error, %reason, "recording an event failed");
        }
    }

    /// `SuccessfulCreate` for the pod `pod`.
    pub async fn pod_created(&self, pod: &str) {
        let message = pod_message(&self.kind, self.owner_name(), pod, true);
        self.normal("SuccessfulCreate", message).await;
    }

    /// `SuccessfulDelete` for the pod `pod`.
    pub async fn pod_deleted(&self, pod: &str) {
        let message = pod_message(&self.kind, self.owner_name(), pod, false);
        self.normal("SuccessfulDelete", message).await;
    }

    /// `ScalingReplicaSet` for scaling `rs` from `from` to `to` replicas.
    pub async fn scaled(&self, rs: &str, from: i32, to: i32) {
        if from != to {
            self.normal("ScalingReplicaSet", scaling_message(rs, from, to))
                .await;
        }
    }

    fn owner_name(&self) -> &str {
        self.regarding.name.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "tests/events.rs"]
mod tests;
