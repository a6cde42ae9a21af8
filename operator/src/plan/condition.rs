//! The `ConfigSyncApplied` condition a workload opted in by annotation carries in its own status, so a refused
//! apply is visible where users look (`kubectl describe`, `kubectl get -o yaml`, dashboards), not only in an
//! Event that expires after an hour.
//!
//! ```text
//!  apply refused for good (403, 404, 422) ─► ConfigSyncApplied False, reason ApplyFailed, the API's message
//!  next apply that succeeds (status False) ─► ConfigSyncApplied True, reason Applied
//! ```
//! It is written to the status subresource by server-side apply, field manager `configsync`: configsync owns
//! that one condition (conditions merge by `type`), and the workload's own controller keeps foreign condition
//! types when it writes its status (the deployment controller copies `status.conditions`). The message is the
//! API's answer to an apply that only carried configsync's two hash annotations: it holds no value.
use serde_json::{Value, json};

use crate::workload::WorkloadRef;
use configsync_crds::WorkloadKind;

/// The condition type.
pub const TYPE: &str = "ConfigSyncApplied";
/// Reason of a refused apply (the Event's reason too).
pub const REFUSED: &str = super::event::reason::APPLY_FAILED;
/// Reason once an apply went through again.
pub const APPLIED: &str = "Applied";
/// Longest message kept (a condition message may be 32 KiB; an API error is far shorter).
const MESSAGE_LIMIT: usize = 1024;

/// What configsync says about its last apply to a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadCondition {
    /// `True` once applied, `False` while refused.
    pub applied: bool,
    /// [`REFUSED`] or [`APPLIED`].
    pub reason: &'static str,
    /// For people.
    pub message: String,
}

impl WorkloadCondition {
    /// Whether configsync writes its condition for workloads of `kind`: the `apps` kinds, whose controllers keep
    /// foreign condition types. A CronJob's status has no conditions and Argo's controller owns a Rollout's, so
    /// those two get the Warning Event alone.
    pub fn is_written_for(kind: WorkloadKind) -> bool {
        matches!(
            kind,
            WorkloadKind::Deployment | WorkloadKind::StatefulSet | WorkloadKind::DaemonSet
        )
    }

    /// The API refused the apply for good.
    pub fn refused(category: &str, error: &str) -> Self {
        let mut message =
            format!("applying the config annotations was refused ({category}): {error}");
        if message.len() > MESSAGE_LIMIT {
            let mut end = MESSAGE_LIMIT;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        Self {
            applied: false,
            reason: REFUSED,
            message,
        }
    }

    /// An apply went through after a refusal.
    pub fn applied() -> Self {
        Self {
            applied: true,
            reason: APPLIED,
            message: "the config annotations are applied".to_owned(),
        }
    }

    /// The server-side-apply body for the workload's status subresource, transition time `now` (RFC 3339).
    pub fn status_body(&self, workload: &WorkloadRef, now: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": workload.kind.as_str(),
            "metadata": {"name": workload.name, "namespace": workload.namespace},
            "status": {"conditions": [{
                "type": TYPE,
                "status": if self.applied { "True" } else { "False" },
                "reason": self.reason,
                "message": self.message,
                "lastTransitionTime": now,
            }]},
        })
    }
}

#[cfg(test)]
mod tests {
    use configsync_crds::WorkloadKind;

    use super::*;

    #[test]
    fn the_body_holds_only_configsyncs_condition() {
        let web = WorkloadRef::new(WorkloadKind::StatefulSet, "prod", "web");
        let body = WorkloadCondition::refused("invalid", "metadata.annotations: Too long")
            .status_body(&web, "2026-12-07T08:00:00Z");
        assert_eq!(
            body,
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": "web", "namespace": "prod"},
                "status": {"conditions": [{"type": "ConfigSyncApplied", "status": "False",
                    "reason": "ApplyFailed", "lastTransitionTime": "2026-12-07T08:00:00Z",
                    "message": "applying the config annotations was refused (invalid): metadata.annotations: Too long"}]}})
        );
        let cleared = WorkloadCondition::applied().status_body(&web, "2026-12-07T08:00:01Z");
        assert_eq!(cleared["status"]["conditions"][0]["status"], "True");
        assert_eq!(cleared["status"]["conditions"][0]["reason"], "Applied");
    }

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary() {
        let condition = WorkloadCondition::refused("invalid", &"é".repeat(2000));
        assert!(condition.message.len() <= MESSAGE_LIMIT);
        assert!(condition.message.ends_with('é'));
    }
}
