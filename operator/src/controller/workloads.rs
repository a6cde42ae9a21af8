//! Deployment, StatefulSet, DaemonSet, CronJob and Argo Rollout watches, reduced in the watch task to an [`Observation`]
//! ([`crate::core::observation`]): the parsed policy and followed sources, the two hashes, and whether the
//! last rollout has finished.
//!
//! ```text
//!  watcher(kind view) ─► workload::follow + hashes + rollout progress ─► Input::Workload ─► controller loop
//! ```
//! The watcher decodes the lean views of [`crate::lean::workload`] (pod templates reduced while parsed,
//! no `managedFields`), so a list page holds a few hundred bytes per workload, not whole objects.
//! Rollout progress is read from status the way `kubectl rollout status` does: the controller has seen
//! the latest generation and every replica is updated and available. The fleet budget frees a slot when it is.
//!
//! Argo Rollouts are watched only when the API serves `argoproj.io/v1alpha1` `rollouts` (its CRD is
//! installed) when the operator starts; otherwise one log line says so and that watch counts as listed.
use std::collections::HashSet;

use futures::Stream;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Access, Input, Scope, WatchId};
pub use crate::core::observation::{Observation, Progress, Watched, observe};
use crate::lean::{CronJobView, DaemonSetView, DeploymentView, RolloutView, StatefulSetView};
use crate::workload::WorkloadRef;

/// What the workload watches and the apply need from the API.
pub const ACCESS: &[Access] = &[
    Access::new("apps", "deployments", &["list", "watch", "patch"]),
    Access::new("apps", "statefulsets", &["list", "watch", "patch"]),
    Access::new("apps", "daemonsets", &["list", "watch", "patch"]),
    Access::new("apps", "deployments/status", &["patch"]),
    Access::new("apps", "statefulsets/status", &["patch"]),
    Access::new("apps", "daemonsets/status", &["patch"]),
    Access::new("batch", "cronjobs", &["list", "watch", "patch"]),
    Access::new("argoproj.io", "rollouts", &["list", "watch", "patch"]),
];

/// Spawn the workload watches (one per kind of [`configsync_crds::WorkloadKind::ALL`]) for every namespace
/// of `scope`.
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
        watches.push(spawn_one::<CronJobView>(
            client, scope, namespace, "cronjobs", input_tx, tasks,
        ));
        watches.push(spawn_one::<RolloutView>(
            client, scope, namespace, "rollouts", input_tx, tasks,
        ));
    }
    watches
}

/// Whether the API serves `W` (a CRD-defined kind may be absent): `None` when discovery itself failed.
async fn served<W: Resource<DynamicType = ()>>(client: &Client) -> Option<bool> {
    let group_version = format!("{}/{}", W::group(&()), W::version(&()));
    match client.list_api_group_resources(&group_version).await {
        Ok(list) => Some(list.resources.iter().any(|r| r.name == W::plural(&()))),
        Err(kube::Error::Api(status)) if status.code == 404 => Some(false),
        Err(error) => {
            tracing::warn!(%group_version, %error, "discovery failed; watching anyway");
            None
        }
    }
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
    let (client, watch, auto_all, input_tx) =
        (client.clone(), id.clone(), scope.auto_all, input_tx.clone());
    let needs_crd = W::KIND.needs_crd();
    tasks.spawn(async move {
        if needs_crd && served::<W>(&client).await == Some(false) {
            tracing::info!(
                kind = %W::KIND, watch = %watch,
                "{} {}s are not served (is the CRD installed?); not following them until the operator restarts",
                W::group(&()), W::KIND
            );
            let _ = input_tx.send(Input::Synced(watch)).await;
            return;
        }
        pump(watch, stream, auto_all, input_tx).await;
    });
    id
}

async fn pump<W: Watched>(
    id: WatchId,
    stream: impl Stream<Item = Result<Event<W>, watcher::Error>>,
    auto_all: bool,
    input_tx: mpsc::Sender<Input>,
) {
    let (mut known, mut listed) = (HashSet::new(), HashSet::new());
    let watch = id.clone();
    let translate = move |event| translate(event, auto_all, &mut known, &mut listed, &watch);
    crate::controller::pump::pump(id, "workload", stream, translate, input_tx).await;
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
