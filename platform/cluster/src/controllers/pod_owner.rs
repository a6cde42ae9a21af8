//! The shared I/O shell of the controllers that own pods (ReplicaSet, StatefulSet, DaemonSet), and the runner of
//! every simulated workload controller.
//!
//! A pod owner's sync is always: list the pods it controls, ask its pure `plan`, create and delete pods, prune
//! old ControllerRevisions, write the status if it changed, and look again later unless the workload is done.
//! The steps that do not depend on the kind live here; each controller keeps only its plan and pod builder.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;

use super::events::Recorder;
use super::pods;
use super::revision;
use super::write::{self, CONTROLLER_MANAGER};

/// Failures of one sync of a pod-owning controller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listing or creating the ControllerRevisions failed.
    #[error("syncing controllerrevisions: {0}")]
    SyncRevisions(#[source] kube::Error),
    /// Listing the pods failed.
    #[error("listing pods: {0}")]
    ListPods(#[source] kube::Error),
    /// Creating a pod failed.
    #[error("creating pod {name}: {source}")]
    CreatePod { name: String, source: kube::Error },
    /// Deleting a pod failed.
    #[error("deleting pod {name}: {source}")]
    DeletePod { name: String, source: kube::Error },
    /// Writing the owner's status failed.
    #[error("patching {kind} status: {source}")]
    PatchStatus { kind: String, source: kube::Error },
}

/// The namespace and uid of a workload to sync; `None` for one that is being deleted (or malformed), which
/// the controllers leave to the garbage collector.
pub fn sync_target<K: Resource>(owner: &K) -> Option<(String, String)> {
    let meta = owner.meta();
    if pods::is_terminating(meta) {
        return None;
    }
    Some((meta.namespace.clone()?, meta.uid.clone()?))
}

/// The pods in `api`'s namespace controlled by the owner with `uid`.
pub async fn owned_pods(api: &Api<Pod>, uid: &str) -> Result<Vec<Pod>, Error> {
    let listed = api
        .list(&ListParams::default())
        .await
        .map_err(Error::ListPods)?;
    Ok(listed
        .items
        .into_iter()
        .filter(|pod| pods::is_controlled_by(&pod.metadata, uid))
        .collect())
}

/// Creates `create` (a pod that already exists counts as created) and deletes the pods named in `delete`,
/// recording `SuccessfulCreate`/`SuccessfulDelete` Events on the owner as the real controllers do.
pub async fn sync_pods(
    api: &Api<Pod>,
    recorder: &Recorder,
    create: impl IntoIterator<Item = Pod>,
    delete: &[String],
) -> Result<(), Error> {
    let params = PostParams {
        field_manager: Some(CONTROLLER_MANAGER.to_string()),
        ..PostParams::default()
    };
    for pod in create {
        let name = pod.name_any();
        match api.create(&params, &pod).await {
            Ok(_) => recorder.pod_created(&name).await,
            Err(error) if write::is_already_exists(&error) => {}
            Err(source) => return Err(Error::CreatePod { name, source }),
        }
    }
    for name in delete {
        write::delete_object(api, name, None)
            .await
            .map_err(|source| Error::DeletePod {
                name: name.clone(),
                source,
            })?;
        recorder.pod_deleted(name).await;
    }
    Ok(())
}

/// Deletes the revisions beyond `limit` that no pod uses. Pruning is housekeeping: a failure is retried on the
/// next sync.
pub async fn prune_revisions(
    api: &Api<ControllerRevision>,
    all: &[ControllerRevision],
    in_use: &[&str],
    limit: Option<i32>,
) {
    let limit = limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    for name in revision::revisions_to_prune(all, in_use, limit) {
        if let Err(error) = write::delete_object(api, &name, None).await {
            tracing::debug!(%error, revision = %name, "pruning controllerrevision failed");
        }
    }
}

/// `revisionHistoryLimit` when the spec leaves it out.
const DEFAULT_HISTORY_LIMIT: i32 = 10;

/// Writes `owner`'s status subresource when `new` differs from `old`, on condition that `owner` is unchanged
/// since it was read (409 Conflict otherwise, and the sync runs again on the fresh object).
pub async fn write_status<K, S>(
    api: &Api<K>,
    owner: &K,
    old: Option<&S>,
    new: &S,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize + PartialEq,
{
    if old == Some(new) {
        return Ok(());
    }
    let patch = write::if_unchanged(
        write::status_patch(old, new),
        owner.meta().resource_version.as_deref(),
    );
    write::patch_status(api, &owner.name_any(), &patch, CONTROLLER_MANAGER)
        .await
        .map_err(|source| Error::PatchStatus {
            kind: K::kind(&()).into_owned(),
            source,
        })
}

/// Done: wait for the next change; otherwise look again after `recheck` (for readiness and minReadySeconds).
pub fn requeue_unless(done: bool, recheck: Duration) -> Action {
    if done {
        Action::await_change()
    } else {
        Action::requeue(recheck)
    }
}

/// A sync that wrote over a change it had not seen (409 Conflict) runs again at once on the fresh object, as
/// kube-controller-manager's work queue does; any other failure after [`super::RETRY_AFTER`].
fn error_policy<K, E>(_owner: Arc<K>, error: &E, _client: Arc<Client>) -> Action
where
    K: Resource<DynamicType = ()>,
    E: std::error::Error + 'static,
{
    tracing::debug!(%error, kind = %K::kind(&()), "sync failed; retrying");
    if write::caused_by_conflict(error) {
        Action::requeue(CONFLICT_RETRY_AFTER)
    } else {
        Action::requeue(super::RETRY_AFTER)
    }
}

/// Delay before a sync whose write conflicted runs again (kube-controller-manager's work queue: 5 ms at first).
const CONFLICT_RETRY_AFTER: Duration = Duration::from_millis(5);

/// Runs a kube-runtime `Controller` over every `K`, woken by the `C` objects it owns, until the task is aborted.
/// Failed syncs are retried after [`super::RETRY_AFTER`].
pub async fn run<K, C, E, F, Fut>(client: Client, reconcile: F)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    C: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    E: std::error::Error + Send + 'static,
    F: FnMut(Arc<K>, Arc<Client>) -> Fut,
    Fut: Future<Output = Result<Action, E>> + Send + 'static,
{
    Controller::new(Api::<K>::all(client.clone()), watcher::Config::default())
        .owns(Api::<C>::all(client.clone()), watcher::Config::default())
        .run(reconcile, error_policy::<K, E>, Arc::new(client))
        .for_each(|_| futures::future::ready(()))
        .await;
}
