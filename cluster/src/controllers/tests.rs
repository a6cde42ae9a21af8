//! Integration tests: the controllers against the embedded API server, through a real `kube::Client`.
//! Every wait polls a condition under a deadline; nothing sleeps for synchronisation.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

use super::*;
use crate::{Config, EmbeddedCluster};

const DEADLINE: Duration = Duration::from_secs(30);

async fn start_cluster() -> EmbeddedCluster {
    EmbeddedCluster::start(Config {
        pod_ready_delay: Duration::from_millis(200),
        ..Config::default()
    })
    .await
}

async fn namespace(client: &Client, name: &str) {
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name}})).unwrap_or_default();
    let created = Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await;
    assert!(
        created.is_ok() || created.as_ref().is_err_and(write::is_already_exists),
        "{created:?}"
    );
}

/// Polls `probe` until it returns `Some`, failing the test with `what` after the deadline.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn list<K>(api: &Api<K>) -> Vec<K>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

fn mk_deployment(name: &str, replicas: i32, image: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": image}]}}
        }
    }))
    .unwrap_or_default()
}

/// What `kubectl rollout status deployment/x` waits for.
fn rolled_out(deployment: &Deployment) -> bool {
    let Some(status) = deployment.status.as_ref() else {
        return false;
    };
    let n = |v: Option<i32>| v.unwrap_or(0);
    let replicas = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    deployment.metadata.generation <= status.observed_generation
        && n(status.updated_replicas) >= replicas
        && n(status.replicas) <= n(status.updated_replicas)
        && n(status.available_replicas) >= n(status.updated_replicas)
}

async fn wait_rolled_out(api: &Api<Deployment>, name: &str) -> Deployment {
    eventually(&format!("deployment {name} rolled out"), || async {
        api.get(name).await.ok().filter(rolled_out)
    })
    .await
}

fn progressing_reason(deployment: &Deployment) -> Option<String> {
    let conditions = deployment.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .find(|c| c.type_ == "Progressing")?
        .reason
        .clone()
}

/// Watches the namespace's pods and records the largest number of live (not terminating) pods seen at once.
fn track_max_live_pods(client: &Client, ns: &str) -> Arc<Mutex<usize>> {
    let max = Arc::new(Mutex::new(0));
    let seen = max.clone();
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    tokio::spawn(async move {
        let mut live: BTreeMap<String, bool> = BTreeMap::new();
        let mut events = watcher(api, watcher::Config::default()).boxed();
        while let Some(Ok(event)) = events.next().await {
            match event {
                watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                    live.insert(pod.name_any(), pod.metadata.deletion_timestamp.is_none());
                }
                watcher::Event::Delete(pod) => drop(live.remove(&pod.name_any())),
                _ => {}
            }
            let count = live.values().filter(|alive| **alive).count();
            if let Ok(mut max) = seen.lock() {
                *max = (*max).max(count);
            }
        }
    });
    max
}

#[tokio::test]
async fn deployment_creates_one_replicaset_and_ready_pods() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    namespace(&client, "d1").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "d1");
    deployments
        .create(&PostParams::default(), &mk_deployment("web", 3, "nginx:1"))
        .await
        .expect("create deployment");
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
    namespace(&client, "d2").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "d2");
    let created = deployments
        .create(&PostParams::default(), &mk_deployment("web", 3, "nginx:1"))
        .await;
    assert!(created.is_ok(), "{created:?}");
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
    namespace(&client, "d3").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "d3");
    let created = deployments
        .create(&PostParams::default(), &mk_deployment("web", 2, "nginx:1"))
        .await;
    assert!(created.is_ok(), "{created:?}");
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
    namespace(&client, "d4").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "d4");
    let created = deployments
        .create(&PostParams::default(), &mk_deployment("web", 2, "nginx:1"))
        .await;
    assert!(created.is_ok(), "{created:?}");
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
async fn statefulset_creates_in_order_and_updates_in_reverse() {
    let cluster = start_cluster().await;
    let client = cluster.client();
    namespace(&client, "s1").await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "s1");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "s1");
    let order = record_pod_events(&client, "s1");
    let sts: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 3, "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:15"}]}}
        }
    }))
    .unwrap_or_default();
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

#[tokio::test]
async fn disabled_controllers_start_nothing() {
    let cluster = EmbeddedCluster::start(Config {
        run_controllers: false,
        ..Config::default()
    })
    .await;
    assert!(start(cluster.client(), &ControllersConfig::disabled()).is_empty());
    let handle = start(cluster.client(), &ControllersConfig::default());
    assert_eq!(handle.len(), 6);
}

/// Retries a write until the (fault-injecting) server accepts it.
async fn retry<T, F, Fut>(what: &str, mut write: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kube::Result<T>>,
{
    eventually(what, || {
        let attempt = write();
        async move { attempt.await.ok() }
    })
    .await
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
