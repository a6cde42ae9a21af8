//! The I/O shell of the DaemonSet controller; the steps shared with the other pod owners are in `pod_owner`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};

use super::{POD_TEMPLATE_GENERATION, plan};
use crate::controllers::events::Recorder;
use crate::controllers::hash::random_suffix;
use crate::controllers::pod_owner::{self, Error};
use crate::controllers::pods::{self, controller_ref};
use crate::controllers::revision::{self, CONTROLLER_REVISION_HASH};

/// How often an unfinished DaemonSet is looked at again (for minReadySeconds).
const RECHECK: Duration = Duration::from_secs(2);

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
    let (Some((namespace, uid)), Some(spec)) =
        (pod_owner::sync_target(ds.as_ref()), ds.spec.as_ref())
    else {
        return Ok(Action::await_change());
    };
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
    let owned = pod_owner::owned_pods(&pod_api, &uid).await?;
    let plan = plan(&ds, &owned, &hash, pods::now());
    let create = build_pod(&ds, &hash).filter(|_| plan.create);
    let recorder = Recorder::new(&client, ds.as_ref());
    pod_owner::sync_pods(&pod_api, &recorder, create, &plan.delete).await?;
    let update_name = revisions.update.name_any();
    let limit = spec.revision_history_limit;
    pod_owner::prune_revisions(
        &revision_api,
        &revisions.all,
        &[update_name.as_str()],
        limit,
    )
    .await;
    let api: Api<DaemonSet> = Api::namespaced((*client).clone(), &namespace);
    pod_owner::write_status(&api, &ds, ds.status.as_ref(), &plan.status).await?;
    let done =
        plan.status.number_available == Some(1) && plan.status.updated_number_scheduled == Some(1);
    Ok(pod_owner::requeue_unless(done, RECHECK))
}

/// Runs the DaemonSet controller until the task is aborted.
pub async fn run(client: Client) {
    pod_owner::run::<DaemonSet, Pod, _, _, _>(client, reconcile).await;
}
