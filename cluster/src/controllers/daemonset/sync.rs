//! The I/O shell of the DaemonSet controller.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};

use super::{POD_TEMPLATE_GENERATION, plan};
use crate::controllers::hash::random_suffix;
use crate::controllers::pods::{self, controller_ref};
use crate::controllers::revision::{self, CONTROLLER_REVISION_HASH};
use crate::controllers::write::{self, CONTROLLER_MANAGER};

const DEFAULT_HISTORY_LIMIT: i32 = 10;
/// How often an unfinished DaemonSet is looked at again (for minReadySeconds).
const RECHECK: Duration = Duration::from_secs(2);

/// Failures of one DaemonSet sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listing or creating the ControllerRevisions failed.
    #[error("syncing controllerrevisions: {0}")]
    SyncRevisions(#[source] kube::Error),
    /// Listing the pods failed.
    #[error("listing pods: {0}")]
    ListPods(#[source] kube::Error),
    /// Creating or deleting a pod failed.
    #[error("updating pod {name}: {source}")]
    UpdatePod { name: String, source: kube::Error },
    /// Writing the status failed.
    #[error("patching daemonset status: {0}")]
    PatchStatus(#[source] kube::Error),
}

fn build_pod(ds: &DaemonSet, hash: &str) -> Option<Pod> {
    let spec = ds.spec.as_ref()?;
    let name = ds.metadata.name.as_deref()?;
    let uid = ds.metadata.uid.as_deref()?;
    let generation = ds.metadata.generation.unwrap_or(1).to_string();
    let extra = [
        (CONTROLLER_REVISION_HASH, hash),
        (POD_TEMPLATE_GENERATION, generation.as_str()),
    ];
    let namespace = ds.metadata.namespace.as_deref().unwrap_or("default");
    let pod_name = format!("{name}-{}", random_suffix(5));
    let owner = controller_ref("DaemonSet", name, uid);
    let mut pod = pods::pod_from_template(&spec.template, &pod_name, namespace, owner, &extra);
    pod.metadata.generate_name = Some(format!("{name}-"));
    Some(pod)
}

async fn reconcile(ds: Arc<DaemonSet>, client: Arc<Client>) -> Result<Action, Error> {
    let (Some(namespace), Some(uid), Some(spec)) =
        (ds.namespace(), ds.metadata.uid.clone(), ds.spec.as_ref())
    else {
        return Ok(Action::await_change());
    };
    if pods::is_terminating(&ds.metadata) {
        return Ok(Action::await_change());
    }
    let revision_api: Api<ControllerRevision> = Api::namespaced((*client).clone(), &namespace);
    let collisions = ds.status.as_ref().and_then(|s| s.collision_count);
    let ensured = revision::ensure_revision(
        &revision_api,
        "DaemonSet",
        &ds.metadata,
        &spec.template,
        collisions,
    )
    .await
    .map_err(Error::SyncRevisions)?;
    let Some(revisions) = ensured else {
        return Ok(Action::await_change());
    };
    let Some(hash) = revision::hash_of(&revisions.update) else {
        return Ok(Action::await_change());
    };
    let pod_api: Api<Pod> = Api::namespaced((*client).clone(), &namespace);
    let listed = pod_api
        .list(&ListParams::default())
        .await
        .map_err(Error::ListPods)?;
    let owned: Vec<Pod> = listed
        .items
        .into_iter()
        .filter(|p| pods::is_controlled_by(&p.metadata, &uid))
        .collect();
    let plan = plan(&ds, &owned, &hash, pods::now());
    if let Some(pod) = build_pod(&ds, &hash).filter(|_| plan.create) {
        let params = PostParams {
            field_manager: Some(CONTROLLER_MANAGER.to_string()),
            ..PostParams::default()
        };
        pod_api
            .create(&params, &pod)
            .await
            .map_err(|source| Error::UpdatePod {
                name: pod.name_any(),
                source,
            })?;
    }
    for name in &plan.delete {
        write::delete_object(&pod_api, name, None)
            .await
            .map_err(|source| Error::UpdatePod {
                name: name.clone(),
                source,
            })?;
    }
    let limit = spec.revision_history_limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    let update_name = revisions.update.name_any();
    for name in revision::revisions_to_prune(&revisions.all, &[update_name.as_str()], limit) {
        if let Err(error) = write::delete_object(&revision_api, &name, None).await {
            tracing::debug!(%error, revision = %name, "pruning controllerrevision failed");
        }
    }
    if ds.status.as_ref() != Some(&plan.status) {
        let api: Api<DaemonSet> = Api::namespaced((*client).clone(), &namespace);
        let patch = write::status_patch(ds.status.as_ref(), &plan.status);
        write::patch_status(&api, &ds.name_any(), &patch, CONTROLLER_MANAGER)
            .await
            .map_err(Error::PatchStatus)?;
    }
    let done =
        plan.status.number_available == Some(1) && plan.status.updated_number_scheduled == Some(1);
    Ok(if done {
        Action::await_change()
    } else {
        Action::requeue(RECHECK)
    })
}

fn error_policy(_ds: Arc<DaemonSet>, error: &Error, _client: Arc<Client>) -> Action {
    tracing::debug!(%error, "daemonset sync failed; retrying");
    Action::requeue(crate::controllers::RETRY_AFTER)
}

/// Runs the DaemonSet controller until the task is aborted.
pub async fn run(client: Client) {
    Controller::new(
        Api::<DaemonSet>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Pod>::all(client.clone()), watcher::Config::default())
    .run(reconcile, error_policy, Arc::new(client))
    .for_each(|_| futures::future::ready(()))
    .await;
}
