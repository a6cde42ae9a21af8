//! The core's ConfigSync half: ConfigSync inputs, settling who drives which workload, handing a workload
//! back to its annotations, and ConfigSync passes over the core's own caches.
//!
//! ```text
//!  Subject::ConfigSync(c) ── a pass of c still open, or a target's apply out? ──► held until it answers
//!                         ── plan::plan (SourceCache, observations) → fleet budget per rollout (a refused
//!                            one stays Pending) → Warning Events for lost claims → Command::Apply per target
//!  Input::Applied(target) ── record what the API holds (so a stale watch event cannot undo it), Event;
//!                            a failure marks the target Failed (Degraded)
//!  last answer            ── conditions → Command::WriteStatus when the status changed → pass closed
//!  released workload      ── re-baselined by the annotation path: a deleted ConfigSync rolls nothing
//!  --dry-run              ── plan::plan over the would-be records → WouldRollOut Events; records and status
//!                            kept in memory, nothing sent (see `pretend_pass`)
//! ```
use std::sync::Arc;

use configsync_crds::{ConfigSync, ConfigSyncStatus, TargetState};

use super::configsync::CsKey;
use super::configsync::plan::{self, Findings, TargetPlan};
use super::schedule::Subject;
use super::{
    Command, Core, DryRecord, Failure, Flight, Observation, Pending, RETRY_AFTER_FAILURE, Regarding,
};
use crate::plan::Decision;
use crate::plan::event::{EventText, EventType, decision_event, reason, would_roll_out_event};
use crate::workload::WorkloadRef;

/// A pass whose applies or status write have not all answered.
#[derive(Debug)]
pub(super) struct Open {
    cs: Arc<ConfigSync>,
    status: ConfigSyncStatus,
    findings: Findings,
    wake_after: Option<std::time::Duration>,
    targets: Vec<TargetPlan>,
    /// Applies not answered yet.
    outstanding: usize,
    /// The status write is out.
    writing: bool,
    /// Something asked for another pass meanwhile.
    again: bool,
}

impl Core {
    pub(super) fn on_configsync(&mut self, cs: ConfigSync) {
        let key = CsKey::of(&cs);
        let spec_changed = self.configsyncs.apply(cs);
        if spec_changed && self.is_ready() {
            self.settle(&key.namespace);
            self.schedule.queue(Subject::ConfigSync(key));
        }
    }

    pub(super) fn on_configsync_deleted(&mut self, key: &CsKey) {
        self.configsyncs.delete(key);
        self.schedule.forget(&Subject::ConfigSync(key.clone()));
        if self.is_ready() {
            self.settle(&key.namespace);
        }
    }

    /// Settle the claims of every namespace with a ConfigSync, and queue every ConfigSync (catch-up).
    pub(super) fn settle_all(&mut self) {
        for namespace in self.configsyncs.namespaces() {
            self.settle(&namespace);
        }
        for key in self.configsyncs.keys() {
            self.schedule.queue(Subject::ConfigSync(key));
        }
    }

    /// Settle the claims of `namespace`; a workload no ConfigSync drives any more goes back to its
    /// annotations with a re-baseline, so handing it back rolls nothing.
    pub(super) fn settle(&mut self, namespace: &str) {
        if !self.configsyncs.touches(namespace) {
            return;
        }
        let workloads = self
            .tracked
            .iter()
            .filter(|(w, _)| w.namespace == namespace)
            .map(|(w, t)| (w, &t.observation.labels));
        let settled = self.configsyncs.settle(namespace, workloads);
        for key in settled.changed {
            self.schedule.queue(Subject::ConfigSync(key));
        }
        let since = self.now.instant;
        for workload in settled.released {
            if let Some(tracked) = self.tracked.get_mut(&workload) {
                tracked.pending.get_or_insert_with(|| Pending {
                    rebaseline: true,
                    changes: Vec::new(),
                    since,
                });
            }
            self.schedule.queue(Subject::Workload(workload));
        }
    }

    /// Plan a pass over `key` and send its commands; held while an earlier pass or a target's apply is out.
    pub(super) fn reconcile_configsync(&mut self, key: &CsKey) {
        if let Some(open) = self.passes.get_mut(key) {
            open.again = true;
            return;
        }
        let Some((cs, drives)) = self.configsyncs.get(key) else {
            return;
        };
        let busy: Vec<WorkloadRef> = drives
            .mine
            .iter()
            .filter(|w| self.flights.contains_key(*w))
            .cloned()
            .collect();
        if !busy.is_empty() {
            // Each answer re-queues the workload, which routes to this ConfigSync again.
            self.held.extend(busy);
            return;
        }
        let now = self.now.time();
        let tracked = &self.tracked;
        let observation = |w: &WorkloadRef| tracked.get(w).map(|t| (&t.observation, t.live()));
        let mut pass = match plan::plan(&cs, &drives, &self.cache, observation, &now) {
            Ok(pass) => pass,
            Err(error) => {
                tracing::warn!(configsync = %key, %error, "ConfigSync spec cannot be resolved");
                return;
            }
        };
        if self.settings.dry_run {
            self.publish_conflicts(key, &cs);
            self.pretend_pass(key, &cs, pass);
            return;
        }
        self.admit_rollouts(&mut pass);
        self.publish_conflicts(key, &cs);
        for target in &pass.applies {
            self.flights.insert(
                target.workload.clone(),
                Flight::Target {
                    key: key.clone(),
                    index: target.index,
                },
            );
            self.commands.push(Command::Apply {
                workload: target.workload.clone(),
                body: target.body.clone(),
            });
        }
        let open = Open {
            cs,
            outstanding: pass.applies.len(),
            status: pass.status,
            findings: pass.findings,
            wake_after: pass.wake_after,
            targets: pass.applies,
            writing: false,
            again: false,
        };
        self.passes.insert(key.clone(), open);
        self.close_when_answered(key);
    }

    /// `--dry-run`: report the pass as a real run would make it (a `WouldRollOut` Event per rollout), keep
    /// the record each apply would have written and the status the pass would have written, in memory
    /// only, and send nothing. Nothing really rolls, so a would-be rollout counts as finished at once: a
    /// target `maxConcurrent` held back is reported by the next pass, at once; one `pause` held back, once
    /// the pause has passed. No fleet budget slot is taken, as on the annotation path.
    fn pretend_pass(&mut self, key: &CsKey, cs: &ConfigSync, mut pass: plan::Pass) {
        let mut rolled = false;
        for target in &pass.applies {
            let workload = &target.workload;
            if let Some(tracked) = self.tracked.get_mut(workload)
                && let Some(record) = DryRecord::of(workload, &target.body)
            {
                tracked.dry_record = Some(record);
            }
            match &target.decision {
                Decision::Roll { hash } => {
                    rolled = true;
                    tracing::info!(%workload, configsync = %key, hash = %hash, "dry run: would roll out new config");
                    self.metrics.would_roll_out(workload.kind.as_str());
                    self.publish(workload, would_roll_out_event(hash, &[]));
                }
                Decision::Adopt { hash } | Decision::Record { hash } => {
                    tracing::info!(%workload, configsync = %key, hash = %hash, "dry run: would record config");
                }
                _ => {}
            }
        }
        let now = self.now.time();
        plan::set_conditions(
            &mut pass.status,
            &pass.findings,
            cs.metadata.generation,
            &now,
        );
        let waiting = pass
            .status
            .targets
            .iter()
            .any(|t| t.state == TargetState::Pending);
        self.configsyncs.wrote(key, pass.status);
        let again = Subject::ConfigSync(key.clone());
        match pass.wake_after {
            Some(after) => self.schedule.wake_at(again, self.now.instant + after),
            // Each such pass reports at least one more target, so this ends.
            None if rolled && waiting => self.schedule.queue(again),
            None => {}
        }
    }

    /// Ask the fleet budget for each rollout; one it refuses is held back as `Pending` and retried when
    /// the budget frees a slot.
    fn admit_rollouts(&mut self, pass: &mut plan::Pass) {
        let mut held = Vec::new();
        let mut applies = std::mem::take(&mut pass.applies);
        applies.retain(|target| {
            let keep = !target.decision.is_rollout() || self.admit(&target.workload);
            if !keep {
                held.push(target.index);
            }
            keep
        });
        pass.applies = applies;
        for index in held {
            if let Some(target) = pass.status.targets.get_mut(index) {
                target.state = configsync_crds::TargetState::Pending;
                target.last_rollout_time = None;
            }
        }
    }

    /// Warning Events for workloads an older ConfigSync took from this one.
    fn publish_conflicts(&mut self, key: &CsKey, cs: &Arc<ConfigSync>) {
        for (workload, winner) in self.configsyncs.new_conflicts(key) {
            let text = EventText {
                type_: EventType::Warning,
                reason: configsync_crds::configsync::condition::TARGET_CLAIMED,
                note: format!(
                    "{workload} is also claimed by the older ConfigSync {winner}, which drives it"
                ),
            };
            self.commands.push(Command::Publish {
                regarding: Regarding::ConfigSync(cs.clone()),
                text,
            });
        }
    }

    /// One target's apply answered.
    pub(super) fn target_answered(
        &mut self,
        key: &CsKey,
        index: usize,
        workload: &WorkloadRef,
        outcome: Result<Box<Observation>, Failure>,
    ) {
        let Some(open) = self.passes.get_mut(key) else {
            return;
        };
        open.outstanding = open.outstanding.saturating_sub(1);
        let Some(target) = open.targets.iter().find(|t| t.index == index) else {
            return;
        };
        let rolled = target.decision.is_rollout();
        let event = decision_event(&target.decision, &[]);
        if outcome.is_err() {
            target.failed(&mut open.status, &mut open.findings);
        }
        match outcome {
            Ok(observation) => {
                if rolled {
                    tracing::info!(%workload, configsync = %key, "rolled out new config");
                    self.metrics.rollout(workload.kind.as_str(), reason::ROLLED);
                }
                if let Some(text) = event {
                    self.commands.push(Command::Publish {
                        regarding: Regarding::Workload {
                            workload: workload.clone(),
                            uid: observation.uid.clone(),
                        },
                        text,
                    });
                }
                self.record_applied(*observation, rolled);
            }
            Err(failure) => {
                self.metrics.error(failure.category);
                if failure.permanent {
                    tracing::warn!(%workload, configsync = %key, error = %failure.message, "apply refused");
                    let text = super::workloads::apply_failed_event(&failure);
                    self.publish(workload, text);
                } else {
                    tracing::warn!(%workload, configsync = %key, error = %failure.message, "apply failed; retrying later");
                    let at = self.now.instant + RETRY_AFTER_FAILURE;
                    self.schedule.wake_at(Subject::ConfigSync(key.clone()), at);
                }
                if rolled {
                    self.finish_rollout(workload);
                }
            }
        }
        self.close_when_answered(key);
    }

    /// Once every apply of `key`'s pass has answered: conditions, wake-up, and the status when it changed.
    fn close_when_answered(&mut self, key: &CsKey) {
        let Some(open) = self.passes.get_mut(key) else {
            return;
        };
        if open.outstanding > 0 || open.writing {
            return;
        }
        let generation = open.cs.metadata.generation;
        plan::set_conditions(
            &mut open.status,
            &open.findings,
            generation,
            &self.now.time(),
        );
        if let Some(after) = open.wake_after {
            let at = self.now.instant + after;
            self.schedule.wake_at(Subject::ConfigSync(key.clone()), at);
        }
        if open.cs.status.as_ref() == Some(&open.status) {
            self.close(key);
            return;
        }
        open.writing = true;
        let status = Box::new(open.status.clone());
        self.commands.push(Command::WriteStatus {
            key: key.clone(),
            status,
        });
    }

    pub(super) fn on_status_written(
        &mut self,
        key: &CsKey,
        outcome: Result<Box<ConfigSyncStatus>, Failure>,
    ) {
        match outcome {
            Ok(status) => self.configsyncs.wrote(key, *status),
            Err(failure) => {
                tracing::warn!(configsync = %key, error = %failure.message, "patching the status failed; retrying later");
                self.metrics.error("status");
                let at = self.now.instant + RETRY_AFTER_FAILURE;
                self.schedule.wake_at(Subject::ConfigSync(key.clone()), at);
            }
        }
        self.close(key);
    }

    fn close(&mut self, key: &CsKey) {
        if self.passes.remove(key).is_some_and(|open| open.again) {
            self.schedule.queue(Subject::ConfigSync(key.clone()));
        }
    }

    /// Keep what an apply read back, unless the watch already delivered something newer. A rollout
    /// holds its fleet budget slot until the workload reports it complete (as on the annotation path).
    fn record_applied(&mut self, observation: Observation, rolled: bool) {
        let workload: WorkloadRef = observation.workload.clone();
        let Some(tracked) = self.tracked.get_mut(&workload) else {
            if rolled {
                self.finish_rollout(&workload);
            }
            return;
        };
        if rolled {
            tracked.rolling = Some(observation.progress.generation);
        }
        if observation.progress.generation >= tracked.observation.progress.generation {
            tracked.observation = observation;
            tracked.pending = None;
        }
    }
}
