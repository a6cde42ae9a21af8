//! The StatefulSet controller: pods `<sts>-0..N-1` with stable names, created in order (OrderedReady: the next one
//! only when every lower one is Ready; Parallel: all at once), removed from the highest ordinal down, and replaced
//! one at a time in reverse ordinal order on a RollingUpdate (down to `partition`).
//!
//! Each pod carries `controller-revision-hash: <sts>-<hash>` naming the ControllerRevision of its template. The
//! status follows `updateStatefulSetStatus`: once every pod runs the update revision and is ready,
//! `currentRevision` becomes `updateRevision`, which is what `kubectl rollout status sts/x` waits for.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use super::pods;
use super::revision::CONTROLLER_REVISION_HASH;

/// Label with the pod's name, set on every StatefulSet pod.
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Label with the pod's ordinal.
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// What one sync of a StatefulSet should do.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Pods to create: (ordinal, revision name).
    pub create: Vec<(i32, String)>,
    /// Names of pods to delete.
    pub delete: Vec<String>,
    /// The status to report.
    pub status: StatefulSetStatus,
}

/// The revisions a sync works with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionNames {
    /// `status.currentRevision`, or the update revision for a new StatefulSet.
    pub current: String,
    /// The revision of the current template.
    pub update: String,
}

/// The ordinal of a pod named `<sts>-<n>`.
pub fn ordinal(set_name: &str, pod_name: &str) -> Option<i32> {
    pod_name
        .strip_prefix(set_name)?
        .strip_prefix('-')?
        .parse()
        .ok()
        .filter(|n| *n >= 0)
}

fn revision_of(pod: &Pod) -> Option<&str> {
    pod.labels()
        .get(CONTROLLER_REVISION_HASH)
        .map(String::as_str)
}

struct Settings {
    replicas: i32,
    parallel: bool,
    rolling: bool,
    partition: i32,
    min_ready: i32,
}

fn settings(sts: &StatefulSet) -> Settings {
    let spec = sts.spec.as_ref();
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    Settings {
        replicas: spec.and_then(|s| s.replicas).unwrap_or(1).max(0),
        parallel: spec.and_then(|s| s.pod_management_policy.as_deref()) == Some("Parallel"),
        rolling: strategy.and_then(|s| s.type_.as_deref()) != Some("OnDelete"),
        partition: strategy
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.partition)
            .unwrap_or(0),
        min_ready: spec.and_then(|s| s.min_ready_seconds).unwrap_or(0),
    }
}

/// The pods to create or delete and the status for `sts`, given the pods it controls.
pub fn plan(sts: &StatefulSet, owned: &[Pod], revisions: &RevisionNames, now: Timestamp) -> Plan {
    let set = settings(sts);
    let name = sts.name_any();
    let by_ordinal: BTreeMap<i32, &Pod> = owned
        .iter()
        .filter_map(|p| ordinal(&name, &p.name_any()).map(|n| (n, p)))
        .collect();
    let healthy = |pod: &Pod| pods::is_ready(pod) && !pods::is_terminating(&pod.metadata);
    let mut create = Vec::new();
    let mut delete = Vec::new();
    let mut blocked = false;
    for n in 0..set.replicas {
        match by_ordinal.get(&n) {
            None if !blocked => {
                let revision = if n < set.partition {
                    &revisions.current
                } else {
                    &revisions.update
                };
                create.push((n, revision.clone()));
                blocked = !set.parallel;
            }
            Some(pod) if !healthy(pod) => blocked |= !set.parallel,
            _ => {}
        }
    }
    let settled = create.is_empty()
        && (0..set.replicas).all(|n| by_ordinal.get(&n).is_some_and(|p| healthy(p)));
    let condemned: Vec<&Pod> = by_ordinal
        .range(set.replicas..)
        .rev()
        .map(|(_, p)| *p)
        .collect();
    let live_condemned: Vec<&Pod> = condemned
        .iter()
        .copied()
        .filter(|p| !pods::is_terminating(&p.metadata))
        .collect();
    if set.parallel {
        delete.extend(live_condemned.iter().map(|p| p.name_any()));
    } else if settled && live_condemned.len() == condemned.len() {
        delete.extend(live_condemned.first().map(|p| p.name_any()));
    }
    if set.rolling && settled && condemned.is_empty() {
        let stale = by_ordinal
            .range(set.partition.max(0)..set.replicas)
            .rev()
            .find(|(_, p)| revision_of(p) != Some(revisions.update.as_str()));
        delete.extend(stale.map(|(_, p)| p.name_any()));
    }
    Plan {
        create,
        delete,
        status: status(sts, owned, revisions, &set, now),
    }
}

fn status(
    sts: &StatefulSet,
    owned: &[Pod],
    revisions: &RevisionNames,
    set: &Settings,
    now: Timestamp,
) -> StatefulSetStatus {
    let active: Vec<&Pod> = owned.iter().filter(|p| pods::is_active(p)).collect();
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(active.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let replicas = count(&|_| true);
    let ready = count(&|p| pods::is_ready(p));
    let available = count(&|p| pods::is_available(p, set.min_ready, now));
    let updated = count(&|p| revision_of(p) == Some(revisions.update.as_str()));
    let mut current_revision = revisions.current.clone();
    let mut current = count(&|p| revision_of(p) == Some(revisions.current.as_str()));
    if set.rolling && updated == replicas && ready == replicas && replicas == set.replicas {
        current_revision = revisions.update.clone();
        current = updated;
    }
    let old = sts.status.clone().unwrap_or_default();
    StatefulSetStatus {
        observed_generation: sts.metadata.generation,
        replicas,
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        current_replicas: Some(current),
        updated_replicas: Some(updated),
        current_revision: Some(current_revision),
        update_revision: Some(revisions.update.clone()),
        collision_count: Some(old.collision_count.unwrap_or(0)),
        conditions: old.conditions,
    }
}

mod sync;
pub use super::pod_owner::Error;
pub use sync::run;

#[cfg(test)]
#[path = "tests/statefulset.rs"]
mod tests;
