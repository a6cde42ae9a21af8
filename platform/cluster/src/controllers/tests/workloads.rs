//! StatefulSets and DaemonSets against the embedded server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

use super::*;

#[tokio::test]
async fn statefulset_creates_in_order_and_updates_in_reverse() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    namespace(&client, "s1").await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "s1");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "s1");
    let order = record_pod_events(&client, "s1");
    let sts = mk_statefulset("db", 3, "postgres:15");
    let created = sets.create(&PostParams::default(), &sts).await;
    assert!(created.is_ok(), "{created:?}");
    let done = |s: &StatefulSet| {
        let status = s.status.clone().unwrap_or_default();
        status.observed_generation >= s.metadata.generation
            && status.ready_replicas == Some(3)
            && status.updated_replicas == Some(3)
            && status.current_revision == status.update_revision
    };
    let first = eventually("statefulset ready", || async {
        sets.get("db").await.ok().filter(done)
    })
    .await;
    let names: Vec<String> = list(&pods).await.iter().map(|p| p.name_any()).collect();
    assert_eq!(names, vec!["db-0", "db-1", "db-2"]);
    let created_order = order.lock().map(|o| o.created.clone()).unwrap_or_default();
    assert_eq!(created_order, vec!["db-0", "db-1", "db-2"]);
    let violated = order.lock().map(|o| o.created_while_lower_unready);
    assert_eq!(
        violated.ok(),
        Some(false),
        "a pod was created while a lower ordinal was not ready"
    );

    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}});
    let patched = sets
        .patch("db", &PatchParams::default(), &Patch::Strategic(&patch))
        .await;
    assert!(patched.is_ok(), "{patched:?}");
    let updated = eventually("statefulset updated", || async {
        sets.get("db").await.ok().filter(|s| {
            done(s)
                && s.status.as_ref().and_then(|st| st.update_revision.clone())
                    != first
                        .status
                        .as_ref()
                        .and_then(|st| st.update_revision.clone())
        })
    })
    .await;
    let revision = updated
        .status
        .and_then(|s| s.update_revision)
        .unwrap_or_default();
    for pod in list(&pods).await {
        assert_eq!(
            pod.labels().get(revision::CONTROLLER_REVISION_HASH),
            Some(&revision)
        );
    }
    let deleted = order.lock().map(|o| o.deleted.clone()).unwrap_or_default();
    assert_eq!(deleted, vec!["db-2", "db-1", "db-0"]);
}

#[derive(Default)]
struct PodOrder {
    created: Vec<String>,
    deleted: Vec<String>,
    created_while_lower_unready: bool,
}

/// Records pod creation and deletion order, and whether a StatefulSet pod appeared while a lower one was unready.
fn record_pod_events(client: &Client, ns: &str) -> Arc<Mutex<PodOrder>> {
    let order = Arc::new(Mutex::new(PodOrder::default()));
    let record = order.clone();
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    tokio::spawn(async move {
        let mut state: BTreeMap<String, Pod> = BTreeMap::new();
        let mut events = watcher(api, watcher::Config::default()).boxed();
        while let Some(Ok(event)) = events.next().await {
            let Ok(mut order) = record.lock() else { return };
            match event {
                watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                    let name = pod.name_any();
                    if !state.contains_key(&name) {
                        let ordinal = statefulset::ordinal("db", &name).unwrap_or(0);
                        let lower_unready = (0..ordinal)
                            .any(|n| !state.get(&format!("db-{n}")).is_some_and(pods::is_ready));
                        order.created_while_lower_unready |= lower_unready;
                        order.created.push(name.clone());
                    }
                    if pod.metadata.deletion_timestamp.is_some() && !order.deleted.contains(&name) {
                        order.deleted.push(name.clone());
                    }
                    state.insert(name, pod);
                }
                watcher::Event::Delete(pod) => {
                    let name = pod.name_any();
                    if !order.deleted.contains(&name) {
                        order.deleted.push(name.clone());
                    }
                    state.remove(&name);
                }
                _ => {}
            }
        }
    });
    order
}

#[tokio::test]
async fn daemonset_runs_one_pod_and_replaces_it_on_update() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    namespace(&client, "ds1").await;
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), "ds1");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "ds1");
    let ds: DaemonSet = serde_json::from_value(json!({
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}
        }
    }))
    .unwrap_or_default();
    let created = sets.create(&PostParams::default(), &ds).await;
    assert!(created.is_ok(), "{created:?}");
    let done = |d: &DaemonSet| {
        let status = d.status.clone().unwrap_or_default();
        d.metadata.generation <= status.observed_generation
            && status.desired_number_scheduled == 1
            && status.updated_number_scheduled == Some(1)
            && status.number_available == Some(1)
    };
    eventually("daemonset ready", || async {
        sets.get("agent").await.ok().filter(done)
    })
    .await;
    let first = list(&pods).await;
    assert_eq!(first.len(), 1);
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "agent:2"}]}}}});
    let patched = sets
        .patch("agent", &PatchParams::default(), &Patch::Strategic(&patch))
        .await;
    assert!(patched.is_ok(), "{patched:?}");
    eventually("daemonset updated", || async {
        let d = sets.get("agent").await.ok().filter(done)?;
        (d.status?.observed_generation == d.metadata.generation).then_some(())
    })
    .await;
    let now = eventually("one replacement pod", || async {
        let current = list(&pods).await;
        (current.len() == 1).then_some(current)
    })
    .await;
    assert_ne!(now[0].name_any(), first[0].name_any());
    let image = now[0]
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone());
    assert_eq!(image.as_deref(), Some("agent:2"));
    assert!(pods::is_ready(&now[0]));
}
