//! The I/O shell of the Deployment controller: read, decide with the pure functions of the parent module, write.

use super::*;
use crate::controllers::events::Recorder;
use crate::controllers::pod_owner;

/// Failures of one Deployment sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listing the ReplicaSets of the Deployment's namespace failed.
    #[error("listing replicasets: {0}")]
    ListReplicaSets(#[source] kube::Error),
    /// Creating the new ReplicaSet failed.
    #[error("creating replicaset: {0}")]
    CreateReplicaSet(#[source] kube::Error),
    /// Scaling, annotating or deleting a ReplicaSet failed.
    #[error("updating replicaset {name}: {source}")]
    UpdateReplicaSet { name: String, source: kube::Error },
    /// Writing the Deployment's status or revision failed.
    #[error("updating deployment: {0}")]
    UpdateDeployment(#[source] kube::Error),
}

struct Apis {
    deployments: Api<Deployment>,
    replicasets: Api<ReplicaSet>,
    recorder: Recorder,
}

async fn reconcile(deployment: Arc<Deployment>, client: Arc<Client>) -> Result<Action, Error> {
    let Some((namespace, uid)) = pod_owner::sync_target(deployment.as_ref()) else {
        return Ok(Action::await_change());
    };
    let apis = Apis {
        deployments: Api::namespaced((*client).clone(), &namespace),
        replicasets: Api::namespaced((*client).clone(), &namespace),
        recorder: Recorder::new(&client, deployment.as_ref()),
    };
    let listed = apis
        .replicasets
        .list(&ListParams::default())
        .await
        .map_err(Error::ListReplicaSets)?;
    let owned = listed
        .items
        .into_iter()
        .filter(|rs| pods::is_controlled_by(&rs.metadata, &uid))
        .collect();
    let (new, old) = split_replicasets(&deployment, owned);
    let paused = deployment
        .spec
        .as_ref()
        .and_then(|s| s.paused)
        .unwrap_or(false);
    let (new, event) = match new {
        Some(rs) => (
            Some(sync_revision(&apis, &rs, &old).await?),
            RolloutEvent::FoundNewReplicaSet,
        ),
        None if paused => (None, RolloutEvent::None),
        None => match create_new(&apis, &deployment, &old).await? {
            Some(rs) => (Some(rs), RolloutEvent::CreatedNewReplicaSet),
            None => (None, RolloutEvent::None),
        },
    };
    let strategy = dstatus::strategy(&deployment);
    let replicas = dstatus::desired_replicas(&deployment);
    let steps = match &new {
        _ if paused => scale_while_paused(replicas, new.as_ref(), &old),
        Some(rs) if event != RolloutEvent::CreatedNewReplicaSet => {
            let states: Vec<RsState> = old.iter().map(rs_state).collect();
            rolling::plan_rollout(&strategy, replicas, &rs_state(rs), &states)
        }
        None if strategy == Strategy::Recreate => scale_down_before_create(&old),
        _ => Vec::new(),
    };
    let mut all = old.clone();
    all.extend(new.clone());
    scale(&apis, &deployment, &all, &steps).await?;
    let status = dstatus::compute_status(&deployment, new.as_ref(), &all, event, pods::now());
    let complete = dstatus::is_complete(&deployment, &status);
    if steps.is_empty() && complete {
        for name in history_to_delete(&deployment, &old) {
            write::delete_object(&apis.replicasets, &name, None)
                .await
                .map_err(|source| Error::UpdateReplicaSet {
                    name: name.clone(),
                    source,
                })?;
        }
    }
    write_deployment(&apis, &deployment, new.as_ref(), &status).await?;
    Ok(if complete {
        Action::await_change()
    } else {
        Action::requeue(PROGRESS_CHECK)
    })
}

/// Scales ReplicaSets by `steps`, recording `ScalingReplicaSet` for each as the deployment controller does.
async fn scale(
    apis: &Apis,
    deployment: &Deployment,
    all: &[ReplicaSet],
    steps: &[Scale],
) -> Result<(), Error> {
    for step in steps {
        let patch = scale_patch(deployment, step.replicas);
        write::patch_object(&apis.replicasets, &step.name, &patch, CONTROLLER_MANAGER)
            .await
            .map_err(|source| Error::UpdateReplicaSet {
                name: step.name.clone(),
                source,
            })?;
        let from = all
            .iter()
            .find(|rs| rs.name_any() == step.name)
            .map_or(0, |rs| rs_state(rs).replicas);
        apis.recorder.scaled(&step.name, from, step.replicas).await;
    }
    Ok(())
}

/// Creates the ReplicaSet for the current template; `None` when Recreate must drain the old pods first.
async fn create_new(
    apis: &Apis,
    deployment: &Deployment,
    old: &[ReplicaSet],
) -> Result<Option<ReplicaSet>, Error> {
    let Some(replicas) = initial_replicas(deployment, old) else {
        return Ok(None);
    };
    let next_revision = old
        .iter()
        .map(|rs| revision(&rs.metadata))
        .max()
        .unwrap_or(0)
        + 1;
    let Some(rs) = build_new_replicaset(deployment, next_revision, replicas) else {
        return Ok(None);
    };
    let params = PostParams {
        field_manager: Some(CONTROLLER_MANAGER.to_string()),
        ..PostParams::default()
    };
    match apis.replicasets.create(&params, &rs).await {
        Ok(created) => {
            apis.recorder.scaled(&created.name_any(), 0, replicas).await;
            Ok(Some(created))
        }
        Err(error) if write::is_already_exists(&error) => {
            // A ReplicaSet of that name with another template: hash again with a bumped collision count.
            let collisions = deployment
                .status
                .as_ref()
                .and_then(|s| s.collision_count)
                .unwrap_or(0)
                + 1;
            let patch = write::if_unchanged(
                json!({"status": {"collisionCount": collisions}}),
                deployment.metadata.resource_version.as_deref(),
            );
            let name = deployment.name_any();
            write::patch_status(&apis.deployments, &name, &patch, CONTROLLER_MANAGER)
                .await
                .map_err(Error::UpdateDeployment)?;
            Err(Error::CreateReplicaSet(error))
        }
        Err(error) => Err(Error::CreateReplicaSet(error)),
    }
}

/// A template rolled back to an old ReplicaSet makes that ReplicaSet the newest revision again.
async fn sync_revision(
    apis: &Apis,
    rs: &ReplicaSet,
    old: &[ReplicaSet],
) -> Result<ReplicaSet, Error> {
    let max_old = old
        .iter()
        .map(|rs| revision(&rs.metadata))
        .max()
        .unwrap_or(0);
    if revision(&rs.metadata) > max_old {
        return Ok(rs.clone());
    }
    let next = (max_old + 1).to_string();
    let patch = json!({"metadata": {"annotations": {REVISION: next}}});
    let name = rs.name_any();
    write::patch_object(&apis.replicasets, &name, &patch, CONTROLLER_MANAGER)
        .await
        .map_err(|source| Error::UpdateReplicaSet { name, source })?;
    let mut updated = rs.clone();
    updated.annotations_mut().insert(REVISION.to_string(), next);
    Ok(updated)
}

async fn write_deployment(
    apis: &Apis,
    deployment: &Deployment,
    new: Option<&ReplicaSet>,
    status: &k8s_openapi::api::apps::v1::DeploymentStatus,
) -> Result<(), Error> {
    let name = deployment.name_any();
    let mut patch = if deployment.status.as_ref() != Some(status) {
        write::status_patch(deployment.status.as_ref(), status)
    } else {
        json!({})
    };
    // kube-controller-manager records the revision through the status subresource (UpdateStatus), which a
    // Deployment's status strategy lets through without bumping the generation.
    let wanted = new.map(|rs| revision(&rs.metadata)).filter(|r| *r > 0);
    if let Some(wanted) = wanted.filter(|r| *r != revision(&deployment.metadata)) {
        patch["metadata"] = json!({"annotations": {REVISION: wanted.to_string()}});
    }
    if patch != json!({}) {
        // UpdateStatus with the resourceVersion read: a conflict, and the sync runs again on the fresh object.
        let patch = write::if_unchanged(patch, deployment.metadata.resource_version.as_deref());
        write::patch_status(&apis.deployments, &name, &patch, CONTROLLER_MANAGER)
            .await
            .map_err(Error::UpdateDeployment)?;
    }
    Ok(())
}

/// Runs the Deployment controller until the task is aborted.
pub async fn run(client: Client) {
    pod_owner::run::<Deployment, ReplicaSet, _, _, _>(client, reconcile).await;
}
