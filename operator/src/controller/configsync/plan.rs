//! Pure decisions of the ConfigSync reconciler: which targets to roll now (suspend, `maxConcurrent`,
//! `pause`), and the status that records it.
//!
//! ```text
//!  per target: decide(strategy, live, hash over CS sources ∪ annotation sources)
//!      Roll + suspended            → Suspended (nothing sent)
//!      Roll + slots or pause busy  → Pending  (retried when a target becomes available)
//!      Roll                        → RollingOut (applied), counts against maxConcurrent
//!      no roll, workload behind    → RollingOut (still counts), else Available
//!  conditions: Degraded (missing/failed) > Suspended > RolloutInProgress > Ready
//! ```
//! No I/O and no clock: `now` comes in.
use configsync_crds::configsync::condition;
use configsync_crds::{ConfigSyncStatus, TargetState, TargetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::configsync::{ConditionUpdate, set_condition};
use crate::plan::Decision;

/// Where the rollout of one ConfigSync stands while its targets are walked in order.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    /// `spec.suspend`.
    pub suspended: bool,
    /// `spec.rollout.maxConcurrent` (`None`: unlimited).
    pub max_concurrent: Option<usize>,
    /// Targets rolling now (started earlier and not yet available, or started in this pass).
    pub in_flight: usize,
    /// `spec.rollout.pause` has not elapsed since the last rollout.
    pub pausing: bool,
}

/// What to do with one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send the apply body (a rollout when the decision is a roll).
    Apply,
    /// Send nothing; report this state.
    Hold(TargetState),
}

impl Gate {
    /// The step for a target given its decision and whether its workload is still rolling.
    pub fn step(&mut self, decision: &Decision, workload_rolling: bool) -> Step {
        if decision.is_rollout() {
            if self.suspended {
                return Step::Hold(TargetState::Suspended);
            }
            let full = self.max_concurrent.is_some_and(|max| self.in_flight >= max);
            if full || self.pausing {
                return Step::Hold(TargetState::Pending);
            }
            self.in_flight += 1;
            return Step::Apply;
        }
        if workload_rolling {
            self.in_flight += 1;
        }
        match decision {
            Decision::Warn { .. } => Step::Hold(TargetState::Failed),
            Decision::Nothing if workload_rolling => Step::Hold(TargetState::RollingOut),
            Decision::Nothing => Step::Hold(TargetState::Available),
            _ => Step::Apply,
        }
    }
}

/// What the pass found, for the conditions.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// Named, required sources that do not exist.
    pub missing_sources: Vec<String>,
    /// Named targets that do not exist.
    pub missing_targets: Vec<String>,
    /// Targets whose apply failed.
    pub failed_targets: Vec<String>,
    /// `spec.suspend`.
    pub suspended: bool,
}

/// Set Ready, Progressing and Degraded on `status` from the targets and findings.
pub fn set_conditions(
    status: &mut ConfigSyncStatus,
    findings: &Findings,
    generation: Option<i64>,
    now: &Time,
) {
    let rolling = status
        .targets
        .iter()
        .filter(|t| matches!(t.state, TargetState::RollingOut | TargetState::Pending))
        .count();
    let degraded = if !findings.missing_sources.is_empty() {
        Some((
            condition::SOURCE_MISSING,
            format!("missing sources: {}", findings.missing_sources.join(", ")),
        ))
    } else if !findings.missing_targets.is_empty() {
        Some((
            condition::TARGET_MISSING,
            format!("missing targets: {}", findings.missing_targets.join(", ")),
        ))
    } else if !findings.failed_targets.is_empty() {
        Some((
            condition::PATCH_FAILED,
            format!("apply failed: {}", findings.failed_targets.join(", ")),
        ))
    } else {
        None
    };
    let (ready, ready_reason, ready_message) = match (&degraded, findings.suspended, rolling) {
        (Some((reason, message)), _, _) => ("False", *reason, message.clone()),
        (None, true, _) => (
            "False",
            condition::SUSPENDED,
            "rollouts suspended".to_owned(),
        ),
        (None, false, n) if n > 0 => (
            "False",
            condition::ROLLOUT_IN_PROGRESS,
            format!("{n} target(s) rolling out"),
        ),
        _ => (
            "True",
            condition::APPLIED,
            "every target runs the current config".to_owned(),
        ),
    };
    let progressing = match (findings.suspended, rolling) {
        (true, _) => (
            "False",
            condition::SUSPENDED,
            "rollouts suspended".to_owned(),
        ),
        (false, n) if n > 0 => (
            "True",
            condition::ROLLOUT_IN_PROGRESS,
            format!("{n} target(s) rolling out"),
        ),
        _ => (
            "False",
            condition::APPLIED,
            "no rollout in progress".to_owned(),
        ),
    };
    let degraded = match degraded {
        Some((reason, message)) => ("True", reason, message),
        None => ("False", condition::APPLIED, "no problem found".to_owned()),
    };
    let conditions: &mut Vec<Condition> = &mut status.conditions;
    for (type_, (status_, reason, message)) in [
        (condition::READY, (ready, ready_reason, ready_message)),
        (condition::PROGRESSING, progressing),
        (condition::DEGRADED, degraded),
    ] {
        let update = ConditionUpdate {
            type_,
            status: status_,
            reason,
            message,
        };
        set_condition(conditions, update, generation, now.clone());
    }
}

/// The previous record of a target, to keep its `lastRolloutTime` and applied hash across passes.
pub fn previous<'a>(
    status: Option<&'a ConfigSyncStatus>,
    target: &TargetStatus,
) -> Option<&'a TargetStatus> {
    status?
        .targets
        .iter()
        .find(|t| t.kind == target.kind && t.name == target.name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::hash::workload_hash;

    use super::*;

    fn roll() -> Decision {
        let hash = workload_hash(&[], &BTreeMap::new()).unwrap();
        Decision::Roll { hash }
    }

    #[test]
    fn suspend_holds_every_rollout() {
        let mut gate = Gate {
            suspended: true,
            ..Gate::default()
        };
        assert_eq!(
            gate.step(&roll(), false),
            Step::Hold(TargetState::Suspended)
        );
        assert_eq!(gate.in_flight, 0);
    }

    #[test]
    fn max_concurrent_counts_rollouts_still_in_progress() {
        let mut gate = Gate {
            max_concurrent: Some(1),
            ..Gate::default()
        };
        assert_eq!(
            gate.step(&Decision::Nothing, true),
            Step::Hold(TargetState::RollingOut)
        );
        assert_eq!(gate.step(&roll(), false), Step::Hold(TargetState::Pending));
        let mut free = Gate {
            max_concurrent: Some(1),
            ..Gate::default()
        };
        assert_eq!(free.step(&roll(), false), Step::Apply);
        assert_eq!(free.step(&roll(), false), Step::Hold(TargetState::Pending));
    }

    #[test]
    fn conditions_name_the_first_problem_and_keep_transition_times() {
        let mut status = ConfigSyncStatus::default();
        let t0 = Time(jiff::Timestamp::from_second(1000).unwrap());
        let t1 = Time(jiff::Timestamp::from_second(2000).unwrap());
        let findings = Findings {
            missing_sources: vec!["ConfigMap/gone".to_owned()],
            ..Findings::default()
        };
        set_conditions(&mut status, &findings, Some(1), &t0);
        let ready = |s: &ConfigSyncStatus| {
            s.conditions
                .iter()
                .find(|c| c.type_ == "Ready")
                .cloned()
                .unwrap()
        };
        assert_eq!(ready(&status).status, "False");
        assert_eq!(ready(&status).reason, "SourceMissing");
        set_conditions(&mut status, &findings, Some(1), &t1);
        assert_eq!(ready(&status).last_transition_time, t0);
        set_conditions(&mut status, &Findings::default(), Some(1), &t1);
        assert_eq!(ready(&status).status, "True");
        assert_eq!(ready(&status).last_transition_time, t1);
    }
}
