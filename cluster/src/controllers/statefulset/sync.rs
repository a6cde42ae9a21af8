//! The I/O shell of the StatefulSet controller.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};

use super::{POD_INDEX_LABEL, POD_NAME_LABEL, RevisionNames, plan};
use crate::controllers::pods::{self, controller_ref};
use crate::controllers::revision::{self, CONTROLLER_REVISION_HASH, Revisions};
use crate::controllers::write::{self, CONTROLLER_MANAGER};

const DEFAULT_HISTORY_LIMIT: i32 = 10;
/// How often an unfinished StatefulSet is looked at again (for minReadySeconds).
const RECHECK: Duration = Duration::from_secs(2);

/// Failures of one StatefulSet sync.
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
    #[error("patching statefulset status: {0}")]
    PatchStatus(#[source] kube::Error),
}

fn build_pod(
    sts: &StatefulSet,
    ordinal: i32,
    revision: &str,
    revisions: &Revisions,
) -> Option<Pod> {
    let spec = sts.spec.as_ref()?;
    let stored = revisions
        .all
        .iter()
        .find(|r| r.name_any() == revision)
        .and_then(revision::stored_template);
    let template = stored.unwrap_or_else(|| spec.template.clone());
    let set_name = sts.metadata.name.as_deref()?;
    let uid = sts.metadata.uid.as_deref()?;
    let name = format!("{set_name}-{ordinal}");
    let index = ordinal.to_string();
    let extra = [
        (CONTROLLER_REVISION_HASH, revision),
        (POD_NAME_LABEL, name.as_str()),
        (POD_INDEX_LABEL, index.as_str()),
    ];
    let namespace = sts.metadata.namespace.as_deref().unwrap_or("default");
    let mut pod = pods::pod_from_template(
        &template,
        &name,
        namespace,
        controller_ref("StatefulSet", set_name, uid),
        &extra,
    );
    if let Some(pod_spec) = pod.spec.as_mut() {
        pod_spec.hostname = Some(name.clone());
        pod_spec.subdomain = spec.service_name.clone().filter(|s| !s.is_empty());
    }
    Some(pod)
}

async fn reconcile(sts: Arc<StatefulSet>, client: Arc<Client>) -> Result<Action, Error> {
    let (Some(namespace), Some(uid), Some(spec)) =
        (sts.namespace(), sts.metadata.uid.clone(), sts.spec.as_ref())
    else {
        return Ok(Action::await_change());
    };
    if pods::is_terminating(&sts.metadata) {
        return Ok(Action::await_change());
    }
    let revision_api: Api<ControllerRevision> = Api::namespaced((*client).clone(), &namespace);
    // The StatefulSet controller always hashes with a collision count (0 until a collision), and reports it.
    let collisions = Some(
        sts.status
            .as_ref()
            .and_then(|s| s.collision_count)
            .unwrap_or(0),
    );
    let ensured = revision::ensure_revision(
        &revision_api,
        "StatefulSet",
        &sts.metadata,
        &spec.template,
        collisions,
    )
    .await
    .map_err(Error::SyncRevisions)?;
    let Some(revisions) = ensured else {
        return Ok(Action::await_change());
    };
    let update = revisions.update.name_any();
    let current = sts
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .filter(|name| revisions.all.iter().any(|r| r.name_any() == *name))
        .unwrap_or_else(|| update.clone());
    let names = RevisionNames { current, update };
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
    let plan = plan(&sts, &owned, &names, pods::now());
    let params = PostParams {
        field_manager: Some(CONTROLLER_MANAGER.to_string()),
        ..PostParams::default()
    };
    for (ordinal, revision) in &plan.create {
        let Some(pod) = build_pod(&sts, *ordinal, revision, &revisions) else {
            continue;
        };
        match pod_api.create(&params, &pod).await {
            Err(error) if !write::is_already_exists(&error) => {
                return Err(Error::UpdatePod {
                    name: pod.name_any(),
                    source: error,
                });
            }
            _ => {}
        }
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
    let mut in_use: Vec<&str> = owned
        .iter()
        .filter_map(|p| p.labels().get(CONTROLLER_REVISION_HASH))
        .map(String::as_str)
        .collect();
    in_use.extend([names.current.as_str(), names.update.as_str()]);
    for name in revision::revisions_to_prune(&revisions.all, &in_use, limit) {
        // Pruning is housekeeping: a failure is retried on the next sync.
        if let Err(error) = write::delete_object(&revision_api, &name, None).await {
            tracing::debug!(%error, revision = %name, "pruning controllerrevision failed");
        }
    }
    if sts.status.as_ref() != Some(&plan.status) {
        let api: Api<StatefulSet> = Api::namespaced((*client).clone(), &namespace);
        let patch = write::status_patch(sts.status.as_ref(), &plan.status);
        write::patch_status(&api, &sts.name_any(), &patch, CONTROLLER_MANAGER)
            .await
            .map_err(Error::PatchStatus)?;
    }
    let done = plan.status.update_revision == plan.status.current_revision
        && plan.status.available_replicas == spec.replicas.or(Some(1));
    Ok(if done {
        Action::await_change()
    } else {
        Action::requeue(RECHECK)
    })
}

fn error_policy(_sts: Arc<StatefulSet>, error: &Error, _client: Arc<Client>) -> Action {
    tracing::debug!(%error, "statefulset sync failed; retrying");
    Action::requeue(crate::controllers::RETRY_AFTER)
}

/// Runs the StatefulSet controller until the task is aborted.
pub async fn run(client: Client) {
    Controller::new(
        Api::<StatefulSet>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Pod>::all(client.clone()), watcher::Config::default())
    .run(reconcile, error_policy, Arc::new(client))
    .for_each(|_| futures::future::ready(()))
    .await;
}
