//! A workload reduced to what the decision core keeps: the parsed policy and followed sources, the two
//! hashes, the labels, and where its own controller is with its latest spec.
//!
//! Rollout progress is read from status the way `kubectl rollout status` does: the controller has seen the
//! latest generation and every replica is updated and available. The fleet budget frees a slot when it is.
use std::borrow::Cow;

use kube::Resource;

use crate::annotations;
use crate::lean::workload::ReplicaStatus;
use crate::lean::{CronJobView, DaemonSetView, DeploymentView, RolloutView, StatefulSetView};
use crate::workload::{Followed, Workload, WorkloadRef, follow};

/// One workload as the controller needs it.
#[derive(Debug)]
pub struct Observation {
    /// Kind, namespace and name.
    pub workload: WorkloadRef,
    /// The object's uid (for Event references).
    pub uid: Option<String>,
    /// The parsed policy: `Ok(None)` when the workload is not followed.
    pub follow: Result<Option<Followed>, annotations::Error>,
    /// Pod-template `configsync.dev/config-hash`.
    pub template_hash: Option<String>,
    /// Metadata `configsync.dev/observed-hash`.
    pub observed_hash: Option<String>,
    /// The pod template's fingerprint now.
    pub template_fingerprint: Option<String>,
    /// Metadata `configsync.dev/observed-template`: the fingerprint the record saw.
    pub observed_template: Option<String>,
    /// Metadata `configsync.dev/last-rollout`, as written.
    pub last_rollout: Option<String>,
    /// Rollout progress from status.
    pub progress: Progress,
    /// `metadata.labels` (ConfigSync target selectors match them).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The `ConfigSyncApplied` condition in its status (`Some(false)` after a refused apply).
    pub config_applied: Option<bool>,
}

impl Observation {
    /// The hashes and fingerprints the decisions read.
    pub fn live(&self) -> crate::plan::Live<'_> {
        crate::plan::Live {
            template_hash: self.template_hash.as_deref(),
            observed_hash: self.observed_hash.as_deref(),
            template: self.template_fingerprint.as_deref(),
            observed_template: self.observed_template.as_deref(),
            record_label: self
                .labels
                .get(configsync_crds::annotations::RECORD_LABEL)
                .map(String::as_str),
            last_rollout: self.last_rollout.as_deref(),
        }
    }
}

/// Where the workload's own controller is with its latest spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// Every desired replica is updated and available.
    pub replicas_done: bool,
}

impl Progress {
    /// The rollout of `generation` (or a later one) has completed.
    pub fn is_complete_for(&self, generation: i64) -> bool {
        self.observed_generation >= generation
            && self.observed_generation >= self.generation
            && self.replicas_done
    }
}

/// A workload kind: how to read its rollout progress.
pub trait Watched: Workload + Resource<DynamicType = ()> {
    /// The rollout progress from status.
    fn progress(&self) -> Progress;
    /// configsync's `ConfigSyncApplied` condition in status.
    fn config_applied(&self) -> Option<bool>;
}

fn counts_done(
    desired: i32,
    updated: Option<i32>,
    available: Option<i32>,
    total: Option<i32>,
) -> bool {
    updated.unwrap_or(0) >= desired
        && available.unwrap_or(0) >= desired
        && total.unwrap_or(0) <= updated.unwrap_or(0)
}

/// Progress of a Deployment or StatefulSet (`desired` from `spec.replicas`, default 1).
fn replicated_progress(
    generation: Option<i64>,
    replicas: Option<i32>,
    status: Option<&ReplicaStatus>,
) -> Progress {
    let status = status.copied().unwrap_or_default();
    Progress {
        generation: generation.unwrap_or(0),
        observed_generation: status.observed_generation.unwrap_or(0),
        replicas_done: counts_done(
            replicas.unwrap_or(1),
            status.updated_replicas,
            status.available_replicas,
            status.replicas,
        ),
    }
}

impl Watched for DeploymentView {
    fn progress(&self) -> Progress {
        let replicas = self.spec.as_ref().and_then(|s| s.replicas);
        replicated_progress(self.metadata.generation, replicas, self.status.as_ref())
    }
    fn config_applied(&self) -> Option<bool> {
        self.status.as_ref().and_then(|s| s.config_applied)
    }
}

impl Watched for StatefulSetView {
    fn progress(&self) -> Progress {
        let replicas = self.spec.as_ref().and_then(|s| s.replicas);
        replicated_progress(self.metadata.generation, replicas, self.status.as_ref())
    }
    fn config_applied(&self) -> Option<bool> {
        self.status.as_ref().and_then(|s| s.config_applied)
    }
}

impl Watched for RolloutView {
    fn progress(&self) -> Progress {
        let replicas = self.spec.as_ref().and_then(|s| s.replicas);
        let status = self.status.as_ref().map(|s| s.as_replica_status());
        replicated_progress(self.metadata.generation, replicas, status.as_ref())
    }
    /// Argo's controller owns a Rollout's conditions: configsync writes none there (its Warning Event tells).
    fn config_applied(&self) -> Option<bool> {
        None
    }
}

/// A CronJob has no rollout of its own: the next Job it creates runs the stamped template.
impl Watched for CronJobView {
    fn progress(&self) -> Progress {
        let generation = self.metadata.generation.unwrap_or(0);
        Progress {
            generation,
            observed_generation: generation,
            replicas_done: true,
        }
    }
    /// A CronJob's status has no conditions: a refused apply is told by its Warning Event alone.
    fn config_applied(&self) -> Option<bool> {
        None
    }
}

impl Watched for DaemonSetView {
    fn progress(&self) -> Progress {
        let status = self.status.unwrap_or_default();
        Progress {
            generation: self.metadata.generation.unwrap_or(0),
            observed_generation: status.observed_generation.unwrap_or(0),
            replicas_done: counts_done(
                status.desired_number_scheduled.unwrap_or(0),
                status.updated_number_scheduled,
                status.number_available,
                Some(status.current_number_scheduled.unwrap_or(0)),
            ),
        }
    }
    fn config_applied(&self) -> Option<bool> {
        self.status.as_ref().and_then(|s| s.config_applied)
    }
}

/// Reduce a workload to what the controller keeps.
pub fn observe<W: Watched>(object: &W, auto_all: bool) -> Observation {
    Observation {
        workload: object.workload_ref(),
        uid: Workload::meta(object).uid.clone(),
        follow: follow(object, auto_all),
        template_hash: object.template_hash().map(str::to_owned),
        observed_hash: object.observed_hash().map(str::to_owned),
        template_fingerprint: object.template_fingerprint().map(Cow::into_owned),
        observed_template: object.observed_template().map(str::to_owned),
        last_rollout: object.last_rollout().map(str::to_owned),
        progress: object.progress(),
        labels: Workload::meta(object).labels.clone().unwrap_or_default(),
        config_applied: object.config_applied(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mk_deployment(generation: i64, status: serde_json::Value) -> DeploymentView {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "prod", "generation": generation,
                "annotations": {"configsync.dev/auto": "true"}},
            "spec": {"replicas": 2, "selector": {}, "template": {"spec": {"containers": [
                {"name": "c", "envFrom": [{"configMapRef": {"name": "app"}}]}]}}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn progress_needs_the_latest_generation_and_all_replicas() {
        let done = json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2});
        assert!(mk_deployment(3, done.clone()).progress().is_complete_for(3));
        assert!(!mk_deployment(4, done).progress().is_complete_for(3));
        let surging = json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2});
        assert!(!mk_deployment(3, surging).progress().is_complete_for(3));
        let unavailable = json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1});
        assert!(!mk_deployment(3, unavailable).progress().is_complete_for(3));
    }

    #[test]
    fn observation_reads_only_configsyncs_condition() {
        let condition = |status: &str| {
            json!({"conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "ConfigSyncApplied", "status": status, "reason": "ApplyFailed", "message": "m"}]})
        };
        let refused = observe(&mk_deployment(1, condition("False")), false);
        assert_eq!(refused.config_applied, Some(false));
        let applied = observe(&mk_deployment(1, condition("True")), false);
        assert_eq!(applied.config_applied, Some(true));
        let foreign = json!({"conditions": [{"type": "Available", "status": "False"}]});
        assert_eq!(
            observe(&mk_deployment(1, foreign), false).config_applied,
            None
        );
        assert_eq!(
            observe(&mk_deployment(1, json!({})), false).config_applied,
            None
        );
    }

    #[test]
    fn observation_carries_policy_and_refs() {
        let observation = observe(&mk_deployment(1, json!({})), false);
        let followed = observation.follow.unwrap().unwrap();
        assert_eq!(followed.sources.len(), 1);
        assert_eq!(followed.sources[0].id.name, "app");
        assert_eq!(observation.template_hash, None);
    }
}
