//! The operator step of `bench scale`: start, ready, memory, reaction, costs, fan-out, restart, budget.
//!
//! Waits are bounded by `--deadline-seconds`. "Quiet" means the operator made no write request for one
//! second (polled every 100 ms): the end of the initial sync and of the restart window.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use configsync_cluster::requests::Counts as RequestCounts;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde::Serialize;
use serde_json::json;

use super::load::Counting;
use super::observe::{self, Observer};
use super::process::{self, Process};
use super::{Endpoint, Params, fan_name, load, objects};
use crate::procfs::{self, Memory};
use crate::stats::{self, Summary};

/// Failures of the operator step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting or waiting for a process failed.
    #[error(transparent)]
    Process(#[from] process::Error),
    /// Reading `/proc` failed.
    #[error(transparent)]
    Proc(#[from] procfs::Error),
    /// Talking to the cluster failed.
    #[error(transparent)]
    Load(#[from] load::Error),
    /// Waiting on the Deployment watch failed.
    #[error(transparent)]
    Observe(#[from] observe::Error),
    /// Updating a ConfigMap failed.
    #[error("updating ConfigMap {0}")]
    UpdateConfigMap(String, #[source] kube::Error),
    /// The operator did not go quiet in time.
    #[error("the operator kept writing for the whole deadline")]
    WaitQuiet,
}

/// What the operator step measured. Durations are milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct OperatorReport {
    /// From process start to `/readyz` 200.
    pub ready_ms: f64,
    /// RSS and peak after the initial sync.
    pub memory: Memory,
    /// RSS over the raw ConfigMap and Secret data.
    pub rss_to_raw: f64,
    /// Patches made during the initial sync.
    pub initial_patches: u64,
    /// Reaction latency over the sequential updates.
    pub reaction: Option<Summary>,
    /// Histogram counts over `stats::BUCKETS_MS`.
    pub reaction_histogram: Vec<usize>,
    /// Operator CPU per update, milliseconds.
    pub cpu_ms_per_update: f64,
    /// Operator API requests per update, by verb.
    pub requests_per_update: BTreeMap<String, f64>,
    /// What the request counts (writes, requests per update) cover.
    pub counting: Counting,
    /// Fan-out without a budget: update to the last Deployment patched.
    pub fanout_all_patched_ms: f64,
    /// Restart: time to ready.
    pub restart_ready_ms: f64,
    /// Restart: patch requests until quiet (target 0).
    pub restart_patches: u64,
    /// Restart: Deployments whose template hash changed (target 0).
    pub restart_changed_templates: usize,
    /// Fan-out under `--rollouts-per-second`: the asked rate.
    pub budget_rate_target: f64,
    /// Fan-out under the budget: the measured rollouts per second.
    pub budget_rate_measured: f64,
}

/// Run every operator measurement.
pub async fn measure(
    params: &Params,
    endpoint: &Endpoint,
    configsync: &Path,
    client: &Client,
    raw_bytes: u64,
) -> Result<OperatorReport, Error> {
    let deadline = Duration::from_secs(params.deadline_seconds);
    let mut observer = Observer::start(client, &params.namespace);
    observer
        .wait_seen(params.deployments + params.fanout, deadline)
        .await?;
    let counting = endpoint.counting;
    let before_start = load::request_counts(client, counting).await?;
    let operator = process::start_operator(
        configsync,
        &endpoint.kubeconfig,
        &params.operator_health,
        &params.operator_args,
        params.operator_log.as_deref(),
    )?;
    let ready_time = ready(&operator, params).await?;
    wait_quiet(client, counting, deadline).await?;
    let memory = operator.memory()?;
    let initial_patches = writes(
        &before_start,
        &load::request_counts(client, counting).await?,
    );
    let updates = reaction(params, client, counting, &operator, &mut observer).await?;
    let fan_targets: BTreeSet<String> = (0..params.fanout).map(fan_name).collect();
    let unlimited = fan_out(params, client, &mut observer, &fan_targets, 1).await?;
    drop(operator);

    let hashes_before = observer.hashes().clone();
    let before_restart = load::request_counts(client, counting).await?;
    let mut args = params.operator_args.clone();
    args.extend([
        "--rollouts-per-second".to_owned(),
        params.rollouts_per_second.to_string(),
    ]);
    let operator = process::start_operator(
        configsync,
        &endpoint.kubeconfig,
        &params.operator_health,
        &args,
        params.operator_log.as_deref(),
    )?;
    let restart_ready = ready(&operator, params).await?;
    wait_quiet(client, counting, deadline).await?;
    let restart_patches = writes(
        &before_restart,
        &load::request_counts(client, counting).await?,
    );
    let restart_changed_templates = observer.changed_since(&hashes_before);
    let budgeted = fan_out(params, client, &mut observer, &fan_targets, 2).await?;
    drop(operator);
    Ok(OperatorReport {
        ready_ms: ms(ready_time),
        memory,
        rss_to_raw: (memory.rss_kib * 1024) as f64 / raw_bytes.max(1) as f64,
        initial_patches,
        reaction: stats::summarize(&updates.latencies),
        reaction_histogram: stats::histogram(&updates.latencies),
        cpu_ms_per_update: updates.cpu_ms_per_update,
        requests_per_update: updates.requests_per_update,
        counting,
        fanout_all_patched_ms: ms(unlimited.all_patched),
        restart_ready_ms: ms(restart_ready),
        restart_patches,
        restart_changed_templates,
        budget_rate_target: params.rollouts_per_second,
        budget_rate_measured: budgeted.rate,
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn ready(operator: &Process, params: &Params) -> Result<Duration, Error> {
    let deadline = Duration::from_secs(params.deadline_seconds);
    let health = params.operator_health.clone();
    let started = operator.started;
    let ready = tokio::task::spawn_blocking(move || {
        process::wait_until(deadline, || {
            process::http_status(&health, "/readyz") == Some(200)
        })
    })
    .await
    .ok()
    .flatten();
    ready
        .map(|()| started.elapsed())
        .ok_or(Error::Process(process::Error::WaitReady(
            "configsync operator",
        )))
}

/// Write requests (create, update, patch) by others than the harness between two snapshots.
fn writes(before: &RequestCounts, after: &RequestCounts) -> u64 {
    let delta = load::others_delta(before, after);
    ["patch", "update", "create"]
        .iter()
        .filter_map(|verb| delta.get(*verb))
        .sum()
}

/// Wait until the operator made no write for one second.
async fn wait_quiet(client: &Client, counting: Counting, deadline: Duration) -> Result<(), Error> {
    let end = Instant::now() + deadline;
    let mut last = load::request_counts(client, counting).await?;
    let mut quiet_since = Instant::now();
    while Instant::now() < end {
        tokio::time::sleep(counting.poll()).await;
        let now = load::request_counts(client, counting).await?;
        if writes(&last, &now) > 0 {
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= Duration::from_secs(1) {
            return Ok(());
        }
        last = now;
    }
    Err(Error::WaitQuiet)
}

struct Updates {
    latencies: Vec<Duration>,
    cpu_ms_per_update: f64,
    requests_per_update: BTreeMap<String, f64>,
}

/// K sequential updates of `cm-00000`, each awaited until all its consumers are patched.
async fn reaction(
    params: &Params,
    client: &Client,
    counting: Counting,
    operator: &Process,
    observer: &mut Observer,
) -> Result<Updates, Error> {
    let target = objects::config_map_name(0);
    let consumers: BTreeSet<String> = (0..params.deployments)
        .filter(|i| {
            objects::references(*i, params.configmaps, params.secrets)
                .iter()
                .any(|r| !r.secret && r.name == target)
        })
        .map(super::deployment_name)
        .collect();
    let deadline = Duration::from_secs(params.deadline_seconds);
    let (ticks_before, counts_before) = (
        operator.cpu_ticks()?,
        load::request_counts(client, counting).await?,
    );
    let mut latencies = Vec::with_capacity(params.updates);
    let updates = if consumers.is_empty() {
        0
    } else {
        params.updates
    };
    for k in 0..updates {
        let before = observer.hashes().clone();
        let start = Instant::now();
        update(client, params, &target, 1_000_000 + k).await?;
        let arrivals = observer.wait_changed(&before, &consumers, deadline).await?;
        let last = arrivals.iter().max().copied().unwrap_or(start);
        latencies.push(last.saturating_duration_since(start));
    }
    let n = latencies.len().max(1) as f64;
    let ticks = operator.cpu_ticks()?.saturating_sub(ticks_before);
    let cpu_ms_per_update = ticks as f64 * 1000.0 / procfs::ticks_per_second() as f64 / n;
    let delta = load::others_delta(
        &counts_before,
        &load::request_counts(client, counting).await?,
    );
    let requests_per_update = delta
        .into_iter()
        .map(|(verb, count)| (verb, count as f64 / n))
        .collect();
    Ok(Updates {
        latencies,
        cpu_ms_per_update,
        requests_per_update,
    })
}

async fn update(client: &Client, params: &Params, name: &str, version: usize) -> Result<(), Error> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &params.namespace);
    let fresh = objects::config_map(&params.namespace, name.to_owned(), params.size, version);
    let patch = json!({"data": fresh.data});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(drop)
        .map_err(|error| Error::UpdateConfigMap(name.to_owned(), error))
}

struct FanOut {
    all_patched: Duration,
    rate: f64,
}

/// Update `shared` and wait until every fan-out Deployment is patched.
async fn fan_out(
    params: &Params,
    client: &Client,
    observer: &mut Observer,
    targets: &BTreeSet<String>,
    version: usize,
) -> Result<FanOut, Error> {
    let before = observer.hashes().clone();
    let budget_time = targets.len() as f64 / params.rollouts_per_second.max(0.1);
    let deadline =
        Duration::from_secs(params.deadline_seconds) + Duration::from_secs_f64(budget_time);
    let start = Instant::now();
    update(client, params, "shared", 2_000_000 + version).await?;
    let arrivals = observer.wait_changed(&before, targets, deadline).await?;
    let first = arrivals.iter().min().copied().unwrap_or(start);
    let last = arrivals.iter().max().copied().unwrap_or(start);
    let span = last.saturating_duration_since(first).as_secs_f64();
    let rate = if span > 0.0 {
        (arrivals.len().saturating_sub(1)) as f64 / span
    } else {
        0.0
    };
    Ok(FanOut {
        all_patched: last.saturating_duration_since(start),
        rate,
    })
}
