//! Shared helpers for the controller tests: a cluster, an operator task that can be stopped and restarted,
//! object builders, a pod-template hash history, and polling with deadlines.
//!
//! # Backends
//! - [`mk_cluster`]: always an in-process embedded cluster *without* controllers. Its tests write workload
//!   status themselves (a rollout "completes" when the test says so), which a real kube-controller-manager
//!   would overwrite, and some inject faults only the embedded server has: embedded-only.
//! - [`mk_cluster_with_controllers`]: an embedded cluster with its simulated controllers by default; with
//!   `CONFIGSYNC_REAL_K8S=DIR` (the directory `hack/real-k8s up DIR` wrote) a client of that real control plane
//!   whose default namespace is a fresh one of the test's own (deleted when the [`TestCluster`] drops). Its
//!   kube-controller-manager and simulated kubelet roll Deployments for real.
//!
//! Every helper works in the client's default namespace (`kube::Client::default_namespace`): `default` on an
//! embedded cluster, the test's own on a real one. An operator on a real cluster must be scoped to it with
//! [`TestCluster::scope`], so tests sharing the control plane never act on each other's workloads.
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
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PodTemplateSpec, Secret, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{CustomResourceExt, Resource};
use prometheus_client::registry::Registry;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::time::Instant;

/// The namespace of an embedded cluster's client (the tests built on [`mk_cluster`] use it directly).
pub const NS: &str = "default";
/// Names the directory of a running real control plane (`hack/real-k8s up DIR`).
pub const REAL_K8S_ENV: &str = "CONFIGSYNC_REAL_K8S";
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

/// A cluster whose controllers roll Deployments, and a client: the embedded one with its simulated controllers
/// (pods are Ready after 50ms), or with [`REAL_K8S_ENV`] set a fresh namespace of that real control plane.
pub async fn mk_cluster_with_controllers() -> (TestCluster, kube::Client) {
    if let Some(dir) = std::env::var_os(REAL_K8S_ENV).filter(|dir| !dir.is_empty()) {
        let (real, client) = RealNamespace::create(std::path::Path::new(&dir)).await;
        return (TestCluster::Real(real), client);
    }
    let (cluster, client) = with_client(
        EmbeddedCluster::start(ClusterConfig {
            pod_ready_delay: Duration::from_millis(50),
            ..ClusterConfig::default()
        })
        .await,
    );
    (TestCluster::Embedded(cluster), client)
}

/// What [`mk_cluster_with_controllers`] runs against; keep it for the whole test.
pub enum TestCluster {
    /// An in-process cluster of the test's own; stops when dropped.
    Embedded(EmbeddedCluster),
    /// A namespace of the shared real control plane; deleted when dropped.
    Real(RealNamespace),
}

impl TestCluster {
    /// `config` limited to this test's namespace on a real cluster (unchanged on an embedded one, which is the
    /// test's alone).
    pub fn scope(&self, config: Config) -> Config {
        match self {
            Self::Embedded(_) => config,
            Self::Real(real) => Config {
                namespaces: vec![real.namespace.clone()],
                ..config
            },
        }
    }
}

/// A fresh namespace on the real control plane of [`REAL_K8S_ENV`]; deleted (without waiting) on drop.
pub struct RealNamespace {
    kubeconfig: std::path::PathBuf,
    namespace: String,
}

impl RealNamespace {
    /// Create the namespace, wait for its `default` ServiceAccount (pods are refused until
    /// kube-controller-manager made it), and return a client whose default namespace it is.
    async fn create(dir: &std::path::Path) -> (Self, kube::Client) {
        let kubeconfig = dir.join("kubeconfig");
        let namespace = configsync_cluster::shared_cluster::test_namespace("op");
        let client = real_client(&kubeconfig, &namespace).await;
        let body = json!({"metadata": {"name": namespace}});
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(body).unwrap(),
            )
            .await
            .unwrap();
        let accounts: Api<ServiceAccount> = Api::default_namespaced(client.clone());
        wait_until("the namespace's default ServiceAccount exists", || async {
            matches!(accounts.get_opt("default").await, Ok(Some(_)))
        })
        .await;
        let real = Self {
            kubeconfig,
            namespace,
        };
        (real, client)
    }
}

impl Drop for RealNamespace {
    fn drop(&mut self) {
        // The test's runtime may be single-threaded and is busy dropping this: delete from a runtime of its own.
        let (kubeconfig, namespace) = (self.kubeconfig.clone(), self.namespace.clone());
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let client = real_client(&kubeconfig, &namespace).await;
                let namespaces: Api<Namespace> = Api::all(client);
                namespaces
                    .delete(&namespace, &DeleteParams::background())
                    .await
                    .map(|_| ())
                    .map_err(std::io::Error::other)
            })
        });
        if let Ok(Err(error)) = deleted.join() {
            eprintln!(
                "could not delete test namespace {}: {error}",
                self.namespace
            );
        }
    }
}

/// A client of the real control plane from the admin `kubeconfig`, defaulting to `namespace`.
async fn real_client(kubeconfig: &std::path::Path, namespace: &str) -> kube::Client {
    let file = kube::config::Kubeconfig::read_from(kubeconfig).unwrap_or_else(|error| {
        panic!(
            "{REAL_K8S_ENV}: cannot read {} (run hack/real-k8s up first): {error}",
            kubeconfig.display()
        )
    });
    let options = kube::config::KubeConfigOptions::default();
    let mut config = kube::Config::from_custom_kubeconfig(file, &options)
        .await
        .unwrap();
    config.default_namespace = namespace.to_owned();
    kube::Client::try_from(config).unwrap()
}

/// The namespace the helpers work in: the client's default one.
pub fn ns(client: &kube::Client) -> &str {
    client.default_namespace()
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

/// Create `deployment` in the client's namespace (whatever its own metadata says).
pub async fn create_deployment(client: &kube::Client, deployment: &Deployment) {
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
    let mut deployment = deployment.clone();
    deployment.metadata.namespace = Some(ns(client).to_owned());
    api.create(&PostParams::default(), &deployment)
        .await
        .unwrap();
}

/// Server-side apply `body` as object `name` of kind `K` in the client's namespace (field manager `test`,
/// forced).
async fn apply<K>(client: &kube::Client, name: &str, body: Value)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::default_namespaced(client.clone());
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
        "metadata": {"name": name, "namespace": ns(client)}, "data": data});
    apply::<ConfigMap>(client, name, body).await;
}

pub async fn put_secret(client: &kube::Client, name: &str, string_data: Value) {
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns(client)}, "stringData": string_data}))
    .unwrap();
    api.create(&PostParams::default(), &secret).await.unwrap();
}

pub async fn delete_secret(client: &kube::Client, name: &str) {
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    api.delete(name, &DeleteParams::default()).await.unwrap();
}

pub async fn get_deployment(client: &kube::Client, name: &str) -> Deployment {
    let api: Api<Deployment> = Api::default_namespaced(client.clone());
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
        let api: Api<Deployment> = Api::default_namespaced(client.clone());
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
    let api: Api<Event> = Api::default_namespaced(client.clone());
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

/// Install the ConfigSync CRD and wait until it is served. On a shared real cluster another test may have
/// installed it already: then it is applied over (the same definition, or a stale one brought up to date).
pub async fn install_crd(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = ConfigSync::crd();
    match api.create(&PostParams::default(), &crd).await {
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let params = PatchParams::apply("test").force();
            api.patch(&name, &params, &Patch::Apply(&crd))
                .await
                .unwrap();
        }
        created => {
            created.unwrap();
        }
    }
    let cs: Api<ConfigSync> = Api::default_namespaced(client.clone());
    wait_until("the ConfigSync resource is served", || async {
        cs.list(&Default::default()).await.is_ok()
    })
    .await;
}

pub async fn put_configsync(client: &kube::Client, name: &str, spec: Value) {
    let body = json!({"apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync",
        "metadata": {"name": name, "namespace": ns(client)}, "spec": spec});
    apply::<ConfigSync>(client, name, body).await;
}

pub async fn get_status(client: &kube::Client, name: &str) -> Value {
    let api: Api<ConfigSync> = Api::default_namespaced(client.clone());
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
