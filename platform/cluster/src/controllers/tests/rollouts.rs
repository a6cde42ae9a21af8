//! Deployment rollouts against the embedded server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

use super::*;

/// Watches the namespace's pods and calls `observe` with the live (not terminating) ones after every event.
fn watch_live_pods<F>(client: &Client, ns: &str, mut observe: F)
where
    F: FnMut(&BTreeMap<String, Pod>) + Send + 'static,
{
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    tokio::spawn(async move {
        let mut live: BTreeMap<String, Pod> = BTreeMap::new();
        let mut events = watcher(api, watcher::Config::default()).boxed();
        while let Some(Ok(event)) = events.next().await {
            match event {
                watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                    if pod.metadata.deletion_timestamp.is_none() {
                        live.insert(pod.name_any(), pod);
                    } else {
                        live.remove(&pod.name_any());
                    }
                }
                watcher::Event::Delete(pod) => drop(live.remove(&pod.name_any())),
                _ => {}
            }
            observe(&live);
        }
    });
}

/// Records the largest number of live pods seen at once in the namespace.
fn track_max_live_pods(client: &Client, ns: &str) -> Arc<Mutex<usize>> {
    let max = Arc::new(Mutex::new(0));
    let seen = max.clone();
    watch_live_pods(client, ns, move |live| {
        if let Ok(mut max) = seen.lock() {
            *max = (*max).max(live.len());
        }
    });
    max
}

#[tokio::test]
async fn deployment_creates_one_replicaset_and_ready_pods() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = create_deployment(&client, "d1", &mk_deployment("web", 3, "nginx:1")).await;
    let deployment = wait_rolled_out(&deployments, "web").await;
    let status = deployment.status.clone().unwrap_or_default();
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(3), Some(3), Some(3))
    );
    assert_eq!(
        progressing_reason(&deployment).as_deref(),
        Some("NewReplicaSetAvailable")
    );
    assert_eq!(
        deployment
            .annotations()
            .get(deployment::REVISION)
            .map(String::as_str),
        Some("1")
    );

    let replicasets = list(&Api::<ReplicaSet>::namespaced(client.clone(), "d1")).await;
    assert_eq!(replicasets.len(), 1);
    let rs = &replicasets[0];
    let hash = rs
        .labels()
        .get(deployment::POD_TEMPLATE_HASH)
        .cloned()
        .unwrap_or_default();
    assert_eq!(rs.name_any(), format!("web-{hash}"));
    assert!(pods::is_controlled_by(
        &rs.metadata,
        deployment.metadata.uid.as_deref().unwrap_or("?")
    ));
    let pods = list(&Api::<Pod>::namespaced(client.clone(), "d1")).await;
    assert_eq!(pods.len(), 3);
    for pod in &pods {
        assert!(pods::is_ready(pod), "{} not ready", pod.name_any());
        assert!(pod.name_any().starts_with(&format!("{}-", rs.name_any())));
        assert_eq!(pod.labels().get(deployment::POD_TEMPLATE_HASH), Some(&hash));
        assert_eq!(
            pod.spec.as_ref().and_then(|s| s.node_name.as_deref()),
            Some(pods::NODE_NAME)
        );
        let ip = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .unwrap_or_default();
        assert!(ip.starts_with("10.244.0."), "{ip}");
    }
}

#[tokio::test]
async fn template_change_rolls_within_surge_and_deleting_collects_everything() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = create_deployment(&client, "d2", &mk_deployment("web", 3, "nginx:1")).await;
    wait_rolled_out(&deployments, "web").await;
    let max_live = track_max_live_pods(&client, "d2");

    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}});
    let patched = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
        .await;
    assert!(patched.is_ok(), "{patched:?}");
    let deployment = eventually("new template rolled out", || async {
        deployments.get("web").await.ok().filter(|d| {
            rolled_out(d)
                && d.annotations()
                    .get(deployment::REVISION)
                    .map(String::as_str)
                    == Some("2")
        })
    })
    .await;
    assert_eq!(
        progressing_reason(&deployment).as_deref(),
        Some("NewReplicaSetAvailable")
    );
    let replicasets = list(&Api::<ReplicaSet>::namespaced(client.clone(), "d2")).await;
    let sizes: BTreeMap<String, i32> = replicasets
        .iter()
        .map(|rs| {
            (
                rs.annotations()
                    .get(deployment::REVISION)
                    .cloned()
                    .unwrap_or_default(),
                rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        sizes,
        BTreeMap::from([("1".to_string(), 0), ("2".to_string(), 3)])
    );
    let max = max_live.lock().map(|m| *m).unwrap_or(usize::MAX);
    assert!(
        max <= 4,
        "saw {max} live pods, more than replicas + maxSurge (3 + 1)"
    );

    let deleted = deployments.delete("web", &DeleteParams::background()).await;
    assert!(deleted.is_ok(), "{deleted:?}");
    eventually("replicasets and pods collected", || async {
        let rs = list(&Api::<ReplicaSet>::namespaced(client.clone(), "d2")).await;
        let pods = list(&Api::<Pod>::namespaced(client.clone(), "d2")).await;
        (rs.is_empty() && pods.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn rollout_restart_makes_a_new_replicaset() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = create_deployment(&client, "d3", &mk_deployment("web", 2, "nginx:1")).await;
    wait_rolled_out(&deployments, "web").await;
    let restart = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}});
    let patched = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(&restart))
        .await;
    assert!(patched.is_ok(), "{patched:?}");
    eventually("restart rolled out", || async {
        let d = deployments.get("web").await.ok()?;
        (rolled_out(&d)
            && d.annotations()
                .get(deployment::REVISION)
                .map(String::as_str)
                == Some("2"))
        .then_some(())
    })
    .await;
    let pods = list(&Api::<Pod>::namespaced(client.clone(), "d3")).await;
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| {
        p.annotations()
            .contains_key("kubectl.kubernetes.io/restartedAt")
    }));
}

#[tokio::test]
async fn crash_annotation_stalls_the_rollout() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = create_deployment(&client, "d4", &mk_deployment("web", 2, "nginx:1")).await;
    wait_rolled_out(&deployments, "web").await;
    let bad = json!({"spec": {"template": {"metadata": {"annotations": {kubelet::CRASH_ANNOTATION: "true"}}}}});
    let patched = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(&bad))
        .await;
    assert!(patched.is_ok(), "{patched:?}");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "d4");
    eventually("a crash-looping pod restarted three times", || async {
        let crashing = list(&pods).await.into_iter().find(kubelet::wants_crash)?;
        let container = crashing.status?.container_statuses?.into_iter().next()?;
        let waiting = container.state?.waiting?.reason;
        (waiting.as_deref() == Some("CrashLoopBackOff") && container.restart_count >= 3)
            .then_some(())
    })
    .await;
    let deployment = deployments.get("web").await.expect("get deployment");
    assert!(!rolled_out(&deployment));
    let status = deployment.status.unwrap_or_default();
    assert_eq!(
        status.updated_replicas,
        Some(1),
        "one surge pod, never ready"
    );
    assert_eq!(
        status.available_replicas,
        Some(2),
        "the old pods keep serving"
    );
    let ready_old = list(&pods)
        .await
        .into_iter()
        .filter(|p| !kubelet::wants_crash(p) && pods::is_ready(p))
        .count();
    assert_eq!(ready_old, 2);
}

#[tokio::test]
async fn rollouts_survive_injected_faults_and_closed_watches() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    namespace(&client, "f1").await;
    cluster.faults().set(crate::FaultSettings {
        error_500_share: 0.1,
        error_429_share: 0.02,
        conflict_409_share: 0.05,
        retry_after_seconds: 0,
        close_watches_every_seconds: Some(2),
        ..crate::FaultSettings::default()
    });
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "f1");
    let deployment = mk_deployment("web", 3, "nginx:1");
    let create = PostParams::default();
    retry("create deployment", || {
        deployments.create(&create, &deployment)
    })
    .await;
    wait_rolled_out(&deployments, "web").await;
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}});
    let (params, patch) = (PatchParams::default(), Patch::Strategic(&patch));
    retry("patch deployment", || {
        deployments.patch("web", &params, &patch)
    })
    .await;
    eventually("new template rolled out despite faults", || async {
        let d = deployments.get("web").await.ok()?;
        (rolled_out(&d)
            && d.annotations()
                .get(deployment::REVISION)
                .map(String::as_str)
                == Some("2"))
        .then_some(())
    })
    .await;
    cluster.faults().set(crate::FaultSettings::default());
    let pods = list(&Api::<Pod>::namespaced(client.clone(), "f1")).await;
    assert_eq!(pods.iter().filter(|p| pods::is_ready(p)).count(), 3);
}

#[tokio::test]
async fn paused_deployment_waits_for_resume() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = create_deployment(&client, "d5", &mk_deployment("web", 2, "nginx:1")).await;
    wait_rolled_out(&deployments, "web").await;
    let pause = json!({"spec": {"paused": true, "template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}});
    let patched = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(&pause))
        .await
        .expect("pause and change the template");
    let generation = patched.metadata.generation;
    eventually("paused template change observed", || async {
        let d = deployments.get("web").await.ok()?;
        let observed = d.status.as_ref()?.observed_generation == generation;
        (observed && progressing_reason(&d).as_deref() == Some("DeploymentPaused")).then_some(())
    })
    .await;
    let replicasets = list(&Api::<ReplicaSet>::namespaced(client.clone(), "d5")).await;
    assert_eq!(replicasets.len(), 1, "no new ReplicaSet while paused");

    let resume = json!({"spec": {"paused": false}});
    let resumed = deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(&resume))
        .await;
    assert!(resumed.is_ok(), "{resumed:?}");
    eventually("resumed rollout finished", || async {
        let d = deployments.get("web").await.ok()?;
        let revision = d.annotations().get(deployment::REVISION).cloned();
        (rolled_out(&d) && revision.as_deref() == Some("2")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn recreate_stops_old_pods_before_starting_new_ones() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    namespace(&client, "d6").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "d6");
    let mut deployment = mk_deployment("web", 2, "nginx:1");
    if let Some(spec) = deployment.spec.as_mut() {
        spec.strategy = Some(k8s_openapi::api::apps::v1::DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
    }
    let created = deployments
        .create(&PostParams::default(), &deployment)
        .await;
    assert!(created.is_ok(), "{created:?}");
    wait_rolled_out(&deployments, "web").await;
    let mixed = track_mixed_templates(&client, "d6");
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}});
    let patched = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
        .await;
    assert!(patched.is_ok(), "{patched:?}");
    eventually("recreated", || async {
        let d = deployments.get("web").await.ok()?;
        let revision = d.annotations().get(deployment::REVISION).cloned();
        (rolled_out(&d) && revision.as_deref() == Some("2")).then_some(())
    })
    .await;
    let mixed = mixed.lock().map(|m| *m).unwrap_or(true);
    assert!(!mixed, "old and new pods were alive at the same time");
}

/// Records whether live pods of two templates ever coexisted in the namespace.
fn track_mixed_templates(client: &Client, ns: &str) -> Arc<Mutex<bool>> {
    let mixed = Arc::new(Mutex::new(false));
    let seen = mixed.clone();
    watch_live_pods(client, ns, move |live| {
        let templates: std::collections::BTreeSet<Option<&String>> = live
            .values()
            .map(|pod| pod.labels().get(deployment::POD_TEMPLATE_HASH))
            .collect();
        if let Ok(mut mixed) = seen.lock() {
            *mixed |= templates.len() > 1;
        }
    });
    mixed
}

#[tokio::test]
async fn rolling_back_reuses_the_old_replicaset_as_the_newest_revision() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    let deployments = create_deployment(&client, "d7", &mk_deployment("web", 2, "nginx:1")).await;
    let at_revision = |wanted: &'static str| {
        let deployments = deployments.clone();
        async move {
            eventually(&format!("revision {wanted} rolled out"), || async {
                let d = deployments.get("web").await.ok()?;
                let revision = d.annotations().get(deployment::REVISION).cloned();
                (rolled_out(&d) && revision.as_deref() == Some(wanted)).then_some(d)
            })
            .await
        }
    };
    at_revision("1").await;
    for (image, revision) in [("nginx:2", "2"), ("nginx:1", "3")] {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}});
        let patched = deployments
            .patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
            .await;
        assert!(patched.is_ok(), "{patched:?}");
        at_revision(revision).await;
    }
    let replicasets = list(&Api::<ReplicaSet>::namespaced(client.clone(), "d7")).await;
    assert_eq!(replicasets.len(), 2, "the nginx:1 ReplicaSet is reused");
    let serving: Vec<String> = replicasets
        .iter()
        .filter(|rs| rs.spec.as_ref().and_then(|s| s.replicas) == Some(2))
        .filter_map(|rs| rs.annotations().get(deployment::REVISION).cloned())
        .collect();
    assert_eq!(serving, vec!["3".to_string()]);
}
