//! Deployment status as `kube-controller-manager` computes it (`calculateStatus` and `syncRolloutStatus`), so that
//! `kubectl rollout status deployment/x` reports progress and finishes with "successfully rolled out".
//!
//! Counts come from the ReplicaSets: `replicas` and `updatedReplicas` are pods that exist, `readyReplicas` and
//! `availableReplicas` their ready/available subsets, `unavailableReplicas` is desired minus available. Conditions:
//! `Available` (`MinimumReplicasAvailable`) and `Progressing` (`NewReplicaSetCreated`, `FoundNewReplicaSet`,
//! `ReplicaSetUpdated`, `NewReplicaSetAvailable`, `ProgressDeadlineExceeded`) with the real messages.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::rolling::{self, Strategy};

/// Why the Progressing condition is being set outside the ordinary progress estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RolloutEvent {
    /// Nothing special happened in this sync.
    None,
    /// The new ReplicaSet was created in this sync.
    CreatedNewReplicaSet,
    /// The new ReplicaSet already existed but the Deployment had no Progressing condition.
    FoundNewReplicaSet,
}

/// The strategy of a Deployment, with Kubernetes' defaults (RollingUpdate 25%/25%).
pub fn strategy(deployment: &Deployment) -> Strategy {
    let strategy = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.strategy.as_ref());
    if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        return Strategy::Recreate;
    }
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
    let default = || IntOrString::String(rolling::DEFAULT_ROLLING_PERCENT.to_string());
    Strategy::RollingUpdate {
        max_surge: rolling
            .and_then(|r| r.max_surge.clone())
            .unwrap_or_else(default),
        max_unavailable: rolling
            .and_then(|r| r.max_unavailable.clone())
            .unwrap_or_else(default),
    }
}

/// `spec.replicas`, defaulting to 1.
pub fn desired_replicas(deployment: &Deployment) -> i32 {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.replicas)
        .unwrap_or(1)
}

fn rs_status(rs: &ReplicaSet) -> (i32, i32, i32) {
    let status = rs.status.as_ref();
    (
        status.map_or(0, |s| s.replicas),
        status.and_then(|s| s.ready_replicas).unwrap_or(0),
        status.and_then(|s| s.available_replicas).unwrap_or(0),
    )
}

fn rs_terminating(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.terminating_replicas)
        .unwrap_or(0)
}

fn rs_spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|spec| spec.replicas).unwrap_or(0)
}

fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

fn get_condition<'a>(status: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

/// `SetDeploymentCondition`: keep an identical (status, reason) condition, keep lastTransitionTime when only the
/// reason changes, and append the condition otherwise.
pub fn set_condition(status: &mut DeploymentStatus, mut new: DeploymentCondition) {
    if let Some(current) = get_condition(status, &new.type_) {
        if current.status == new.status && current.reason == new.reason {
            return;
        }
        if current.status == new.status {
            new.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove_condition(status, &new.type_);
    status.conditions.get_or_insert_with(Vec::new).push(new);
}

fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(conditions) = status.conditions.as_mut() {
        conditions.retain(|c| c.type_ != type_);
    }
}

/// `DeploymentComplete`: every desired pod is updated and available, and the spec has been observed.
pub fn is_complete(deployment: &Deployment, status: &DeploymentStatus) -> bool {
    let replicas = desired_replicas(deployment);
    let count = |field: Option<i32>| field.unwrap_or(0);
    count(status.updated_replicas) == replicas
        && count(status.replicas) == replicas
        && count(status.available_replicas) == replicas
        && status.observed_generation >= deployment.metadata.generation
}

fn is_progressing(old: &DeploymentStatus, new: &DeploymentStatus) -> bool {
    let n = |v: Option<i32>| v.unwrap_or(0);
    let old_old = n(old.replicas) - n(old.updated_replicas);
    let new_old = n(new.replicas) - n(new.updated_replicas);
    n(new.updated_replicas) > n(old.updated_replicas)
        || new_old < old_old
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas)
}

fn progress_deadline(deployment: &Deployment) -> Option<i32> {
    let seconds = deployment.spec.as_ref().map_or(Some(600), |spec| {
        spec.progress_deadline_seconds.or(Some(600))
    });
    seconds.filter(|s| *s != i32::MAX)
}

fn is_timed_out(deployment: &Deployment, status: &DeploymentStatus, now: Timestamp) -> bool {
    let (Some(deadline), Some(cond)) = (
        progress_deadline(deployment),
        get_condition(status, "Progressing"),
    ) else {
        return false;
    };
    match cond.reason.as_deref() {
        Some("NewReplicaSetAvailable") => false,
        Some("ProgressDeadlineExceeded") => true,
        _ => cond
            .last_update_time
            .as_ref()
            .and_then(|from| {
                from.0
                    .checked_add(SignedDuration::from_secs(i64::from(deadline)))
                    .ok()
            })
            .is_some_and(|end| end < now),
    }
}

/// `calculateStatus`: counts and the Available condition, keeping the other existing conditions.
/// The counts are `int32` fields tagged `omitempty`: kube-controller-manager's status never carries a zero.
fn omit_zero(count: i32) -> Option<i32> {
    (count != 0).then_some(count)
}

fn calculate(
    deployment: &Deployment,
    new_rs: Option<&ReplicaSet>,
    all: &[ReplicaSet],
    now: Timestamp,
) -> DeploymentStatus {
    let sum = |f: fn(&ReplicaSet) -> i32| all.iter().map(f).sum::<i32>();
    let available = sum(|rs| rs_status(rs).2);
    let replicas = desired_replicas(deployment);
    let old = deployment.status.clone().unwrap_or_default();
    let mut status = DeploymentStatus {
        observed_generation: deployment.metadata.generation,
        replicas: omit_zero(sum(|rs| rs_status(rs).0)),
        updated_replicas: omit_zero(new_rs.map_or(0, |rs| rs_status(rs).0)),
        ready_replicas: omit_zero(sum(|rs| rs_status(rs).1)),
        available_replicas: omit_zero(available),
        unavailable_replicas: omit_zero((sum(rs_spec_replicas) - available).max(0)),
        collision_count: old.collision_count,
        conditions: old.conditions.clone(),
        terminating_replicas: Some(all.iter().map(rs_terminating).sum()),
    };
    if available >= replicas - rolling::max_unavailable(&strategy(deployment), replicas) {
        let msg = "Deployment has minimum availability.".to_string();
        set_condition(
            &mut status,
            condition("Available", "True", "MinimumReplicasAvailable", msg, now),
        );
    } else {
        let msg = "Deployment does not have minimum availability.".to_string();
        set_condition(
            &mut status,
            condition("Available", "False", "MinimumReplicasUnavailable", msg, now),
        );
    }
    status
}

/// `checkPausedConditions`: a paused Deployment reports `Progressing: Unknown (DeploymentPaused)` and no progress
/// estimate (returns `true`); a resumed one reports `DeploymentResumed` once, then progresses normally.
fn set_pause_condition(
    deployment: &Deployment,
    status: &mut DeploymentStatus,
    now: Timestamp,
) -> bool {
    let paused = deployment
        .spec
        .as_ref()
        .and_then(|s| s.paused)
        .unwrap_or(false);
    let reason = get_condition(status, "Progressing").and_then(|c| c.reason.clone());
    if paused {
        if reason.as_deref() != Some("DeploymentPaused") {
            let msg = "Deployment is paused".to_string();
            let paused = condition("Progressing", "Unknown", "DeploymentPaused", msg, now);
            set_condition(status, paused);
        }
        return true;
    }
    if reason.as_deref() == Some("DeploymentPaused") {
        let msg = "Deployment is resumed".to_string();
        let resumed = condition("Progressing", "Unknown", "DeploymentResumed", msg, now);
        set_condition(status, resumed);
    }
    false
}

/// The Deployment status after one sync: `calculateStatus` plus the Progressing estimate of `syncRolloutStatus`.
pub fn compute_status(
    deployment: &Deployment,
    new_rs: Option<&ReplicaSet>,
    all: &[ReplicaSet],
    event: RolloutEvent,
    now: Timestamp,
) -> DeploymentStatus {
    let mut status = calculate(deployment, new_rs, all, now);
    let new_name = new_rs
        .and_then(|rs| rs.metadata.name.clone())
        .unwrap_or_default();
    if progress_deadline(deployment).is_none() {
        remove_condition(&mut status, "Progressing");
        return status;
    }
    if set_pause_condition(deployment, &mut status, now) {
        return status;
    }
    match event {
        RolloutEvent::CreatedNewReplicaSet => {
            let msg = format!("Created new replica set \"{new_name}\"");
            set_condition(
                &mut status,
                condition("Progressing", "True", "NewReplicaSetCreated", msg, now),
            );
        }
        RolloutEvent::FoundNewReplicaSet if get_condition(&status, "Progressing").is_none() => {
            let msg = format!("Found new replica set \"{new_name}\"");
            set_condition(
                &mut status,
                condition("Progressing", "True", "FoundNewReplicaSet", msg, now),
            );
        }
        _ => {}
    }
    let old = deployment.status.clone().unwrap_or_default();
    let current = get_condition(&status, "Progressing").cloned();
    let complete_before = status.replicas == status.updated_replicas
        && current.as_ref().and_then(|c| c.reason.as_deref()) == Some("NewReplicaSetAvailable");
    if complete_before || event == RolloutEvent::CreatedNewReplicaSet {
        return status;
    }
    if is_complete(deployment, &status) {
        let msg = format!("ReplicaSet \"{new_name}\" has successfully progressed.");
        set_condition(
            &mut status,
            condition("Progressing", "True", "NewReplicaSetAvailable", msg, now),
        );
    } else if is_progressing(&old, &status) {
        let msg = format!("ReplicaSet \"{new_name}\" is progressing.");
        let mut updated = condition("Progressing", "True", "ReplicaSetUpdated", msg, now);
        if let Some(current) = current.filter(|c| c.status == "True") {
            updated.last_transition_time = current.last_transition_time;
        }
        remove_condition(&mut status, "Progressing");
        set_condition(&mut status, updated);
    } else if is_timed_out(deployment, &status, now) {
        let msg = format!("ReplicaSet \"{new_name}\" has timed out progressing.");
        set_condition(
            &mut status,
            condition("Progressing", "False", "ProgressDeadlineExceeded", msg, now),
        );
    }
    status
}

#[cfg(test)]
#[path = "tests/deployment_status.rs"]
mod tests;
