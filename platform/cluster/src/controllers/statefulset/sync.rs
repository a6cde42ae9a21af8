//! The I/O shell of the StatefulSet controller; the steps shared with the other pod owners are in `pod_owner`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};

use super::{POD_INDEX_LABEL, POD_NAME_LABEL, RevisionNames, plan};
use crate::controllers::events::Recorder;
use crate::controllers::pod_owner::{self, Error};
use crate::controllers::pods::{self, controller_ref};
use crate::controllers::revision::{self, CONTROLLER_REVISION_HASH, Revisions};

/// How often an unfinished StatefulSet is looked at again (for minReadySeconds).
const RECHECK: Duration = Duration::from_secs(2);

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
    let (Some((namespace, uid)), Some(spec)) =
        (pod_owner::sync_target(sts.as_ref()), sts.spec.as_ref())
    else {
        return Ok(Action::await_change());
    };
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
    let owned = pod_owner::owned_pods(&pod_api, &uid).await?;
    let plan = plan(&sts, &owned, &names, pods::now());
    let create: Vec<Pod> = plan
        .create
        .iter()
        .filter_map(|(ordinal, revision)| build_pod(&sts, *ordinal, revision, &revisions))
        .collect();
    let recorder = Recorder::new(&client, sts.as_ref());
    pod_owner::sync_pods(&pod_api, &recorder, create, &plan.delete).await?;
    let mut in_use: Vec<&str> = owned
        .iter()
        .filter_map(|p| p.labels().get(CONTROLLER_REVISION_HASH))
        .map(String::as_str)
        .collect();
    in_use.extend([names.current.as_str(), names.update.as_str()]);
    let limit = spec.revision_history_limit;
    pod_owner::prune_revisions(&revision_api, &revisions.all, &in_use, limit).await;
    let api: Api<StatefulSet> = Api::namespaced((*client).clone(), &namespace);
    pod_owner::write_status(&api, &sts, sts.status.as_ref(), &plan.status).await?;
    let done = plan.status.update_revision == plan.status.current_revision
        && plan.status.available_replicas == spec.replicas.or(Some(1));
    Ok(pod_owner::requeue_unless(done, RECHECK))
}

/// Runs the StatefulSet controller until the task is aborted.
pub async fn run(client: Client) {
    pod_owner::run::<StatefulSet, Pod, _, _, _>(client, reconcile).await;
}
