//! Integration tests: the controllers against the embedded API server, through a real `kube::Client`.
//! Every wait polls a condition under a deadline; nothing sleeps for synchronisation.
//! Deployment rollouts are in `tests/rollouts.rs`, StatefulSets and DaemonSets in `tests/workloads.rs`.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use super::*;
use crate::{Config, EmbeddedCluster};

mod propagation;
mod recorded_events;
mod rollouts;
mod status_writes;
mod workloads;

pub(super) const DEADLINE: Duration = Duration::from_secs(30);

pub(super) async fn start_cluster() -> EmbeddedCluster {
    EmbeddedCluster::start(Config {
        pod_ready_delay: Duration::from_millis(200),
        ..Config::default()
    })
    .await
}

pub(super) async fn namespace(client: &Client, name: &str) {
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

/// Creates `deployment` in the namespace `ns` (created if missing) and returns the namespace's Deployments.
pub(super) async fn create_deployment(
    client: &Client,
    ns: &str,
    deployment: &Deployment,
) -> Api<Deployment> {
    namespace(client, ns).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let created = deployments.create(&PostParams::default(), deployment).await;
    assert!(created.is_ok(), "{created:?}");
    deployments
}

/// Polls `probe` until it returns `Some`, failing the test with `what` after the deadline.
pub(super) async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
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

pub(super) async fn list<K>(api: &Api<K>) -> Vec<K>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

pub(super) fn mk_deployment(name: &str, replicas: i32, image: &str) -> Deployment {
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

/// A StatefulSet `name` of `replicas` pods running `image`, with a governing service of the same name.
pub(super) fn mk_statefulset(name: &str, replicas: i32, image: &str) -> StatefulSet {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": image}]}}
        }
    }))
    .unwrap_or_default()
}

/// What `kubectl rollout status deployment/x` waits for.
pub(super) fn rolled_out(deployment: &Deployment) -> bool {
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

pub(super) async fn wait_rolled_out(api: &Api<Deployment>, name: &str) -> Deployment {
    eventually(&format!("deployment {name} rolled out"), || async {
        api.get(name).await.ok().filter(rolled_out)
    })
    .await
}

pub(super) fn progressing_reason(deployment: &Deployment) -> Option<String> {
    let conditions = deployment.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .find(|c| c.type_ == "Progressing")?
        .reason
        .clone()
}

/// Retries a write until the (fault-injecting) server accepts it.
pub(super) async fn retry<T, F, Fut>(what: &str, mut write: F) -> T
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
async fn disabled_controllers_start_nothing() {
    let cluster = EmbeddedCluster::start(Config {
        run_controllers: false,
        ..Config::default()
    })
    .await;
    assert!(start(cluster.client(), &ControllersConfig::disabled()).is_empty());
    let handle = start(cluster.client(), &ControllersConfig::default());
    assert_eq!(
        handle.len(),
        7,
        "workloads, kubelet, gc and the root CA publisher"
    );
}
