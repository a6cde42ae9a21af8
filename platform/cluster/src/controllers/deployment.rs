//! The Deployment controller: one ReplicaSet per pod template, scaled by the rollout arithmetic of [`rolling`],
//! and the Deployment status of [`deployment_status`].
//!
//! Each sync reads the Deployment and the ReplicaSets it controls, finds the one whose template equals the
//! Deployment's (ignoring `pod-template-hash`), creates it if missing (`<deployment>-<hash>`, with the revision,
//! `desired-replicas` and `max-replicas` annotations), applies one step of [`rolling::plan_rollout`], prunes old
//! ReplicaSets beyond `revisionHistoryLimit` once the rollout is complete, and writes the status.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use serde_json::json;

use super::deployment_status::{self as dstatus, RolloutEvent};
use super::hash::template_hash;
use super::pods::{self, controller_ref};
use super::rolling::{self, RsState, Scale, Strategy};
use super::write::{self, CONTROLLER_MANAGER};

/// Label that ties a ReplicaSet and its pods to one pod template.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// Revision annotation on Deployments and ReplicaSets.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// `spec.replicas` of the Deployment when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// `replicas + maxSurge` of the Deployment when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const DEFAULT_HISTORY_LIMIT: i32 = 10;
/// How often an unfinished rollout is re-examined for its progress deadline.
const PROGRESS_CHECK: Duration = Duration::from_secs(2);

/// The ReplicaSet's template without the `pod-template-hash` label, for comparison with the Deployment's.
fn template_without_hash(rs: &ReplicaSet) -> Option<PodTemplateSpec> {
    let mut template = rs.spec.as_ref()?.template.clone()?;
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    Some(template)
}

/// `deployment.kubernetes.io/revision` of an object, 0 when absent or malformed.
pub fn revision(meta: &ObjectMeta) -> i64 {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Splits the controlled ReplicaSets into the new one (template equal to the Deployment's; the oldest if several)
/// and the old ones, oldest first.
pub fn split_replicasets(
    deployment: &Deployment,
    mut owned: Vec<ReplicaSet>,
) -> (Option<ReplicaSet>, Vec<ReplicaSet>) {
    owned.sort_by_key(|rs| (pods::created(&rs.metadata), rs.name_any()));
    let template = deployment.spec.as_ref().map(|s| &s.template);
    let position = owned
        .iter()
        .position(|rs| template_without_hash(rs).as_ref() == template);
    let new = position.map(|index| owned.remove(index));
    (new, owned)
}

/// The planner's view of a ReplicaSet.
pub fn rs_state(rs: &ReplicaSet) -> RsState {
    let status = rs.status.as_ref();
    RsState {
        name: rs.name_any(),
        replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
        actual: status.map_or(0, |s| s.replicas),
        available: status.and_then(|s| s.available_replicas).unwrap_or(0),
    }
}

fn scale_annotations(deployment: &Deployment) -> BTreeMap<String, String> {
    let replicas = dstatus::desired_replicas(deployment);
    let max = replicas + rolling::max_surge(&dstatus::strategy(deployment), replicas);
    BTreeMap::from([
        (DESIRED_REPLICAS.to_string(), replicas.to_string()),
        (MAX_REPLICAS.to_string(), max.to_string()),
    ])
}

/// The merge patch that scales a ReplicaSet and records the Deployment's size on it.
pub fn scale_patch(deployment: &Deployment, replicas: i32) -> serde_json::Value {
    json!({"metadata": {"annotations": scale_annotations(deployment)}, "spec": {"replicas": replicas}})
}

/// The new ReplicaSet for the Deployment's current template, named `<deployment>-<hash>`.
pub fn build_new_replicaset(
    deployment: &Deployment,
    revision: i64,
    replicas: i32,
) -> Option<ReplicaSet> {
    let spec = deployment.spec.as_ref()?;
    let name = deployment.metadata.name.as_deref()?;
    let uid = deployment.metadata.uid.as_deref()?;
    let collision = deployment.status.as_ref().and_then(|s| s.collision_count);
    let hash = template_hash(&spec.template, collision);
    let mut template = spec.template.clone();
    let labels = pods::template_labels(&template, &[(POD_TEMPLATE_HASH, &hash)]);
    template
        .metadata
        .get_or_insert_with(ObjectMeta::default)
        .labels = Some(labels.clone());
    let mut selector: LabelSelector = spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(POD_TEMPLATE_HASH.to_string(), hash.clone());
    let mut annotations: BTreeMap<String, String> = deployment
        .annotations()
        .iter()
        .filter(|(key, _)| {
            !key.starts_with("deployment.kubernetes.io/")
                && !key.starts_with("kubectl.kubernetes.io/")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    annotations.extend(scale_annotations(deployment));
    annotations.insert(REVISION.to_string(), revision.to_string());
    Some(ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{hash}")),
            namespace: deployment.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: Some(vec![controller_ref("Deployment", name, uid)]),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    })
}

/// Old ReplicaSets to delete beyond `revisionHistoryLimit`: empty ones only, oldest first.
pub fn history_to_delete(deployment: &Deployment, old: &[ReplicaSet]) -> Vec<String> {
    let limit = deployment
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(DEFAULT_HISTORY_LIMIT);
    let limit = usize::try_from(limit).unwrap_or(0);
    let empty: Vec<&ReplicaSet> = old
        .iter()
        .filter(|rs| !pods::is_terminating(&rs.metadata))
        .filter(|rs| rs_state(rs).replicas == 0 && rs_state(rs).actual == 0)
        .collect();
    let excess = empty.len().saturating_sub(limit);
    empty.iter().take(excess).map(|rs| rs.name_any()).collect()
}

/// How big a new ReplicaSet starts, or `None` when it must not be created yet (Recreate with old pods left).
pub fn initial_replicas(deployment: &Deployment, old: &[ReplicaSet]) -> Option<i32> {
    let replicas = dstatus::desired_replicas(deployment);
    let strategy = dstatus::strategy(deployment);
    let states: Vec<RsState> = old.iter().map(rs_state).collect();
    match strategy {
        Strategy::Recreate => states
            .iter()
            .all(|s| s.replicas == 0 && s.actual == 0)
            .then_some(replicas),
        Strategy::RollingUpdate { .. } => {
            let all: i32 = states.iter().map(|s| s.replicas).sum();
            Some(rolling::new_rs_replicas(&strategy, replicas, 0, all))
        }
    }
}

/// Scale steps when the new ReplicaSet does not exist yet: only Recreate's scale-down of the old ones.
pub fn scale_down_before_create(old: &[ReplicaSet]) -> Vec<Scale> {
    old.iter()
        .map(rs_state)
        .filter(|s| s.replicas > 0)
        .map(|s| Scale {
            name: s.name,
            replicas: 0,
        })
        .collect()
}

/// A paused Deployment does not roll, but a settled one still follows `spec.replicas`.
pub fn scale_while_paused(
    replicas: i32,
    new: Option<&ReplicaSet>,
    old: &[ReplicaSet],
) -> Vec<Scale> {
    let Some(new) = new.map(rs_state) else {
        return Vec::new();
    };
    let settled = old.iter().all(|rs| rs_state(rs).replicas == 0);
    if settled && new.replicas != replicas {
        vec![Scale {
            name: new.name,
            replicas,
        }]
    } else {
        Vec::new()
    }
}

mod sync;
pub use sync::{Error, run};

#[cfg(test)]
#[path = "tests/deployment.rs"]
mod tests;
