//! Deployment, StatefulSet and DaemonSet watches, reduced in the watch task to an [`Observation`]: the
//! parsed policy and followed sources, the two hashes, and whether the last rollout has finished.
//!
//! ```text
//!  watcher(kind view) ─► workload::follow + hashes + rollout progress ─► Input::Workload ─► controller loop
//! ```
//! The watcher decodes the lean views of [`crate::lean::workload`] (pod templates reduced while parsed,
//! no `managedFields`), so a list page holds a few hundred bytes per workload, not whole objects.
//! Rollout progress is read from status the way `kubectl rollout status` does: the controller has seen
//! the latest generation and every replica is updated and available. The fleet budget frees a slot when it is.
use std::collections::HashSet;

use futures::{Stream, StreamExt};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Access, Input, Scope, WatchId};
use crate::annotations;
use crate::lean::workload::ReplicaStatus;
use crate::lean::{DaemonSetView, DeploymentView, StatefulSetView};
use crate::workload::{Followed, Workload, WorkloadRef, follow};

/// What the workload watches and the apply need from the API.
pub const ACCESS: &[Access] = &[
    Access::new("apps", "deployments", &["list", "watch", "patch"]),
    Access::new("apps", "statefulsets", &["list", "watch", "patch"]),
    Access::new("apps", "daemonsets", &["list", "watch", "patch"]),
];

/// One workload as the controller needs it.
#[derive(Debug)]
pub struct Observation {
    /// Kind, namespace and name.
    pub workload: WorkloadRef,
    /// The object's uid (for Event references).
    pub uid: Option<String>,
    /// The parsed policy: `Ok(None)` when the workload is not followed.
    pub follow: Result<Option<Followed>, annotations::Error>,
    /// Pod-template `configsync.dev/config-hash`.
    pub template_hash: Option<String>,
    /// Metadata `configsync.dev/observed-hash`.
    pub observed_hash: Option<String>,
    /// Rollout progress from status.
    pub progress: Progress,
    /// `metadata.labels` (ConfigSync target selectors match them).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Where the workload's own controller is with its latest spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// Every desired replica is updated and available.
    pub replicas_done: bool,
}

impl Progress {
    /// The rollout of `generation` (or a later one) has completed.
    pub fn is_complete_for(&self, generation: i64) -> bool {
        self.observed_generation >= generation
            && self.observed_generation >= self.generation
            && self.replicas_done
    }
}

/// A workload kind: how to read its rollout progress.
pub trait Watched: Workload + Resource<DynamicType = ()> {
    /// The rollout progress from status.
    fn progress(&self) -> Progress;
}

fn counts_done(
    desired: i32,
    updated: Option<i32>,
    available: Option<i32>,
    total: Option<i32>,
) -> bool {
    updated.unwrap_or(0) >= desired
        && available.unwrap_or(0) >= desired
        && total.unwrap_or(0) <= updated.unwrap_or(0)
}

/// Progress of a Deployment or StatefulSet (`desired` from `spec.replicas`, default 1).
fn replicated_progress(
    generation: Option<i64>,
    replicas: Option<i32>,
    status: Option<&ReplicaStatus>,
) -> Progress {
    let status = status.copied().unwrap_or_default();
    Progress {
        generation: generation.unwrap_or(0),
        observed_generation: status.observed_generation.unwrap_or(0),
        replicas_done: counts_done(
            replicas.unwrap_or(1),
            status.updated_replicas,
            status.available_replicas,
            status.replicas,
        ),
    }
}

impl Watched for DeploymentView {
    fn progress(&self) -> Progress {
        let replicas = self.spec.as_ref().and_then(|s| s.replicas);
        replicated_progress(self.metadata.generation, replicas, self.status.as_ref())
    }
}

impl Watched for StatefulSetView {
    fn progress(&self) -> Progress {
        let replicas = self.spec.as_ref().and_then(|s| s.replicas);
        replicated_progress(self.metadata.generation, replicas, self.status.as_ref())
    }
}

impl Watched for DaemonSetView {
    fn progress(&self) -> Progress {
        let status = self.status.unwrap_or_default();
        Progress {
            generation: self.metadata.generation.unwrap_or(0),
            observed_generation: status.observed_generation.unwrap_or(0),
            replicas_done: counts_done(
                status.desired_number_scheduled.unwrap_or(0),
                status.updated_number_scheduled,
                status.number_available,
                Some(status.current_number_scheduled.unwrap_or(0)),
            ),
        }
    }
}

/// Reduce a workload to what the controller keeps.
pub fn observe<W: Watched>(object: &W, auto_all: bool) -> Observation {
    Observation {
        workload: object.workload_ref(),
        uid: Workload::meta(object).uid.clone(),
        follow: follow(object, auto_all),
        template_hash: object.template_hash().map(str::to_owned),
        observed_hash: object.observed_hash().map(str::to_owned),
        progress: object.progress(),
        labels: Workload::meta(object).labels.clone().unwrap_or_default(),
    }
}

/// Spawn the three workload watches for every namespace of `scope`.
pub fn spawn(
    client: &Client,
    scope: &Scope,
    input_tx: &mpsc::Sender<Input>,
    tasks: &mut JoinSet<()>,
) -> Vec<WatchId> {
    let mut watches = Vec::new();
    for namespace in scope.namespaces() {
        watches.push(spawn_one::<DeploymentView>(
            client,
            scope,
            namespace,
            "deployments",
            input_tx,
            tasks,
        ));
        watches.push(spawn_one::<StatefulSetView>(
            client,
            scope,
            namespace,
            "statefulsets",
            input_tx,
            tasks,
        ));
        watches.push(spawn_one::<DaemonSetView>(
            client,
            scope,
            namespace,
            "daemonsets",
            input_tx,
            tasks,
        ));
    }
    watches
}

fn spawn_one<W>(
    client: &Client,
    scope: &Scope,
    namespace: Option<&str>,
    plural: &'static str,
    input_tx: &mpsc::Sender<Input>,
    tasks: &mut JoinSet<()>,
) -> WatchId
where
    W: Watched
        + Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let id = WatchId::new(plural, namespace);
    let api: Api<W> = scope.api(client, namespace);
    let stream = watcher::watcher(api, scope.workload_config()).default_backoff();
    tasks.spawn(pump(id.clone(), stream, scope.auto_all, input_tx.clone()));
    id
}

async fn pump<W: Watched>(
    id: WatchId,
    stream: impl Stream<Item = Result<Event<W>, watcher::Error>>,
    auto_all: bool,
    input_tx: mpsc::Sender<Input>,
) {
    let mut stream = std::pin::pin!(stream);
    let mut known: HashSet<WorkloadRef> = HashSet::new();
    let mut listed: HashSet<WorkloadRef> = HashSet::new();
    while let Some(event) = stream.next().await {
        let inputs = match event {
            Ok(event) => translate(event, auto_all, &mut known, &mut listed, &id),
            Err(error) => {
                tracing::warn!(watch = %id, %error, "workload watch failed; retrying");
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

fn translate<W: Watched>(
    event: Event<W>,
    auto_all: bool,
    known: &mut HashSet<WorkloadRef>,
    listed: &mut HashSet<WorkloadRef>,
    id: &WatchId,
) -> Vec<Input> {
    match event {
        Event::Init => {
            listed.clear();
            Vec::new()
        }
        Event::InitApply(object) | Event::Apply(object) => {
            let observation = observe(&object, auto_all);
            listed.insert(observation.workload.clone());
            known.insert(observation.workload.clone());
            vec![Input::Workload(Box::new(observation))]
        }
        Event::Delete(object) => {
            let workload = object.workload_ref();
            known.remove(&workload);
            vec![Input::WorkloadDeleted(workload)]
        }
        Event::InitDone => {
            let gone: Vec<WorkloadRef> = known.difference(listed).cloned().collect();
            let mut inputs = Vec::with_capacity(gone.len() + 1);
            for workload in gone {
                known.remove(&workload);
                inputs.push(Input::WorkloadDeleted(workload));
            }
            // Not `clear`: that keeps the table, sized for the whole list, until the next relist.
            *listed = HashSet::new();
            inputs.push(Input::Synced(id.clone()));
            inputs
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mk_deployment(generation: i64, status: serde_json::Value) -> DeploymentView {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "prod", "generation": generation,
                "annotations": {"configsync.dev/auto": "true"}},
            "spec": {"replicas": 2, "selector": {}, "template": {"spec": {"containers": [
                {"name": "c", "envFrom": [{"configMapRef": {"name": "app"}}]}]}}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn progress_needs_the_latest_generation_and_all_replicas() {
        let done = json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2});
        assert!(mk_deployment(3, done.clone()).progress().is_complete_for(3));
        assert!(!mk_deployment(4, done).progress().is_complete_for(3));
        let surging = json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2});
        assert!(!mk_deployment(3, surging).progress().is_complete_for(3));
        let unavailable = json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1});
        assert!(!mk_deployment(3, unavailable).progress().is_complete_for(3));
    }

    #[test]
    fn observation_carries_policy_and_refs() {
        let observation = observe(&mk_deployment(1, json!({})), false);
        let followed = observation.follow.unwrap().unwrap();
        assert_eq!(followed.sources.len(), 1);
        assert_eq!(followed.sources[0].id.name, "app");
        assert_eq!(observation.template_hash, None);
    }
}
