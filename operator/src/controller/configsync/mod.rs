//! The ConfigSync watch and status writes. The ConfigSync watch feeds the same decision core that owns
//! the source cache and the workload observations ([`crate::core`]), so a ConfigSync pass reads caches,
//! never lists.
//!
//! ```text
//!  watch(ConfigSync) ─► Input::ConfigSync ─► core: state::ConfigSyncs (settle claims: workload → owner)
//!  source change     ─► core: ConfigSyncs that name/select it, or own a workload that consumes it ─► queue
//!  workload event    ─► core: owned? queue its ConfigSync (rollout progress) : annotation path
//!  pass(cs)          ─► core: plan::plan over SourceCache + observations (no I/O) → Command::Apply per
//!                       target, Warning Events for lost claims, Command::WriteStatus only when it changed
//!  write_status      ◄─ executor (status merge patch)
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
use std::time::Duration;

use configsync_crds::ConfigSync;
use futures::Stream;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Access, Input, Scope, WatchId};

pub use crate::core::configsync::{CsKey, plan, state};

/// What the ConfigSync path uses from the API.
pub const ACCESS: &[Access] = &[
    Access::new("configsync.dev", "configsyncs", &["list", "watch"]),
    Access::new("configsync.dev", "configsyncs/status", &["patch"]),
];

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
    let (mut known, mut listed) = (HashSet::new(), HashSet::new());
    let watch = id.clone();
    let translate = move |event| translate(event, &mut known, &mut listed, &watch);
    crate::controller::pump::pump(id, "ConfigSync", stream, translate, input_tx).await;
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

/// Merge-patch the status of `key` (the [`crate::core::Command::WriteStatus`] of a pass).
///
/// # Errors
/// The API error.
pub async fn write_status(
    client: &Client,
    key: &CsKey,
    status: &configsync_crds::ConfigSyncStatus,
) -> Result<(), kube::Error> {
    let api = Api::<ConfigSync>::namespaced(client.clone(), &key.namespace);
    let patch = Patch::Merge(json!({"status": status}));
    api.patch_status(&key.name, &PatchParams::default(), &patch)
        .await
        .map(drop)
}

/// The object reference Events on a ConfigSync point at.
pub fn cs_reference(cs: &ConfigSync) -> k8s_openapi::api::core::v1::ObjectReference {
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
