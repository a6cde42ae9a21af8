//! The ReplicaSet controller: keeps `spec.replicas` active pods controlled by each ReplicaSet and reports
//! `status.{replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration}`.
//!
//! [`plan`] is the pure decision (how many pods to create, which to delete, the status); [`run`] is the thin loop:
//! a kube-runtime `Controller` over ReplicaSets that owns Pods, listing the pods on each reconcile.
//! Pods are named `<replicaset>-<5 safe characters>`. Extra pods are deleted not-ready first, then unscheduled,
//! then the newest (`controller.ActivePodsWithRanks`, simplified).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;
use kube::runtime::controller::Action;

use super::events::Recorder;
use super::hash::random_suffix;
use super::pod_owner;
use super::pods::{self, controller_ref};

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
        // Pods being deleted, as kube-controller-manager v1.37 reports them (a pointer: 0 is written).
        terminating_replicas: Some(as_i32(
            owned
                .iter()
                .filter(|pod| pods::is_terminating(&pod.metadata))
                .count(),
        )),
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

pub use super::pod_owner::Error;

async fn reconcile(rs: Arc<ReplicaSet>, client: Arc<Client>) -> Result<Action, Error> {
    let Some((namespace, uid)) = pod_owner::sync_target(rs.as_ref()) else {
        return Ok(Action::await_change());
    };
    let pod_api: Api<Pod> = Api::namespaced((*client).clone(), &namespace);
    let owned = pod_owner::owned_pods(&pod_api, &uid).await?;
    let plan = plan(&rs, &owned, Timestamp::now());
    let recorder = Recorder::new(&client, rs.as_ref());
    let create: Vec<Pod> = (0..plan.create).filter_map(|_| new_pod(&rs)).collect();
    pod_owner::sync_pods(&pod_api, &recorder, create, &plan.delete).await?;
    let api: Api<ReplicaSet> = Api::namespaced((*client).clone(), &namespace);
    pod_owner::write_status(&api, &rs, rs.status.as_ref(), &plan.status).await?;
    Ok(plan
        .recheck_after
        .map_or_else(Action::await_change, Action::requeue))
}

/// Runs the ReplicaSet controller until the task is aborted.
pub async fn run(client: Client) {
    pod_owner::run::<ReplicaSet, Pod, _, _, _>(client, reconcile).await;
}

#[cfg(test)]
#[path = "tests/replicaset.rs"]
mod tests;
