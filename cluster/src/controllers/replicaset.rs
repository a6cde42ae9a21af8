//! The ReplicaSet controller: keeps `spec.replicas` active pods controlled by each ReplicaSet and reports
//! `status.{replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration}`.
//!
//! [`plan`] is the pure decision (how many pods to create, which to delete, the status); [`run`] is the thin loop:
//! a kube-runtime `Controller` over ReplicaSets that owns Pods, listing the pods on each reconcile.
//! Pods are named `<replicaset>-<5 safe characters>`. Extra pods are deleted not-ready first, then unscheduled,
//! then the newest (`controller.ActivePodsWithRanks`, simplified).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};

use super::hash::random_suffix;
use super::pods::{self, controller_ref};
use super::write::{self, CONTROLLER_MANAGER};

/// What one sync of a ReplicaSet should do.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// How many pods to create.
    pub create: usize,
    /// Names of pods to delete.
    pub delete: Vec<String>,
    /// The status to report.
    pub status: ReplicaSetStatus,
    /// When to look again because a ready pod becomes available (minReadySeconds).
    pub recheck_after: Option<Duration>,
}

/// Deletion rank: lower goes first. Unscheduled, then pending, then not ready, then the most recently created.
fn deletion_rank(pod: &Pod) -> (bool, u8, bool, std::cmp::Reverse<Timestamp>) {
    let scheduled = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_ref())
        .is_some();
    let phase = match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Running") => 2,
        Some("Pending") | None => 0,
        _ => 1,
    };
    (
        scheduled,
        phase,
        pods::is_ready(pod),
        std::cmp::Reverse(pods::created(&pod.metadata)),
    )
}

/// The pods to create or delete and the status for `rs`, given the pods it controls.
pub fn plan(rs: &ReplicaSet, owned: &[Pod], now: Timestamp) -> Plan {
    let spec = rs.spec.as_ref();
    let wanted = spec.and_then(|s| s.replicas).unwrap_or(1).max(0);
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let mut active: Vec<&Pod> = owned.iter().filter(|pod| pods::is_active(pod)).collect();
    let count = i32::try_from(active.len()).unwrap_or(i32::MAX);
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .map(|t| pods::template_labels(t, &[]))
        .unwrap_or_default();
    let fully_labeled = active
        .iter()
        .filter(|pod| {
            let labels = pod.metadata.labels.clone().unwrap_or_default();
            template_labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        })
        .count();
    let ready = active.iter().filter(|pod| pods::is_ready(pod)).count();
    let available = active
        .iter()
        .filter(|pod| pods::is_available(pod, min_ready, now))
        .count();
    let recheck_after = active
        .iter()
        .filter_map(|pod| pods::available_at(pod, min_ready, now))
        .min()
        .and_then(|at| Duration::try_from(at.duration_since(now)).ok());
    let as_i32 = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let status = ReplicaSetStatus {
        replicas: count,
        fully_labeled_replicas: Some(as_i32(fully_labeled)),
        ready_replicas: Some(as_i32(ready)),
        available_replicas: Some(as_i32(available)),
        observed_generation: rs.metadata.generation,
        conditions: rs.status.as_ref().and_then(|s| s.conditions.clone()),
        terminating_replicas: None,
    };
    active.sort_by_key(|pod| deletion_rank(pod));
    let excess = usize::try_from(count - wanted).unwrap_or(0);
    Plan {
        create: usize::try_from(wanted - count).unwrap_or(0),
        delete: active
            .iter()
            .take(excess)
            .filter_map(|pod| pod.metadata.name.clone())
            .collect(),
        status,
        recheck_after,
    }
}

/// A new pod for `rs`: its template, a generated name, and the controller reference.
pub fn new_pod(rs: &ReplicaSet) -> Option<Pod> {
    let template = rs.spec.as_ref()?.template.as_ref()?;
    let name = rs.metadata.name.as_deref()?;
    let uid = rs.metadata.uid.as_deref()?;
    let pod_name = format!("{name}-{}", random_suffix(5));
    let namespace = rs.metadata.namespace.as_deref().unwrap_or("default");
    let owner = controller_ref("ReplicaSet", name, uid);
    let mut pod = pods::pod_from_template(template, &pod_name, namespace, owner, &[]);
    // The real controller sends only `generateName`; the name is chosen here so that a retried create cannot
    // produce a second pod, and `generateName` is kept for fidelity.
    pod.metadata.generate_name = Some(format!("{name}-"));
    Some(pod)
}

// === I/O ===

/// Failures of one ReplicaSet sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listing the pods of the ReplicaSet's namespace failed.
    #[error("listing pods: {0}")]
    ListPods(#[source] kube::Error),
    /// Creating a pod failed.
    #[error("creating a pod: {0}")]
    CreatePod(#[source] kube::Error),
    /// Deleting a pod failed.
    #[error("deleting pod {name}: {source}")]
    DeletePod { name: String, source: kube::Error },
    /// Writing the ReplicaSet status failed.
    #[error("patching replicaset status: {0}")]
    PatchStatus(#[source] kube::Error),
}

async fn reconcile(rs: Arc<ReplicaSet>, client: Arc<Client>) -> Result<Action, Error> {
    let (Some(namespace), Some(uid)) = (rs.namespace(), rs.metadata.uid.clone()) else {
        return Ok(Action::await_change());
    };
    if pods::is_terminating(&rs.metadata) {
        return Ok(Action::await_change());
    }
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
    let plan = plan(&rs, &owned, Timestamp::now());
    let params = PostParams {
        field_manager: Some(CONTROLLER_MANAGER.to_string()),
        ..PostParams::default()
    };
    for pod in (0..plan.create).filter_map(|_| new_pod(&rs)) {
        match pod_api.create(&params, &pod).await {
            Err(error) if write::is_already_exists(&error) => {}
            other => drop(other.map_err(Error::CreatePod)?),
        }
    }
    for name in &plan.delete {
        write::delete_object(&pod_api, name, None)
            .await
            .map_err(|source| Error::DeletePod {
                name: name.clone(),
                source,
            })?;
    }
    if rs.status.as_ref() != Some(&plan.status) {
        let api: Api<ReplicaSet> = Api::namespaced((*client).clone(), &namespace);
        let patch = write::status_patch(rs.status.as_ref(), &plan.status);
        write::patch_status(&api, &rs.name_any(), &patch, CONTROLLER_MANAGER)
            .await
            .map_err(Error::PatchStatus)?;
    }
    Ok(plan
        .recheck_after
        .map_or_else(Action::await_change, Action::requeue))
}

fn error_policy(_rs: Arc<ReplicaSet>, error: &Error, _client: Arc<Client>) -> Action {
    tracing::debug!(%error, "replicaset sync failed; retrying");
    Action::requeue(super::RETRY_AFTER)
}

/// Runs the ReplicaSet controller until the task is aborted.
pub async fn run(client: Client) {
    Controller::new(
        Api::<ReplicaSet>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(Api::<Pod>::all(client.clone()), watcher::Config::default())
    .run(reconcile, error_policy, Arc::new(client))
    .for_each(|_| futures::future::ready(()))
    .await;
}

#[cfg(test)]
#[path = "tests/replicaset.rs"]
mod tests;
