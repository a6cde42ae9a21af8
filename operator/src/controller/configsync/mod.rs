//! The ConfigSync path of the controller loop: a ConfigSync watch feeding the same loop that owns the
//! source cache and the workload observations, so a ConfigSync pass reads caches, never lists.
//!
//! ```text
//!  watch(ConfigSync) ─► Input::ConfigSync ─► state::ConfigSyncs (settle claims: workload → owner)
//!  source change     ─► ConfigSyncs that name/select it, or own a workload that consumes it ─► queue
//!  workload event    ─► owned? queue its ConfigSync (rollout progress) : annotation path
//!  pass(cs) = build   (plan::plan over SourceCache + observations: no I/O)
//!           → execute (controller::apply per target with the same workload Events as the annotation
//!                      path, Warning Events for lost claims, status merge patch only when it changed)
//! ```
//! **Ownership.** A workload some ConfigSync names is driven by that ConfigSync alone (the oldest, when
//! several name it); its annotation sources join the ConfigSync's hash, and the annotation path skips it.
//! One writer per workload, one hash, so one rollout per change.
//!
//! The workload's `configsync.dev/observed-hash` and the status are the "last applied" record, so a
//! restarted operator rolls only what changed while it was down. Nothing is written to users' objects
//! but the two annotations the apply path owns: no finalizers, no ownerReferences.
//!
//! When the CRD is not installed the watch keeps retrying quietly (it starts working once the CRD is
//! applied) and the annotation path runs as before.
use std::collections::HashSet;
use std::time::{Duration, Instant};

use configsync_crds::ConfigSync;
use futures::{Stream, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::events::Events;
use super::workloads::Observation;
use super::{Access, Input, Metrics, Scope, WatchId, apply};
use crate::cache::SourceCache;
use crate::plan::event::{EventText, EventType, decision_event};

pub mod plan;
pub mod state;

pub use state::{ConfigSyncs, CsKey};

/// What the ConfigSync path uses from the API.
pub const ACCESS: &[Access] = &[
    Access::new("configsync.dev", "configsyncs", &["list", "watch"]),
    Access::new("configsync.dev", "configsyncs/status", &["patch"]),
];

/// How long a ConfigSync whose pass failed waits before the next one.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Whether the `configsync.dev` CRD is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crd {
    /// Served: the watch must list before the operator is ready.
    Served,
    /// Not installed (or not readable): the watch retries in the background, readiness does not wait.
    Absent,
}

/// Ask the API server once whether ConfigSyncs are served, and log a clear line when they are not
/// (404, or 403 for missing RBAC). Any other failure counts as served: the watch retries, and readiness
/// waits for it, so a passing network error does not let annotations act on a ConfigSync's workload.
pub async fn probe(client: &Client) -> Crd {
    let api: Api<ConfigSync> = Api::all(client.clone());
    match api.list(&ListParams::default().limit(1)).await {
        Err(kube::Error::Api(status)) if [403, 404].contains(&status.code) => {
            tracing::warn!(
                code = status.code,
                "ConfigSync resources are not served (is the configsync.dev CRD installed? \
                 `configsync crd | kubectl apply -f -`); workload annotations work as usual, \
                 and ConfigSyncs are picked up once the CRD is installed"
            );
            Crd::Absent
        }
        Ok(_) | Err(_) => Crd::Served,
    }
}

/// Spawn the ConfigSync watch for every namespace of `scope`; returns the watches readiness waits for.
pub fn spawn(
    client: &Client,
    scope: &Scope,
    crd: Crd,
    input_tx: &mpsc::Sender<Input>,
    tasks: &mut JoinSet<()>,
) -> Vec<WatchId> {
    let mut watches = Vec::new();
    for namespace in scope.namespaces() {
        let id = WatchId::new("configsyncs", namespace);
        let api: Api<ConfigSync> = match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let stream =
            watcher::watcher(api, watcher::Config::default()).backoff(CrdBackoff::default());
        tasks.spawn(pump(id.clone(), stream, input_tx.clone()));
        if crd == Crd::Served {
            watches.push(id);
        }
    }
    watches
}

/// Retry delays of the ConfigSync watch: 500ms doubling up to 5s, reset by a success. Short enough that
/// a CRD installed after the operator started is picked up within seconds.
#[derive(Debug, Default)]
struct CrdBackoff {
    next: Option<Duration>,
}

impl CrdBackoff {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(5);
}

impl Iterator for CrdBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next.unwrap_or(Self::FIRST);
        self.next = Some(delay.saturating_mul(2).min(Self::MAX));
        Some(delay)
    }
}

impl Backoff for CrdBackoff {
    fn reset(&mut self) {
        self.next = None;
    }
}

async fn pump(
    id: WatchId,
    stream: impl Stream<Item = Result<Event<ConfigSync>, watcher::Error>>,
    input_tx: mpsc::Sender<Input>,
) {
    let mut stream = std::pin::pin!(stream);
    let (mut known, mut listed) = (HashSet::new(), HashSet::new());
    let mut failing = false;
    while let Some(event) = stream.next().await {
        let inputs = match event {
            Ok(event) => {
                failing = false;
                translate(event, &mut known, &mut listed, &id)
            }
            Err(error) => {
                // Logged once per outage: an absent CRD fails every retry.
                if !failing {
                    tracing::warn!(watch = %id, %error, "ConfigSync watch failed; retrying");
                }
                failing = true;
                vec![Input::WatchError]
            }
        };
        for input in inputs {
            if input_tx.send(input).await.is_err() {
                return;
            }
        }
    }
}

fn translate(
    event: Event<ConfigSync>,
    known: &mut HashSet<CsKey>,
    listed: &mut HashSet<CsKey>,
    id: &WatchId,
) -> Vec<Input> {
    match event {
        Event::Init => {
            listed.clear();
            Vec::new()
        }
        Event::InitApply(cs) | Event::Apply(cs) => {
            let key = CsKey::of(&cs);
            listed.insert(key.clone());
            known.insert(key);
            vec![Input::ConfigSync(Box::new(cs))]
        }
        Event::Delete(cs) => {
            let key = CsKey::of(&cs);
            known.remove(&key);
            vec![Input::ConfigSyncDeleted(key)]
        }
        Event::InitDone => {
            let gone: Vec<CsKey> = known.difference(listed).cloned().collect();
            let mut inputs: Vec<Input> = gone
                .into_iter()
                .map(|key| {
                    known.remove(&key);
                    Input::ConfigSyncDeleted(key)
                })
                .collect();
            listed.clear();
            inputs.push(Input::Synced(id.clone()));
            inputs
        }
    }
}

/// The I/O handles a pass uses.
pub struct Shell<'a> {
    /// The API client.
    pub client: &'a Client,
    /// Event publisher.
    pub events: &'a Events,
    /// Operator metrics.
    pub metrics: &'a Metrics,
    /// `--auto-all`, for reading back applied workloads.
    pub auto_all: bool,
}

/// A pass planned from the caches, ready to execute.
#[derive(Debug)]
pub struct Build {
    cs: std::sync::Arc<ConfigSync>,
    pass: plan::Pass,
    conflicts: Vec<(crate::workload::WorkloadRef, String)>,
    now: Time,
}

impl Build {
    /// The workloads this pass would roll.
    pub fn rollouts(&self) -> Vec<crate::workload::WorkloadRef> {
        let applies = self.pass.applies.iter();
        applies
            .filter(|t| t.decision.is_rollout())
            .map(|t| t.workload.clone())
            .collect()
    }

    /// Ask `admit` (the fleet budget) for each rollout; one it refuses is held back as `Pending` and
    /// retried when the budget frees a slot.
    pub fn admit_rollouts(&mut self, mut admit: impl FnMut(&crate::workload::WorkloadRef) -> bool) {
        let pass = &mut self.pass;
        let mut held = Vec::new();
        pass.applies.retain(|target| {
            let keep = !target.decision.is_rollout() || admit(&target.workload);
            if !keep {
                held.push(target.index);
            }
            keep
        });
        for index in held {
            if let Some(target) = pass.status.targets.get_mut(index) {
                target.state = configsync_crds::TargetState::Pending;
                target.last_rollout_time = None;
            }
        }
    }
}

/// Plan the pass over `key` from the caches (no I/O); `None` when it is gone.
pub fn build<'a>(
    state: &mut ConfigSyncs,
    key: &CsKey,
    cache: &SourceCache,
    observation: impl Fn(&crate::workload::WorkloadRef) -> Option<&'a Observation>,
) -> Option<Build> {
    let (cs, drives) = state.get(key)?;
    let now = Time(jiff::Timestamp::now());
    match plan::plan(&cs, &drives, cache, observation, &now) {
        Ok(pass) => Some(Build {
            conflicts: state.new_conflicts(key),
            cs,
            pass,
            now,
        }),
        Err(error) => {
            tracing::warn!(configsync = %key, %error, "ConfigSync spec cannot be resolved");
            None
        }
    }
}

/// Send the pass: applies in target order, Warning Events for lost claims, then the status (only when
/// it changed). Returns what the applies read back, for the loop's observations, and whether each rolled.
pub async fn execute(
    shell: &Shell<'_>,
    state: &mut ConfigSyncs,
    key: &CsKey,
    build: Build,
) -> Vec<(Observation, bool)> {
    let Build {
        cs,
        mut pass,
        conflicts,
        now,
    } = build;
    let reference = cs_reference(&cs);
    for (workload, winner) in conflicts {
        let text = EventText {
            type_: EventType::Warning,
            reason: configsync_crds::configsync::condition::TARGET_CLAIMED,
            note: format!(
                "{workload} is also claimed by the older ConfigSync {winner}, which drives it"
            ),
        };
        if shell.events.publish(&text, &reference).await.is_err() {
            shell.metrics.error("event");
        }
    }
    let mut applied = Vec::with_capacity(pass.applies.len());
    for target in &pass.applies {
        let workload = &target.workload;
        match apply::apply(shell.client, workload, &target.body, shell.auto_all).await {
            Ok(observation) => {
                if target.decision.is_rollout() {
                    tracing::info!(%workload, configsync = %key, "rolled out new config");
                    shell
                        .metrics
                        .rollout(workload.kind.as_str(), crate::plan::event::reason::ROLLED);
                }
                if let Some(text) = decision_event(&target.decision, &[]) {
                    let regarding = apply::object_reference(workload, observation.uid.as_deref());
                    if shell.events.publish(&text, &regarding).await.is_err() {
                        shell.metrics.error("event");
                    }
                }
                applied.push((observation, target.decision.is_rollout()));
            }
            Err(error) => {
                tracing::warn!(%workload, configsync = %key, %error, "apply failed; retrying later");
                shell.metrics.error(error.category());
                target.failed(&mut pass.status, &mut pass.findings);
                state.wake_at(key.clone(), Instant::now() + RETRY_AFTER_FAILURE);
            }
        }
    }
    let plan::Pass {
        mut status,
        findings,
        wake_after,
        ..
    } = pass;
    plan::set_conditions(&mut status, &findings, cs.meta().generation, &now);
    if let Some(after) = wake_after {
        state.wake_at(key.clone(), Instant::now() + after);
    }
    if cs.status.as_ref() != Some(&status) {
        let api = Api::<ConfigSync>::namespaced(shell.client.clone(), &key.namespace);
        let patch = Patch::Merge(json!({"status": status}));
        match api
            .patch_status(&key.name, &PatchParams::default(), &patch)
            .await
        {
            Ok(_) => state.wrote(key, status),
            Err(error) => {
                tracing::warn!(configsync = %key, %error, "patching the status failed; retrying later");
                shell.metrics.error("status");
                state.wake_at(key.clone(), Instant::now() + RETRY_AFTER_FAILURE);
            }
        }
    }
    applied
}

fn cs_reference(cs: &ConfigSync) -> k8s_openapi::api::core::v1::ObjectReference {
    let mut reference = cs.object_ref(&());
    reference.api_version = Some("configsync.dev/v1alpha1".to_owned());
    reference
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_retries_double_up_to_five_seconds_and_reset() {
        let mut backoff = CrdBackoff::default();
        let delays: Vec<u128> = backoff.by_ref().take(6).map(|d| d.as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 5000, 5000]);
        backoff.reset();
        assert_eq!(backoff.next(), Some(Duration::from_millis(500)));
    }
}
