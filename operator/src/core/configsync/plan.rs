//! Pure decisions of the ConfigSync reconciler: which targets to roll now (suspend, `maxConcurrent`,
//! `pause`), and the status that records it.
//!
//! ```text
//!  per target: decide(strategy, live, hash over CS sources ∪ annotation sources)
//!      target new to this ConfigSync → decide_rebaseline (record only: claiming restarts nothing)
//!      Roll + suspended            → Suspended (nothing sent)
//!      Roll + slots or pause busy  → Pending  (retried when a target becomes available / the pause ends)
//!      Roll                        → RollingOut (applied), counts against maxConcurrent, starts the pause
//!      no roll, workload behind    → RollingOut (still counts), else Available
//!  conditions: Degraded (missing/failed) > Suspended > RolloutInProgress > Ready
//! ```
//! No I/O and no clock: `now` comes in. [`plan`] assumes every apply succeeds; the shell marks the
//! ones that failed ([`TargetPlan::failed`]) and then sets the conditions.
use std::time::Duration;

use configsync_crds::configsync::condition;
use configsync_crds::{ConfigSync, ConfigSyncStatus, SourceStatus, TargetState, TargetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use serde_json::Value;

use crate::cache::SourceCache;
use crate::configsync::{ConditionUpdate, Drives, resolve_sources, set_condition};
use crate::core::observation::Observation;
use crate::hash::{source_hash, workload_hash};
use crate::plan::apply::apply_body;
use crate::plan::event::{Change, SourceChange};
use crate::plan::last_rollout::LastRollout;
use crate::plan::{Decision, Live, decide, decide_rebaseline};
use crate::refs::{SourceId, merge_refs};
use crate::workload::WorkloadRef;

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
    /// `spec.rollout.pause` is set: a rollout started in this pass holds the next target back.
    pub pause_configured: bool,
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
            self.pausing = self.pause_configured;
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

/// One target sent something in this pass.
#[derive(Debug)]
pub struct TargetPlan {
    /// The workload.
    pub workload: WorkloadRef,
    /// What was decided.
    pub decision: Decision,
    /// The server-side-apply body.
    pub body: Value,
    /// Its entry in `status.targets`.
    pub index: usize,
}

impl TargetPlan {
    /// Record that the apply failed: the target is `Failed` and the ConfigSync `Degraded`.
    pub fn failed(&self, status: &mut ConfigSyncStatus, findings: &mut Findings) {
        if let Some(target) = status.targets.get_mut(self.index) {
            target.state = TargetState::Failed;
            target.last_rollout_time = None;
        }
        findings.failed_targets.push(self.workload.to_string());
    }
}

/// One pass over a ConfigSync, built from the caches only.
#[derive(Debug)]
pub struct Pass {
    /// The new status (conditions not yet set: see [`set_conditions`]).
    pub status: ConfigSyncStatus,
    /// Problems found, for the conditions.
    pub findings: Findings,
    /// The applies to send, in target order.
    pub applies: Vec<TargetPlan>,
    /// Look again after this long even if nothing changes (a target waits for the pause to end).
    pub wake_after: Option<Duration>,
}

/// Plan one pass: resolve the sources against the cache, then walk the targets this ConfigSync drives.
/// `observation` gives each target's observation and the record its decision reads (the live one, or in a
/// dry run the one the last apply would have written).
///
/// # Errors
/// [`crate::configsync::Error`] for a spec the schema should have rejected (a bad selector).
pub fn plan<'a>(
    cs: &ConfigSync,
    drives: &Drives,
    cache: &SourceCache,
    observation: impl Fn(&WorkloadRef) -> Option<(&'a Observation, Live<'a>)>,
    now: &Time,
) -> Result<Pass, crate::configsync::Error> {
    let ns = cs.namespace().unwrap_or_default();
    let lookup = cache.namespace(&ns);
    let refs = resolve_sources(&cs.spec, lookup.catalog())?;
    let old = cs.status.as_ref();
    let mut status = ConfigSyncStatus {
        observed_generation: cs.metadata.generation,
        conditions: old.map(|s| s.conditions.clone()).unwrap_or_default(),
        last_rollout_time: old.and_then(|s| s.last_rollout_time.clone()),
        ..ConfigSyncStatus::default()
    };
    let mut findings = Findings {
        suspended: cs.spec.suspend,
        missing_targets: drives.missing.iter().map(ToString::to_string).collect(),
        ..Findings::default()
    };
    match workload_hash(&refs, &lookup) {
        Ok(hash) => {
            status.short_hash = Some(hash.short().to_owned());
            status.source_hash = Some(hash.as_str().to_owned());
        }
        Err(crate::hash::Error::HashWorkload { missing }) => {
            findings.missing_sources = missing
                .iter()
                .map(|id| format!("{}/{}", id.kind, id.name))
                .collect();
        }
    }
    status.sources = refs
        .iter()
        .map(|r| {
            let entry = cache.get(&ns, &r.id);
            SourceStatus {
                kind: r.id.kind,
                name: r.id.name.clone(),
                hash: entry.map(|e| {
                    source_hash(&r.id, &r.keys, Some(&e.digests))
                        .as_str()
                        .to_owned()
                }),
                resource_version: entry.and_then(|e| e.resource_version.clone()),
            }
        })
        .collect();
    let (pause, remaining) = pause_of(cs, old, now);
    let mut gate = Gate {
        suspended: cs.spec.suspend,
        max_concurrent: cs
            .spec
            .rollout
            .as_ref()
            .and_then(|r| r.max_concurrent)
            .and_then(|m| usize::try_from(m).ok()),
        in_flight: 0,
        pausing: remaining.is_some(),
        pause_configured: pause.is_some(),
    };
    let changes = changed_sources(old, &status.sources);
    let mut applies = Vec::new();
    for (observation, live) in drives.mine.iter().filter_map(&observation) {
        let input = TargetInput {
            cs,
            refs: &refs,
            observation,
            live,
            changes: &changes,
            lookup: &lookup,
            old,
            now,
        };
        let (target, sent) = plan_target(&input, &mut gate, &mut findings);
        if target.last_rollout_time.as_ref() == Some(now) {
            status.last_rollout_time = Some(now.clone());
        }
        if let Some((decision, body)) = sent {
            let index = status.targets.len();
            applies.push(TargetPlan {
                workload: observation.workload.clone(),
                decision,
                body,
                index,
            });
        }
        status.targets.push(target);
    }
    status
        .targets
        .extend(drives.missing.iter().map(|w| TargetStatus {
            kind: w.kind,
            name: w.name.clone(),
            applied_hash: None,
            last_rollout_time: None,
            state: TargetState::Missing,
        }));
    status.source_count = i32::try_from(status.sources.len()).ok();
    status.target_count = i32::try_from(drives.mine.len()).ok();
    let waiting = status
        .targets
        .iter()
        .any(|t| t.state == TargetState::Pending);
    let wake_after = match (waiting, pause) {
        (true, Some(pause)) => Some(remaining.unwrap_or(pause)),
        _ => None,
    };
    Ok(Pass {
        status,
        findings,
        applies,
        wake_after,
    })
}

/// `spec.rollout.pause`, and how much of it is left since the last rollout (`None`: elapsed).
fn pause_of(
    cs: &ConfigSync,
    old: Option<&ConfigSyncStatus>,
    now: &Time,
) -> (Option<Duration>, Option<Duration>) {
    let pause = cs
        .spec
        .rollout
        .as_ref()
        .and_then(|r| r.pause.as_deref())
        .and_then(|p| configsync_core::timing::parse_duration(p).ok())
        .filter(|p| !p.is_zero());
    let last = old.and_then(|s| s.last_rollout_time.as_ref());
    let remaining = match (pause, last) {
        (Some(pause), Some(last)) => {
            let elapsed =
                Duration::try_from(now.0.duration_since(last.0)).unwrap_or(Duration::ZERO);
            pause.checked_sub(elapsed).filter(|left| !left.is_zero())
        }
        _ => None,
    };
    (pause, remaining)
}

/// The ConfigSync's sources whose hash differs from the last pass's status (names only: the cause a
/// rollout records).
fn changed_sources(old: Option<&ConfigSyncStatus>, new: &[SourceStatus]) -> Vec<SourceChange> {
    let Some(old) = old else {
        return Vec::new();
    };
    let before = |s: &SourceStatus| {
        old.sources
            .iter()
            .find(|o| o.kind == s.kind && o.name == s.name)
            .and_then(|o| o.hash.as_deref())
    };
    new.iter()
        .filter(|s| before(s) != s.hash.as_deref())
        .map(|s| SourceChange {
            id: SourceId {
                kind: s.kind,
                name: s.name.clone(),
            },
            change: match (before(s), &s.hash) {
                (None, Some(_)) => Change::Created,
                (Some(_), None) => Change::Deleted,
                _ => Change::Keys(std::collections::BTreeSet::new()),
            },
        })
        .collect()
}

/// What one target's decision reads.
struct TargetInput<'a> {
    cs: &'a ConfigSync,
    refs: &'a [crate::refs::SourceRef],
    observation: &'a Observation,
    live: Live<'a>,
    changes: &'a [SourceChange],
    lookup: &'a crate::cache::Namespace<'a>,
    old: Option<&'a ConfigSyncStatus>,
    now: &'a Time,
}

/// The status of one target and, when something is sent, the decision and body.
fn plan_target(
    input: &TargetInput<'_>,
    gate: &mut Gate,
    findings: &mut Findings,
) -> (TargetStatus, Option<(Decision, Value)>) {
    let observation = input.observation;
    let workload = &observation.workload;
    let mut all = input.refs.to_vec();
    if let Ok(Some(followed)) = &observation.follow {
        all.extend(followed.sources.iter().cloned());
    }
    let computed = workload_hash(&merge_refs(all), input.lookup);
    let live = input.live;
    let mut target = TargetStatus {
        kind: workload.kind,
        name: workload.name.clone(),
        applied_hash: observation.observed_hash.clone(),
        last_rollout_time: None,
        state: TargetState::Available,
    };
    let before = previous(input.old, &target);
    target.last_rollout_time = before.and_then(|t| t.last_rollout_time.clone());
    let claimed_now = before.is_none_or(|t| t.state == TargetState::Missing);
    let decision = if claimed_now {
        decide_rebaseline(live, computed)
    } else {
        decide(input.cs.spec.strategy, live, computed)
    };
    if let Decision::Warn { missing } = &decision {
        for id in missing {
            let name = format!("{}/{}", id.kind, id.name);
            if !findings.missing_sources.contains(&name) {
                findings.missing_sources.push(name);
            }
        }
    }
    let rolling = !observation
        .progress
        .is_complete_for(observation.progress.generation);
    match gate.step(&decision, rolling) {
        Step::Hold(state) => {
            target.state = state;
            (target, None)
        }
        Step::Apply => {
            if let Some(hash) = recorded_hash(&decision) {
                target.applied_hash = Some(hash.as_str().to_owned());
            }
            if decision.is_rollout() {
                target.state = TargetState::RollingOut;
                target.last_rollout_time = Some(input.now.clone());
            } else if rolling {
                target.state = TargetState::RollingOut;
            }
            let name = input.cs.metadata.name.as_deref();
            let rollout = LastRollout::of(&decision, input.changes, input.now.0, name);
            let sent = apply_body(workload, live, &decision, rollout.as_ref())
                .map(|body| (decision, body));
            (target, sent)
        }
    }
}

/// The hash a decision writes as the workload's record.
fn recorded_hash(decision: &Decision) -> Option<&crate::hash::ConfigHash> {
    match decision {
        Decision::Adopt { hash }
        | Decision::Record { hash }
        | Decision::Roll { hash }
        | Decision::Report { hash, .. } => Some(hash),
        Decision::Nothing | Decision::Warn { .. } => None,
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
