//! The operator's I/O shell: watches, the executor of the core's commands (server-side apply, Events,
//! status), metrics, health and leader election around the pure decision core ([`crate::core`]).
//!
//! # Theory of operation
//! ```text
//!  sources::spawn   (ConfigMap, Secret watch tasks: digests only) ─┐
//!  workloads::spawn (Deployment, StatefulSet, DaemonSet tasks)     ─┤ mpsc<Input>
//!  configsync::spawn (ConfigSync watch)                            ─┤
//!                                                                  ▼
//!  shell::run (one task) ── Input, Now ──► core::Core (pure state machine) ── Vec<Command> ──┐
//!        ▲  answers: Input::Applied / StatusWritten (mpsc)                                   ▼
//!        └──────────────────────────────────────────── executor::Executor: at most --max-inflight requests,
//!                                                       a timeout on each, retries with backoff in the
//!                                                       request's own task, errors classified; Events on
//!                                                       a queue of their own (off the critical path)
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

pub mod apply;
pub mod configsync;
pub mod events;
pub mod executor;
pub mod health;
pub mod leader;
pub mod pump;
mod shell;
pub mod sources;
pub mod workloads;

pub use crate::core::{Input, WatchId};
pub use crate::metrics::{self, Metrics};

/// What the operator does, from the command line.
#[derive(Clone, Debug)]
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
    /// Requests (applies, status writes) in flight at once (`--max-inflight`).
    pub max_inflight: std::num::NonZeroUsize,
    /// How long one request may take before it counts as failed (`--request-timeout`).
    pub request_timeout: std::time::Duration,
    /// `--dry-run`: follow and report (`WouldRollOut` Events, metrics), write no workload and no
    /// ConfigSync status (ConfigSyncs are read, and their passes kept in memory only).
    pub dry_run: bool,
    /// Namespaces whose workloads and sources are never watched (`--namespaces-to-ignore`, Reloader's flag).
    pub namespaces_to_ignore: Vec<String>,
    /// The shortest wait before deciding after a source change or someone else's template change
    /// (`--settle`; zero here, [`DEFAULT_SETTLE`] from the command line).
    pub settle: std::time::Duration,
}

/// The default of `--settle`: long enough for a deploy tool's next write (Helm, kubectl, Argo CD and Flux
/// write a ConfigMap and its workload within milliseconds of each other), short against a rollout.
pub const DEFAULT_SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// The default of `--max-inflight`: enough to hide a managed control plane's round trip (20 ms × 32
/// in flight ≈ 1,600 applies a second), few enough not to trip API priority and fairness.
pub const DEFAULT_MAX_INFLIGHT: std::num::NonZeroUsize = match std::num::NonZeroUsize::new(32) {
    Some(n) => n,
    None => std::num::NonZeroUsize::MIN,
};

/// The default of `--request-timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Default for Config {
    fn default() -> Self {
        Self {
            auto_all: false,
            debounce: None,
            max_concurrent_rollouts: None,
            rollouts_per_second: None,
            namespaces: Vec::new(),
            workload_selector: None,
            source_selector: None,
            instance: None,
            no_configsync: false,
            max_inflight: DEFAULT_MAX_INFLIGHT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            dry_run: false,
            settle: std::time::Duration::ZERO,
            namespaces_to_ignore: Vec::new(),
        }
    }
}

impl Config {
    /// What the decision core reads.
    pub fn settings(&self) -> crate::core::Settings {
        crate::core::Settings {
            debounce: self.debounce,
            max_concurrent_rollouts: self.max_concurrent_rollouts,
            rollouts_per_second: self.rollouts_per_second,
            dry_run: self.dry_run,
            settle: self.settle,
        }
    }
}

/// Failures that stop the controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rate limit is not a positive number.
    #[error("invalid --rollouts-per-second")]
    BuildCore(#[source] crate::core::Error),
    /// Every watch task ended (the input channel closed).
    #[error("the watch tasks stopped")]
    ReceiveInput,
    /// The leader Lease was lost; every apply queued by then was refused or answered.
    #[error("lost the leader Lease")]
    HoldLease,
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

/// Namespaces and selectors, shared by every watch.
#[derive(Clone, Debug)]
pub struct Scope {
    namespaces: Vec<String>,
    workload_selector: Option<String>,
    source_selector: Option<String>,
    /// `metadata.namespace!=…` for `--namespaces-to-ignore`.
    ignored: Option<String>,
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
            ignored: ignore_fields(&config.namespaces_to_ignore),
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
        selected(self.source_selector.as_deref(), self.ignored.as_deref())
    }

    /// Watch settings for workloads.
    pub fn workload_config(&self) -> watcher::Config {
        selected(self.workload_selector.as_deref(), self.ignored.as_deref())
    }
}

/// The field selector that leaves out `namespaces` (`None` when there are none).
pub fn ignore_fields(namespaces: &[String]) -> Option<String> {
    let fields: Vec<String> = namespaces
        .iter()
        .map(|ns| ns.trim())
        .filter(|ns| !ns.is_empty())
        .map(|ns| format!("metadata.namespace!={ns}"))
        .collect();
    (!fields.is_empty()).then(|| fields.join(","))
}

fn selected(selector: Option<&str>, fields: Option<&str>) -> watcher::Config {
    let mut config = watcher::Config::default();
    if let Some(selector) = selector {
        config = config.labels(selector);
    }
    if let Some(fields) = fields {
        config = config.fields(fields);
    }
    config
}

/// Run the controller until its watches stop. `ready` turns true once every watch has listed and the
/// catch-up pass has been planned (every tracked workload queued and decided); its patches go out afterwards,
/// under the fleet budget.
///
/// # Errors
/// [`Error::BuildCore`] for an invalid rate; [`Error::ReceiveInput`] when the watches are gone.
pub async fn run(
    client: Client,
    config: Config,
    metrics: Metrics,
    ready: Arc<AtomicBool>,
) -> Result<(), Error> {
    run_as_leader(client, config, metrics, ready, None).await
}

/// [`run`], refusing every apply while `freshness` says the leader Lease is not fresh; once it says the
/// Lease is lost, it closes the executor and returns.
///
/// # Errors
/// As [`run`], and [`Error::HoldLease`] when the Lease is lost.
pub async fn run_as_leader(
    client: Client,
    config: Config,
    metrics: Metrics,
    ready: Arc<AtomicBool>,
    freshness: Option<leader::Freshness>,
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
    // `tasks` lives as long as the loop: stopping the controller stops its watches.
    let result = shell::run(
        client, &config, metrics, ready, watches, input_rx, freshness,
    )
    .await;
    tasks.abort_all();
    result
}

#[cfg(test)]
mod scope_tests {
    use super::ignore_fields;

    #[test]
    fn namespaces_to_ignore_become_one_field_selector() {
        let names = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(ignore_fields(&[]), None);
        assert_eq!(ignore_fields(&names(&["", " "])), None);
        assert_eq!(
            ignore_fields(&names(&["kube-system", " tools "])).as_deref(),
            Some("metadata.namespace!=kube-system,metadata.namespace!=tools")
        );
    }
}
