//! The operator's I/O shell: watches, the controller loop, server-side apply, Events, metrics, health and
//! leader election around the pure modules.
//!
//! # Theory of operation
//! ```text
//!  sources::spawn   (ConfigMap, Secret watch tasks: digests only) ─┐
//!  workloads::spawn (Deployment, StatefulSet, DaemonSet tasks)     ─┤ mpsc<Input>
//!  configsync::spawn (ConfigSync watch)                            ─┤
//!                                                                  ▼
//!  reconcile::Controller (one task, owns SourceCache + RefIndex + Debouncer + RolloutBudget
//!                         + configsync::ConfigSyncs: who drives which workload)
//!     source event  → SourceUpdate::affected(index) → debounce → reconcile exactly those workloads
//!                     (a workload a ConfigSync drives → that ConfigSync's pass instead)
//!     workload event→ index.apply_workload           → reconcile that workload (adoption, policy change)
//!     ConfigSync    → settle claims of its namespace → configsync pass (build from caches → execute)
//!     reconcile     = dereference (cache, observation) → validate (policy) → build (hash, decide, body)
//!                     → apply (apply::apply, SSA as `configsync`) + events::Events::publish
//! ```
//! Nothing is reconciled before every watch has listed once; then every followed workload is reconciled
//! exactly once. Decisions compare the live content with the `configsync.dev/observed-hash` record, so a
//! restart (or a new leader) rolls what changed while nobody watched, once, and nothing else. After that
//! only watch events drive work: no relists, no periodic resync.
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::annotations::Debounce;
use crate::workload::WorkloadRef;

pub mod apply;
pub mod configsync;
pub mod events;
pub mod health;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod sources;
pub mod workloads;

pub use metrics::Metrics;

/// What the operator does, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Follow every workload unless it says `configsync.dev/auto: "false"`.
    pub auto_all: bool,
    /// The quiet period of workloads that set none (`None`: act at once).
    pub debounce: Option<Debounce>,
    /// Rollouts in progress at once, fleet-wide (`None`: unlimited).
    pub max_concurrent_rollouts: Option<std::num::NonZeroUsize>,
    /// Rollouts started per second, fleet-wide (`None`: unlimited).
    pub rollouts_per_second: Option<f64>,
    /// Namespaces to watch (empty: all).
    pub namespaces: Vec<String>,
    /// Label selector for workloads.
    pub workload_selector: Option<String>,
    /// Label selector for ConfigMaps and Secrets.
    pub source_selector: Option<String>,
    /// The Event `reportingInstance` (the pod name).
    pub instance: Option<String>,
    /// Leave `ConfigSync` resources alone (`--no-configsync`): only annotations drive rollouts.
    pub no_configsync: bool,
}

/// Failures that stop the controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rate limit is not a positive number.
    #[error("invalid --rollouts-per-second")]
    BuildBudget(#[source] crate::plan::budget::Error),
    /// Every watch task ended (the input channel closed).
    #[error("the watch tasks stopped")]
    ReceiveInput,
}

/// One (group, resource, verbs) the operator uses, for the RBAC test and `deploy/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Plural resource.
    pub resource: &'static str,
    /// Verbs used.
    pub verbs: &'static [&'static str],
}

impl Access {
    /// An entry.
    pub const fn new(
        group: &'static str,
        resource: &'static str,
        verbs: &'static [&'static str],
    ) -> Self {
        Self {
            group,
            resource,
            verbs,
        }
    }
}

/// Every API access the operator makes, gathered from the modules that make them.
pub const REQUIRED_ACCESS: &[&[Access]] = &[
    sources::ACCESS,
    workloads::ACCESS,
    events::ACCESS,
    leader::ACCESS,
    configsync::ACCESS,
];

/// The environment `deploy/operator.yaml` gives the operator container, and `bench scale` gives the operator
/// it measures: glibc malloc settings under which freed memory goes back to the system.
///
/// A fixed mmap threshold turns off glibc's dynamic one, which after the first large free (a list page of
/// ~6 MB) serves every later buffer up to that size from a heap and keeps the pages; two arenas instead of
/// one per thread that contends (up to 8 per core). Without them RSS after the initial sync of 20,001
/// sources was 83 MiB, with them 58–61 MiB (`BENCHMARKS.md`, Memory). Other C libraries ignore it.
pub const MALLOC_ENV: &[(&str, &str)] = &[(
    "GLIBC_TUNABLES",
    "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072",
)];

/// One running watch, by resource and namespace (for readiness and logs).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchId(String);

impl WatchId {
    /// `plural` in `namespace`, or cluster-wide.
    pub fn new(plural: &str, namespace: Option<&str>) -> Self {
        Self(format!("{plural}@{}", namespace.unwrap_or("*")))
    }
}

impl std::fmt::Display for WatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the watch tasks send to the controller loop.
#[derive(Debug)]
pub enum Input {
    /// A ConfigMap or Secret changed (digests only).
    Source(sources::SourceInput),
    /// A workload was added or modified.
    Workload(Box<workloads::Observation>),
    /// A workload is gone.
    WorkloadDeleted(WorkloadRef),
    /// A watch completed its (re)list.
    Synced(WatchId),
    /// A ConfigSync was added or modified.
    ConfigSync(Box<configsync_crds::ConfigSync>),
    /// A ConfigSync is gone.
    ConfigSyncDeleted(configsync::CsKey),
    /// A watch failed and will retry (counted).
    WatchError,
}

/// Namespaces and selectors, shared by every watch.
#[derive(Clone, Debug)]
pub struct Scope {
    namespaces: Vec<String>,
    workload_selector: Option<String>,
    source_selector: Option<String>,
    /// Passed to `workload::follow`.
    pub auto_all: bool,
}

impl Scope {
    /// The scope of `config`.
    pub fn of(config: &Config) -> Self {
        Self {
            namespaces: config.namespaces.clone(),
            workload_selector: config.workload_selector.clone(),
            source_selector: config.source_selector.clone(),
            auto_all: config.auto_all,
        }
    }

    /// Each namespace to watch, or `None` once for all namespaces.
    pub fn namespaces(&self) -> Vec<Option<&str>> {
        if self.namespaces.is_empty() {
            vec![None]
        } else {
            self.namespaces.iter().map(|ns| Some(ns.as_str())).collect()
        }
    }

    /// The API for `K` in `namespace` (or all namespaces).
    pub fn api<K>(&self, client: &Client, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }

    /// Watch settings for sources.
    pub fn source_config(&self) -> watcher::Config {
        selected(self.source_selector.as_deref())
    }

    /// Watch settings for workloads.
    pub fn workload_config(&self) -> watcher::Config {
        selected(self.workload_selector.as_deref())
    }
}

fn selected(selector: Option<&str>) -> watcher::Config {
    let config = watcher::Config::default();
    match selector {
        Some(selector) => config.labels(selector),
        None => config,
    }
}

/// Run the controller until its watches stop. `ready` turns true once every watch has listed and the
/// catch-up pass has been planned (every tracked workload queued and decided); its patches go out afterwards,
/// under the fleet budget.
///
/// # Errors
/// [`Error::BuildBudget`] for an invalid rate; [`Error::ReceiveInput`] when the watches are gone.
pub async fn run(
    client: Client,
    config: Config,
    metrics: Metrics,
    ready: Arc<AtomicBool>,
) -> Result<(), Error> {
    let scope = Scope::of(&config);
    let (input_tx, input_rx) = mpsc::channel(256);
    let mut tasks = JoinSet::new();
    let mut watches = sources::spawn(&client, &scope, &input_tx, &mut tasks);
    watches.extend(workloads::spawn(&client, &scope, &input_tx, &mut tasks));
    if !config.no_configsync {
        let crd = configsync::probe(&client).await;
        watches.extend(configsync::spawn(
            &client, &scope, crd, &input_tx, &mut tasks,
        ));
    }
    drop(input_tx);
    let controller = reconcile::Controller::new(client, config, metrics, ready, watches)?;
    // `tasks` lives as long as the loop: stopping the controller stops its watches.
    let result = controller.run(input_rx).await;
    tasks.abort_all();
    result
}
