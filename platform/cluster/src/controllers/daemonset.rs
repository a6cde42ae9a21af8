//! The DaemonSet controller for a cluster of one node (`configsync-node`): one pod per DaemonSet, replaced on a
//! RollingUpdate (delete then create with `maxSurge: 0`, create then delete once the new pod is available with
//! `maxSurge` > 0), left alone with OnDelete.
//!
//! Pods are named `<ds>-<5 safe characters>` and labelled `controller-revision-hash: <hash>` and
//! `pod-template-generation: <generation>`. The status has `desiredNumberScheduled: 1`, so that
//! `kubectl rollout status ds/x` completes once the updated pod is available.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::pods;
use super::revision::CONTROLLER_REVISION_HASH;
use super::rolling::scaled_value;

/// Label with the DaemonSet generation a pod was created from.
pub const POD_TEMPLATE_GENERATION: &str = "pod-template-generation";

/// What one sync of a DaemonSet should do.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Whether to create a pod of the update revision.
    pub create: bool,
    /// Names of pods to delete.
    pub delete: Vec<String>,
    /// The status to report.
    pub status: DaemonSetStatus,
}

fn is_updated(pod: &Pod, hash: &str) -> bool {
    pod.labels()
        .get(CONTROLLER_REVISION_HASH)
        .map(String::as_str)
        == Some(hash)
}

/// (rolling update?, surge allowed?, minReadySeconds) with Kubernetes' defaults (RollingUpdate, maxSurge 0).
fn settings(ds: &DaemonSet) -> (bool, bool, i32) {
    let spec = ds.spec.as_ref();
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    let rolling = strategy.and_then(|s| s.type_.as_deref()) != Some("OnDelete");
    let surge = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.max_surge.clone())
        .unwrap_or(IntOrString::Int(0));
    (
        rolling,
        scaled_value(&surge, 1, true) > 0,
        spec.and_then(|s| s.min_ready_seconds).unwrap_or(0),
    )
}

/// The pod to create or delete and the status for `ds` on the one node, given the pods it controls and the hash
/// of its current template.
pub fn plan(ds: &DaemonSet, owned: &[Pod], hash: &str, now: Timestamp) -> Plan {
    let (rolling, surge, min_ready) = settings(ds);
    let mut active: Vec<&Pod> = owned.iter().filter(|p| pods::is_active(p)).collect();
    // Oldest first, so duplicates are trimmed from the newest.
    active.sort_by_key(|p| (pods::created(&p.metadata), p.name_any()));
    let (updated, old): (Vec<&Pod>, Vec<&Pod>) = active.iter().partition(|p| is_updated(p, hash));
    let terminating = owned.iter().any(|p| pods::is_terminating(&p.metadata));
    let mut create = false;
    let mut delete: Vec<String> = Vec::new();
    if active.is_empty() {
        create = !terminating || surge;
    } else if rolling && !old.is_empty() {
        if !surge {
            delete.extend(old.iter().map(|p| p.name_any()));
        } else if updated.is_empty() {
            create = true;
        } else if updated
            .iter()
            .any(|p| pods::is_available(p, min_ready, now))
        {
            delete.extend(old.iter().map(|p| p.name_any()));
        }
    }
    // More than one pod of the update revision: keep the oldest.
    delete.extend(updated.iter().skip(1).map(|p| p.name_any()));
    Plan {
        create,
        delete,
        status: status(ds, &active, hash, min_ready, now),
    }
}

fn status(
    ds: &DaemonSet,
    active: &[&Pod],
    hash: &str,
    min_ready: i32,
    now: Timestamp,
) -> DaemonSetStatus {
    let flag = |any: bool| i32::from(any);
    let available = flag(active.iter().any(|p| pods::is_available(p, min_ready, now)));
    let old = ds.status.clone().unwrap_or_default();
    DaemonSetStatus {
        desired_number_scheduled: 1,
        current_number_scheduled: flag(!active.is_empty()),
        number_misscheduled: 0,
        number_ready: flag(active.iter().any(|p| pods::is_ready(p))),
        number_available: Some(available),
        number_unavailable: Some(1 - available),
        updated_number_scheduled: Some(flag(active.iter().any(|p| is_updated(p, hash)))),
        observed_generation: ds.metadata.generation,
        collision_count: old.collision_count,
        conditions: old.conditions,
    }
}

mod sync;
pub use super::pod_owner::Error;
pub use sync::run;

#[cfg(test)]
#[path = "tests/daemonset.rs"]
mod tests;
