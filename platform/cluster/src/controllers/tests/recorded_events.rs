//! The Events the controllers record, read back through the API as `kubectl get events` reads them.

use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::*;

/// (component, reason, message) of the namespace's Events about `kind`/`name`, in creation order.
async fn events_about(
    client: &Client,
    ns: &str,
    kind: &str,
    name: &str,
) -> Vec<(String, String, String)> {
    let mut events = list(&Api::<Event>::namespaced(client.clone(), ns)).await;
    events.retain(|e| {
        e.involved_object.kind.as_deref() == Some(kind)
            && e.involved_object.name.as_deref() == Some(name)
    });
    events.sort_by_key(|e| {
        e.metadata
            .resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
    });
    events
        .into_iter()
        .map(|e| {
            let text = |v: Option<String>| v.unwrap_or_default();
            let component = e.source.and_then(|s| s.component);
            (text(component), text(e.reason), text(e.message))
        })
        .collect()
}

fn pod_names(pods: &[Pod]) -> Vec<String> {
    let mut names: Vec<String> = pods.iter().map(ResourceExt::name_any).collect();
    names.sort();
    names
}

#[tokio::test]
async fn deployment_and_replicaset_controllers_record_scaling_and_pod_events() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = create_deployment(&client, "ev", &mk_deployment("web", 3, "nginx:1")).await;
    wait_rolled_out(&deployments, "web").await;
    let rs = list(&Api::<ReplicaSet>::namespaced(client.clone(), "ev")).await;
    let rs_name = rs.first().map(ResourceExt::name_any).unwrap_or_default();
    let scaled_up = (
        "deployment-controller".to_string(),
        "ScalingReplicaSet".to_string(),
        format!("Scaled up replica set {rs_name} from 0 to 3"),
    );
    assert_eq!(
        events_about(&client, "ev", "Deployment", "web").await,
        vec![scaled_up.clone()]
    );
    let pods = list(&Api::<Pod>::namespaced(client.clone(), "ev")).await;
    let created: Vec<String> = eventually("three SuccessfulCreate events", || async {
        let events = events_about(&client, "ev", "ReplicaSet", &rs_name).await;
        (events.len() == 3).then_some(events)
    })
    .await
    .into_iter()
    .map(|(component, reason, message)| {
        assert_eq!(
            (component.as_str(), reason.as_str()),
            ("replicaset-controller", "SuccessfulCreate")
        );
        message.trim_start_matches("Created pod: ").to_string()
    })
    .collect();
    let mut created = created;
    created.sort();
    assert_eq!(created, pod_names(&pods));

    let scale = json!({"spec": {"replicas": 1}});
    let patched = deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(&scale))
        .await;
    assert!(patched.is_ok(), "{patched:?}");
    let scaled_down = (
        "deployment-controller".to_string(),
        "ScalingReplicaSet".to_string(),
        format!("Scaled down replica set {rs_name} from 3 to 1"),
    );
    eventually("scale-down and two SuccessfulDelete events", || async {
        let about_deployment = events_about(&client, "ev", "Deployment", "web").await;
        let deleted = events_about(&client, "ev", "ReplicaSet", &rs_name)
            .await
            .into_iter()
            .filter(|(_, reason, message)| {
                reason == "SuccessfulDelete" && message.starts_with("Deleted pod: ")
            })
            .count();
        (about_deployment == vec![scaled_up.clone(), scaled_down.clone()] && deleted == 2)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn statefulset_events_name_the_set() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    namespace(&client, "ev-sts").await;
    let sts = mk_statefulset("db", 1, "postgres");
    let created = Api::<StatefulSet>::namespaced(client.clone(), "ev-sts")
        .create(&PostParams::default(), &sts)
        .await;
    assert!(created.is_ok(), "{created:?}");
    let events = eventually("SuccessfulCreate for db-0", || async {
        let events = events_about(&client, "ev-sts", "StatefulSet", "db").await;
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert_eq!(
        events[0],
        (
            "statefulset-controller".to_string(),
            "SuccessfulCreate".to_string(),
            "create Pod db-0 in StatefulSet db successful".to_string()
        )
    );
}
