//! Shared helpers for the controller tests: an embedded cluster, an operator task that can be stopped
//! and restarted, object builders, a pod-template hash history, and polling with deadlines.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use configsync_cluster::{Config as ClusterConfig, EmbeddedCluster};
use configsync_crds::ConfigSync;
use configsync_operator::controller::{self, Config, Metrics};
use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{CustomResourceExt, Resource};
use prometheus_client::registry::Registry;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::time::Instant;

pub const NS: &str = "default";
pub const CONFIG_HASH: &str = "configsync.dev/config-hash";
pub const OBSERVED_HASH: &str = "configsync.dev/observed-hash";
const DEADLINE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(20);

/// An embedded cluster without the simulated controllers (the tests set workload status themselves), and a
/// client of it. The cluster stops when dropped: keep it for the whole test.
pub async fn mk_cluster() -> (EmbeddedCluster, kube::Client) {
    with_client(
        EmbeddedCluster::start(ClusterConfig {
            run_controllers: false,
            ..ClusterConfig::default()
        })
        .await,
    )
}

/// An embedded cluster whose simulated controllers roll Deployments (pods are Ready after 50ms), and a client.
pub async fn mk_cluster_with_controllers() -> (EmbeddedCluster, kube::Client) {
    with_client(
        EmbeddedCluster::start(ClusterConfig {
            pod_ready_delay: Duration::from_millis(50),
            ..ClusterConfig::default()
        })
        .await,
    )
}

fn with_client(cluster: EmbeddedCluster) -> (EmbeddedCluster, kube::Client) {
    let client = cluster.client();
    (cluster, client)
}

/// A running operator; dropping (or [`Operator::stop`]) aborts it and its watches.
pub struct Operator {
    task: tokio::task::JoinHandle<Result<(), controller::Error>>,
    pub registry: Arc<Registry>,
    pub metrics: Metrics,
}

impl Operator {
    /// Start the operator and wait until every watch has listed.
    pub async fn start(client: kube::Client, config: Config) -> Self {
        let mut registry = Registry::default();
        let metrics = Metrics::register(&mut registry);
        let ready = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(controller::run(
            client,
            config,
            metrics.clone(),
            ready.clone(),
        ));
        wait_until("the operator is ready", || {
            let ready = ready.clone();
            async move { ready.load(Ordering::Acquire) }
        })
        .await;
        Self {
            task,
            registry: Arc::new(registry),
            metrics,
        }
    }

    /// Stop it, as a crash or a shutdown would.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Poll `condition` until it holds; panic with `what` after the deadline.
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(POLL).await;
    }
}

pub fn mk_deployment(name: &str, annotations: Value, pod_spec: Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS, "annotations": annotations},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        },
    }))
    .unwrap()
}

/// A pod spec with one container reading all of `configmap` through envFrom.
pub fn env_from(configmap: &str) -> Value {
    json!({"containers": [{"name": "app", "image": "app", "envFrom": [{"configMapRef": {"name": configmap}}]}]})
}

/// A Deployment `name` with `pod_spec` that opts in with `configsync.dev/auto: "true"`.
pub fn mk_auto_deployment(name: &str, pod_spec: Value) -> Deployment {
    mk_deployment(name, json!({"configsync.dev/auto": "true"}), pod_spec)
}

pub async fn create_deployment(client: &kube::Client, deployment: &Deployment) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), NS);
    api.create(&PostParams::default(), deployment)
        .await
        .unwrap();
}

/// Server-side apply `body` as object `name` of kind `K` in [`NS`] (field manager `test`, forced).
async fn apply<K>(client: &kube::Client, name: &str, body: Value)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), NS);
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(body),
    )
    .await
    .unwrap();
}

pub async fn put_configmap(client: &kube::Client, name: &str, data: Value) {
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS}, "data": data});
    apply::<ConfigMap>(client, name, body).await;
}

pub async fn put_secret(client: &kube::Client, name: &str, string_data: Value) {
    let api: Api<Secret> = Api::namespaced(client.clone(), NS);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": NS}, "stringData": string_data}))
    .unwrap();
    api.create(&PostParams::default(), &secret).await.unwrap();
}

pub async fn delete_secret(client: &kube::Client, name: &str) {
    let api: Api<Secret> = Api::namespaced(client.clone(), NS);
    api.delete(name, &DeleteParams::default()).await.unwrap();
}

pub async fn get_deployment(client: &kube::Client, name: &str) -> Deployment {
    let api: Api<Deployment> = Api::namespaced(client.clone(), NS);
    api.get(name).await.unwrap()
}

pub fn observed_hash(deployment: &Deployment) -> Option<String> {
    deployment
        .metadata
        .annotations
        .as_ref()?
        .get(OBSERVED_HASH)
        .cloned()
}

pub fn template_hash(deployment: &Deployment) -> Option<String> {
    pod_template_hash(deployment.spec.as_ref().map(|s| &s.template))
}

/// The config-hash annotation on a pod template, of any workload kind.
pub fn pod_template_hash(template: Option<&PodTemplateSpec>) -> Option<String> {
    template?
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(CONFIG_HASH)
        .cloned()
}

/// Wait until `name` carries an observed-hash different from `previous`; returns the deployment.
pub async fn wait_for_record(
    client: &kube::Client,
    name: &str,
    previous: Option<&str>,
) -> Deployment {
    let what = format!("{name} records a hash other than {previous:?}");
    wait_until(&what, || async {
        let observed = observed_hash(&get_deployment(client, name).await);
        observed.is_some() && observed.as_deref() != previous
    })
    .await;
    get_deployment(client, name).await
}

/// Every distinct pod-template hash each Deployment has had, in order, as seen by a watch.
#[derive(Clone, Default)]
pub struct TemplateHistory {
    seen: Arc<Mutex<BTreeMap<String, Vec<Option<String>>>>>,
    _task: Option<Arc<AbortOnDrop>>,
}

pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl TemplateHistory {
    /// Start recording.
    pub async fn watch(client: &kube::Client) -> Self {
        let seen: Arc<Mutex<BTreeMap<String, Vec<Option<String>>>>> = Arc::default();
        let record = seen.clone();
        let api: Api<Deployment> = Api::namespaced(client.clone(), NS);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            let stream = watcher::watcher(api, watcher::Config::default()).default_backoff();
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                let Ok(event) = event else { continue };
                match event {
                    watcher::Event::Apply(d) | watcher::Event::InitApply(d) => {
                        let name = d.metadata.name.clone().unwrap_or_default();
                        let hash = template_hash(&d);
                        let mut seen = record.lock().unwrap();
                        let history = seen.entry(name).or_default();
                        if history.last() != Some(&hash) {
                            history.push(hash);
                        }
                    }
                    watcher::Event::InitDone => {
                        if let Some(tx) = ready_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    _ => {}
                }
            }
        });
        ready_rx.await.unwrap();
        Self {
            seen,
            _task: Some(Arc::new(AbortOnDrop(task))),
        }
    }

    /// Start recording, then start the operator with `config`: the history sees every rollout it makes.
    pub async fn watch_and_start(client: &kube::Client, config: Config) -> (Self, Operator) {
        let history = Self::watch(client).await;
        let operator = Operator::start(client.clone(), config).await;
        (history, operator)
    }

    /// How many times `name`'s pod-template hash changed to a new value (rollouts).
    pub fn rollouts(&self, name: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.get(name).map_or(0, |h| h.len().saturating_sub(1))
    }

    /// Wait until `name` has rolled `n` times.
    pub async fn wait_for_rollouts(&self, name: &str, n: usize) {
        wait_until(&format!("{name} rolled {n} time(s)"), || async {
            self.rollouts(name) >= n
        })
        .await;
    }
}

/// Events about `name` with `reason`.
pub async fn events_for(client: &kube::Client, name: &str, reason: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(client.clone(), NS);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                && e.reason.as_deref() == Some(reason)
        })
        .collect()
}

/// Wait for an Event about `name` with `reason` and return the first one.
pub async fn wait_for_event(client: &kube::Client, name: &str, reason: &str) -> Event {
    wait_until(&format!("an Event {reason} on {name}"), || async {
        !events_for(client, name, reason).await.is_empty()
    })
    .await;
    events_for(client, name, reason).await.remove(0)
}

/// Create a sentinel Deployment and wait for its adoption: everything the operator queued before it
/// has been processed (the loop handles inputs in order).
pub async fn sync_point(client: &kube::Client, name: &str) {
    put_configmap(client, &format!("{name}-cm"), json!({"k": "v"})).await;
    create_deployment(
        client,
        &mk_auto_deployment(name, env_from(&format!("{name}-cm"))),
    )
    .await;
    wait_for_record(client, name, None).await;
}

// === ConfigSync ===

pub async fn install_crd(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.create(&PostParams::default(), &ConfigSync::crd())
        .await
        .unwrap();
    let cs: Api<ConfigSync> = Api::namespaced(client.clone(), NS);
    wait_until("the ConfigSync resource is served", || async {
        cs.list(&Default::default()).await.is_ok()
    })
    .await;
}

pub async fn put_configsync(client: &kube::Client, name: &str, spec: Value) {
    let body = json!({"apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync",
        "metadata": {"name": name, "namespace": NS}, "spec": spec});
    apply::<ConfigSync>(client, name, body).await;
}

pub async fn get_status(client: &kube::Client, name: &str) -> Value {
    let api: Api<ConfigSync> = Api::namespaced(client.clone(), NS);
    let cs = api.get(name).await.unwrap();
    serde_json::to_value(cs.status).unwrap()
}

pub fn condition(status: &Value, type_: &str) -> (String, String) {
    let found = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_);
    match found {
        Some(c) => (
            c["status"].as_str().unwrap_or_default().to_owned(),
            c["reason"].as_str().unwrap_or_default().to_owned(),
        ),
        None => (String::new(), String::new()),
    }
}

/// Wait until `name`'s status satisfies `check`; returns it.
pub async fn wait_status(
    client: &kube::Client,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    wait_until(what, || async { check(&get_status(client, name).await) }).await;
    get_status(client, name).await
}

pub fn ready_with(status: &Value, ready: &str, reason: &str) -> bool {
    condition(status, "Ready") == (ready.to_owned(), reason.to_owned())
}
