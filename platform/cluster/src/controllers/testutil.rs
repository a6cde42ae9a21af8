//! Builders for unit tests (`mk_*`), shared by every controller's tests.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

use super::pods::controller_ref;

/// A pending pod controlled by the owner with `owner_uid`.
pub fn mk_pod(name: &str, owner_uid: &str) -> Pod {
    let mut pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
    }))
    .unwrap_or_default();
    pod.metadata.owner_references = Some(vec![controller_ref("ReplicaSet", "owner", owner_uid)]);
    pod
}

/// A running pod whose `Ready` condition turned true at `since`.
pub fn ready_pod(name: &str, owner_uid: &str, since: Timestamp) -> Pod {
    let mut pod = mk_pod(name, owner_uid);
    pod.status = Some(PodStatus {
        phase: Some("Running".into()),
        conditions: Some(vec![PodCondition {
            type_: "Ready".into(),
            status: "True".into(),
            last_transition_time: Some(Time(since)),
            ..PodCondition::default()
        }]),
        ..PodStatus::default()
    });
    pod
}

/// A Deployment `web` in `ns` with `replicas`, generation 1 and an nginx template.
pub fn mk_deployment(replicas: i32, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "uid-web", "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    }))
    .unwrap_or_default()
}

/// A ReplicaSet with the given spec and status counts, created at `created_second`.
pub fn mk_rs(
    name: &str,
    replicas: i32,
    ready: i32,
    available: i32,
    created_second: i64,
) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {
            "name": name, "namespace": "ns", "uid": format!("uid-{name}"),
            "creationTimestamp": Timestamp::from_second(created_second).unwrap_or(Timestamp::UNIX_EPOCH).to_string(),
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx"}]}
            }
        },
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": available}
    }))
    .unwrap_or_default()
}
