//! The API side of an invariant run: write the fleet and its batches into the caller's namespace, wait until
//! the operator has settled, confirm it is quiet, and count rollouts from generations.
//!
//! ```text
//!  Run::start ─► sources, workloads, barrier ─► Run::adopted (records written, generations noted)
//!  per batch:  write updates ─► settle: poll until every record (and every rolled template) holds the
//!              expected hash ─► barrier ─► no workload changed across the barrier (else settle again)
//!              ─► Tally::add_batch(expected, generation deltas less record-only Deployment moves)
//!  Run::final_mismatches: recompute every hash from the live ConfigMaps and Secrets, compare with the live
//! ```
//! The barrier is a Deployment reading its own ConfigMap: bumping it and waiting for its new record proves
//! the operator's loop drained what was queued before. Every request retries until a deadline, because
//! the test's own client may suffer the injected faults too. The namespace is the caller's: `default` on an
//! embedded cluster of the test's own, a fresh one per test on a shared real control plane.
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use configsync_crds::{SourceKind, WorkloadKind};
use configsync_operator::refs::SourceId;
use configsync_operator::workload::Workload;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, Resource};
use serde_json::json;
use tokio::time::Instant;

use super::fleet::{self, Fleet, Update, WorkloadSpec};
use super::{
    Counts, Tally, discount, expected_rollouts, hash_mismatches, observed_rollouts,
    record_only_moves,
};

/// How long one request may keep failing, and how long the operator may take to settle.
pub const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);
const MANAGER: &str = "fault-test";
const BARRIER: &str = "barrier";

/// A workload's two hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveHashes {
    /// Metadata `configsync.dev/observed-hash`.
    pub observed: Option<String>,
    /// Pod-template `configsync.dev/config-hash`.
    pub template: Option<String>,
}

/// What the API holds for one workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveWorkload {
    /// `metadata.generation`: moves once per spec change (rollout).
    pub generation: i64,
    /// The hashes.
    pub hashes: LiveHashes,
}

/// Every workload, by name.
pub type Snapshot = BTreeMap<String, LiveWorkload>;

/// Retry `op` until it succeeds; panic naming `what` after [`DEADLINE`].
pub async fn retry<T, Fut>(what: &str, mut op: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        match op().await {
            Ok(value) => return value,
            Err(error) if Instant::now() < deadline => {
                tracing::debug!(%error, what, "retrying");
                tokio::time::sleep(POLL).await;
            }
            Err(error) => panic!("{what} kept failing: {error}"),
        }
    }
}

/// Server-side apply a source's data in namespace `ns`.
pub async fn apply_source(
    client: &Client,
    ns: &str,
    id: &SourceId,
    data: &BTreeMap<String, String>,
) {
    let body = fleet::source_body(id, data, ns);
    match id.kind {
        SourceKind::ConfigMap => apply::<ConfigMap>(client, ns, &id.name, &body).await,
        SourceKind::Secret => apply::<Secret>(client, ns, &id.name, &body).await,
    }
}

/// Server-side apply a workload in namespace `ns`.
pub async fn apply_workload(client: &Client, ns: &str, spec: &WorkloadSpec) {
    let body = spec.body(ns);
    match spec.kind {
        WorkloadKind::Deployment => apply::<Deployment>(client, ns, &spec.name, &body).await,
        WorkloadKind::StatefulSet => apply::<StatefulSet>(client, ns, &spec.name, &body).await,
        WorkloadKind::DaemonSet => apply::<DaemonSet>(client, ns, &spec.name, &body).await,
        other => panic!("the invariant fleet models apps/v1 kinds only, not {other}"),
    }
}

async fn apply<K>(client: &Client, ns: &str, name: &str, body: &serde_json::Value)
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + k8s_openapi::serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let params = PatchParams::apply(MANAGER).force();
    let patch = Patch::Apply(body);
    let what = format!("writing {} {name}", K::kind(&()));
    retry(&what, || api.patch(name, &params, &patch)).await;
}

async fn list_into<W>(client: &Client, ns: &str, snapshot: &mut Snapshot) -> Result<(), kube::Error>
where
    W: Workload
        + Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + k8s_openapi::serde::de::DeserializeOwned,
{
    let api: Api<W> = Api::namespaced(client.clone(), ns);
    for item in api.list(&ListParams::default()).await? {
        let meta = Workload::meta(&item);
        let live = LiveWorkload {
            generation: meta.generation.unwrap_or(0),
            hashes: LiveHashes {
                observed: item.observed_hash().map(str::to_owned),
                template: item.template_hash().map(str::to_owned),
            },
        };
        snapshot.insert(meta.name.clone().unwrap_or_default(), live);
    }
    Ok(())
}

/// Every workload of the three kinds in namespace `ns`, in one pass (fails when any list fails).
pub async fn snapshot(client: &Client, ns: &str) -> Result<Snapshot, kube::Error> {
    let mut snapshot = Snapshot::new();
    list_into::<Deployment>(client, ns, &mut snapshot).await?;
    list_into::<StatefulSet>(client, ns, &mut snapshot).await?;
    list_into::<DaemonSet>(client, ns, &mut snapshot).await?;
    Ok(snapshot)
}

/// Whether every workload records its expected hash, and every workload that ever rolled runs it.
pub fn is_settled(
    expected: &BTreeMap<String, String>,
    rolled: &BTreeSet<String>,
    snapshot: &Snapshot,
) -> bool {
    expected.iter().all(|(name, hash)| {
        snapshot.get(name).is_some_and(|live| {
            live.hashes.observed.as_deref() == Some(hash.as_str())
                && (!rolled.contains(name)
                    || live.hashes.template.as_deref() == Some(hash.as_str()))
        })
    })
}

/// Poll until [`is_settled`]; `Err` with the last snapshot after `timeout`.
pub async fn wait_settled(
    client: &Client,
    ns: &str,
    expected: &BTreeMap<String, String>,
    rolled: &BTreeSet<String>,
    timeout: Duration,
) -> Result<Snapshot, Snapshot> {
    let deadline = Instant::now() + timeout;
    let mut last = Snapshot::new();
    loop {
        if let Ok(now) = snapshot(client, ns).await {
            if is_settled(expected, rolled, &now) {
                return Ok(now);
            }
            last = now;
        }
        if Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The names of workloads whose generation or hashes moved between two snapshots (status writes by the
/// simulated controllers do not count: they are not the operator's).
pub fn changed_between(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    after
        .iter()
        .filter(|(name, live)| {
            before
                .get(*name)
                .is_none_or(|b| b.generation != live.generation || b.hashes != live.hashes)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The barrier Deployment and its ConfigMap, in namespace `ns`.
struct Barrier {
    spec: WorkloadSpec,
    ns: String,
    round: u64,
}

impl Barrier {
    async fn create(client: &Client, ns: &str) -> Self {
        let pod_spec = json!({"containers": [{"name": "app", "image": "app",
            "envFrom": [{"configMapRef": {"name": BARRIER}}]}]});
        let spec = WorkloadSpec {
            kind: WorkloadKind::Deployment,
            name: BARRIER.to_owned(),
            pod_spec,
        };
        let ns = ns.to_owned();
        let barrier = Self { spec, ns, round: 0 };
        let id = SourceId::config_map(BARRIER);
        apply_source(client, &barrier.ns, &id, &barrier.data()).await;
        apply_workload(client, &barrier.ns, &barrier.spec).await;
        barrier
    }

    fn data(&self) -> BTreeMap<String, String> {
        [("round".to_owned(), self.round.to_string())].into()
    }

    /// Bump the barrier ConfigMap and wait until the operator has recorded it.
    async fn pass(&mut self, client: &Client) {
        self.round += 1;
        let id = SourceId::config_map(BARRIER);
        apply_source(client, &self.ns, &id, &self.data()).await;
        let digests = [(id.clone(), fleet::digests(&id, &self.data()))].into();
        let expected = [(BARRIER.to_owned(), self.spec.expected_hash(&digests))].into();
        if wait_settled(client, &self.ns, &expected, &BTreeSet::new(), DEADLINE)
            .await
            .is_err()
        {
            panic!("the barrier round {} was never recorded", self.round);
        }
    }
}

/// One invariant run in one namespace: the model, the counts and the last settled generations.
pub struct Run {
    /// The namespace of every object of the run.
    pub namespace: String,
    /// The modelled fleet.
    pub fleet: Fleet,
    /// Counts so far.
    pub tally: Tally,
    /// Workloads that have rolled at least once (expected).
    pub rolled: BTreeSet<String>,
    /// Settles that needed more than one pass to be quiet.
    pub unquiet_settles: u64,
    /// A settle timed out or never went quiet: the run should stop and report.
    pub stalled: bool,
    settled: Snapshot,
    barrier: Barrier,
}

impl Run {
    /// Write every source, workload and the barrier into namespace `ns`.
    pub async fn start(client: &Client, ns: &str, fleet: Fleet) -> Self {
        for (id, data) in &fleet.sources {
            apply_source(client, ns, id, data).await;
        }
        for spec in &fleet.workloads {
            apply_workload(client, ns, spec).await;
        }
        let barrier = Barrier::create(client, ns).await;
        Self {
            namespace: ns.to_owned(),
            fleet,
            tally: Tally::default(),
            rolled: BTreeSet::new(),
            unquiet_settles: 0,
            stalled: false,
            settled: Snapshot::new(),
            barrier,
        }
    }

    /// Wait until the operator has adopted every workload, and note the generations (adoption rolls nothing:
    /// counted as a batch that owes nothing).
    pub async fn adopted(&mut self, client: &Client) {
        let hashes = self.fleet.expected_hashes();
        let snapshot = self.snapshot(client).await;
        self.settled = snapshot;
        self.settle(client, &hashes).await;
    }

    /// Write `updates` in order.
    pub async fn write(&self, client: &Client, updates: &[Update]) {
        for update in updates {
            apply_source(client, &self.namespace, &update.source, &update.data).await;
        }
    }

    /// Wait for the operator to settle on the model's hashes, confirm it is quiet, and count the batch
    /// against `before` (the hashes before it).
    pub async fn settle(&mut self, client: &Client, before: &BTreeMap<String, String>) -> Counts {
        let after = self.fleet.expected_hashes();
        let expected = expected_rollouts(before, &after);
        self.rolled.extend(
            expected
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(name, _)| name.clone()),
        );
        let mut quiet = None;
        for _ in 0..5 {
            let settling = wait_settled(client, &self.namespace, &after, &self.rolled, DEADLINE);
            let Ok(settled) = settling.await else {
                break;
            };
            self.barrier.pass(client).await;
            let now = self.snapshot(client).await;
            let changed = changed_between(&settled, &now);
            if changed.iter().all(|name| name == BARRIER) {
                quiet = Some(now);
                break;
            }
            self.unquiet_settles += 1;
        }
        let now = match quiet {
            Some(now) => now,
            None => {
                self.stalled = true;
                self.snapshot(client).await
            }
        };
        let fleet_now: Snapshot = now
            .into_iter()
            .filter(|(name, _)| after.contains_key(name))
            .collect();
        let moves = observed_rollouts(&generations(&self.settled), &generations(&fleet_now));
        let records = record_only_moves(&self.settled, &fleet_now, &self.deployments());
        let observed = discount(&moves, &records);
        self.tally.add_batch(&expected, &observed);
        self.settled = fleet_now;
        observed
    }

    /// The names of the fleet's Deployments.
    fn deployments(&self) -> BTreeSet<String> {
        let workloads = self.fleet.workloads.iter();
        let deployments = workloads.filter(|w| w.kind == WorkloadKind::Deployment);
        deployments.map(|w| w.name.clone()).collect()
    }

    /// Every workload of the run's namespace, retried until the deadline.
    pub async fn snapshot(&self, client: &Client) -> Snapshot {
        retry("listing workloads", || snapshot(client, &self.namespace)).await
    }

    /// Recompute every hash from the live ConfigMaps and Secrets and return the workloads whose live
    /// hashes differ (and any source whose live data differs from the model).
    pub async fn final_mismatches(&self, client: &Client) -> Vec<String> {
        let sources = live_sources(client, &self.namespace).await;
        let mut mismatches: Vec<String> = self
            .fleet
            .sources
            .iter()
            .filter(|(id, data)| sources.get(*id) != Some(*data))
            .map(|(id, _)| id.to_string())
            .collect();
        let recomputed = fleet::hashes(&self.fleet.workloads, &sources);
        let live = self.snapshot(client).await;
        let hashes = live.into_iter().map(|(n, l)| (n, l.hashes)).collect();
        mismatches.extend(hash_mismatches(&recomputed, &hashes, &self.rolled));
        mismatches
    }
}

fn generations(snapshot: &Snapshot) -> BTreeMap<String, i64> {
    snapshot
        .iter()
        .map(|(name, live)| (name.clone(), live.generation))
        .collect()
}

async fn live_sources(client: &Client, ns: &str) -> BTreeMap<SourceId, BTreeMap<String, String>> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let params = ListParams::default();
    let mut sources = BTreeMap::new();
    for cm in retry("listing ConfigMaps", || cms.list(&params)).await {
        let id = SourceId::config_map(cm.metadata.name.unwrap_or_default());
        sources.insert(id, cm.data.unwrap_or_default());
    }
    for secret in retry("listing Secrets", || secrets.list(&params)).await {
        let id = SourceId::secret(secret.metadata.name.unwrap_or_default());
        let data = secret.data.unwrap_or_default().into_iter();
        let data = data.map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()));
        sources.insert(id, data.collect());
    }
    sources
}
