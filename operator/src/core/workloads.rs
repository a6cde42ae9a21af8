//! The core's annotation path: source and workload inputs, and one workload's reconcile
//! (dereference → validate → build → budget → [`Command::Apply`]), then what its answer means.
use std::collections::hash_map::Entry;

use super::schedule::Subject;
use super::{
    Command, Core, DryRecord, Failure, Flight, Observation, Pending, Regarding, SourceInput,
    Tracked,
};
use crate::annotations::Debounce;
use crate::cache::{SourceUpdate, Trigger};
use crate::hash::workload_hash;
use crate::plan::apply::apply_body;
use crate::plan::budget::Admission;
use crate::plan::condition::WorkloadCondition;
use crate::plan::event::{
    EventText, EventType, SourceChange, decision_event, policy_event, reason, would_roll_out_event,
};
use crate::plan::last_rollout::LastRollout;
use crate::plan::{Decision, decide, decide_rebaseline};
use crate::workload::WorkloadRef;

/// What one reconcile decided, built without any I/O.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) decision: Decision,
    body: Option<serde_json::Value>,
    event: Option<EventText>,
}

impl Core {
    pub(super) fn on_source(&mut self, source: SourceInput) {
        let (update, labels, seen) = match source {
            SourceInput::Applied {
                kind,
                meta,
                digests,
                seen,
            } => {
                let labels = meta.labels.clone().unwrap_or_default();
                (self.cache.apply(kind, &meta, digests), labels, seen)
            }
            SourceInput::Deleted {
                namespace,
                id,
                seen,
            } => {
                let labels = self
                    .cache
                    .get(&namespace, &id)
                    .map(|e| e.labels.clone())
                    .unwrap_or_default();
                (self.cache.delete(&namespace, &id), labels, seen)
            }
        };
        if !self.is_ready() {
            return;
        }
        for (key, quiet) in self
            .configsyncs
            .following(&update.namespace, &update.id, &labels)
        {
            self.schedule
                .debounce(Subject::ConfigSync(key), quiet, seen);
        }
        let affected = update.affected(&self.index);
        tracing::debug!(
            ns = %update.namespace, source = %update.id, affected = affected.len(), "source changed"
        );
        for workload in affected {
            match self.configsyncs.owner(&workload) {
                Some(owner) => {
                    let quiet = self.configsyncs.quiet_period(owner);
                    let subject = Subject::ConfigSync(owner.clone());
                    self.schedule.debounce(subject, quiet, seen);
                }
                None => self.note_change(&workload, &update, seen),
            }
        }
    }

    fn note_change(
        &mut self,
        workload: &WorkloadRef,
        update: &SourceUpdate,
        seen: std::time::Instant,
    ) {
        let Some(tracked) = self.tracked.get_mut(workload) else {
            return;
        };
        let pending = tracked.pending.get_or_insert_with(|| Pending {
            rebaseline: true,
            changes: Vec::new(),
            since: seen,
        });
        // A content change anywhere in the window must roll: it wins over a re-baseline.
        pending.rebaseline &= update.trigger == Trigger::Rebaseline;
        pending.changes.push(SourceChange {
            id: update.id.clone(),
            change: update.change.clone(),
        });
        let debounce = match &tracked.observation.follow {
            Ok(Some(followed)) => followed.policy.debounce.or(self.settings.debounce),
            _ => None,
        };
        let debounce = Debounce::at_least(debounce, self.settings.settle);
        self.schedule
            .debounce(Subject::Workload(workload.clone()), debounce, seen);
    }

    pub(super) fn on_workload(&mut self, observation: Observation) {
        let workload = observation.workload.clone();
        match &observation.follow {
            Ok(Some(followed)) => self
                .index
                .apply_workload(workload.clone(), &followed.sources),
            _ => self.index.delete_workload(&workload),
        }
        self.count_followed();
        let mut relabelled = true;
        let tracked = match self.tracked.entry(workload.clone()) {
            Entry::Occupied(entry) => {
                let tracked = entry.into_mut();
                // A watch event older than our own apply response (generations only grow) is stale.
                if observation.progress.generation < tracked.observation.progress.generation {
                    return;
                }
                relabelled = tracked.observation.labels != observation.labels;
                tracked.clearing &= observation.config_applied == Some(false);
                tracked.observation = observation;
                tracked
            }
            Entry::Vacant(entry) => entry.insert(Tracked {
                observation,
                pending: None,
                rolling: None,
                last_warning: None,
                dry_record: None,
                refused: None,
                clearing: false,
            }),
        };
        let completed = tracked
            .rolling
            .is_some_and(|generation| tracked.observation.progress.is_complete_for(generation));
        let others_rolled = tracked.observation.live().rolled_by_others();
        if completed {
            tracked.rolling = None;
            self.finish_rollout(&workload);
        }
        if !self.is_ready() {
            return;
        }
        if relabelled {
            self.settle(&workload.namespace);
        }
        match self.configsyncs.owner(&workload) {
            Some(owner) => self.schedule.queue(Subject::ConfigSync(owner.clone())),
            // Someone else's rollout: wait for the rest of their deploy (the ConfigMap may come next).
            None if others_rolled => {
                let settle = Debounce::at_least(None, self.settings.settle);
                let now = self.now.instant;
                self.schedule
                    .debounce(Subject::Workload(workload), settle, now);
            }
            None => self.schedule.queue(Subject::Workload(workload)),
        }
    }

    fn count_followed(&self) {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.metrics
            .followed_workloads
            .set(count(self.index.workload_count()));
        self.metrics
            .followed_sources
            .set(count(self.index.source_count()));
    }

    pub(super) fn on_workload_deleted(&mut self, workload: &WorkloadRef) {
        self.index.delete_workload(workload);
        self.tracked.remove(workload);
        self.schedule.forget(&Subject::Workload(workload.clone()));
        self.waiting.remove(workload);
        self.held.remove(workload);
        self.finish_rollout(workload);
        if self.is_ready() {
            self.settle(&workload.namespace);
        }
    }

    /// Dereference → validate → build → budget → apply command, for one workload.
    pub(super) fn reconcile(&mut self, workload: &WorkloadRef) {
        let Some(plan) = self.build(workload) else {
            return;
        };
        if self.settings.dry_run {
            self.pretend(workload, plan);
            return;
        }
        if plan.decision.is_rollout() && !self.admit(workload) {
            return;
        }
        match plan.body {
            Some(body) => {
                self.flights.insert(
                    workload.clone(),
                    Flight::Workload {
                        decision: plan.decision,
                        event: plan.event,
                    },
                );
                self.commands.push(Command::Apply {
                    workload: workload.clone(),
                    body,
                });
            }
            None => match plan.event {
                Some(event) => self.publish(workload, event),
                None => self.clear_refusal(workload),
            },
        }
    }

    /// Nothing to apply and no refusal since: a `ConfigSyncApplied` False left in status (by a race with the
    /// answer, or before a restart) is set True.
    fn clear_refusal(&mut self, workload: &WorkloadRef) {
        let Some(tracked) = self.tracked.get_mut(workload) else {
            return;
        };
        if tracked.refused.is_none()
            && !tracked.clearing
            && tracked.observation.config_applied == Some(false)
        {
            tracked.clearing = true;
            self.commands.push(Command::SetCondition {
                workload: workload.clone(),
                condition: WorkloadCondition::applied(),
            });
        }
    }

    /// The plan for `workload`, from the cache and its observation only; `None` when it is not followed
    /// or its annotations are malformed (a Warning Event is published once per distinct problem).
    pub(super) fn build(&mut self, workload: &WorkloadRef) -> Option<Plan> {
        let tracked = self.tracked.get_mut(workload)?;
        let followed = match &tracked.observation.follow {
            Ok(Some(followed)) => followed,
            Ok(None) => {
                tracked.pending = None;
                return None;
            }
            Err(error) => {
                let event = policy_event(error);
                self.metrics.error("annotation");
                return warn_once(tracked, event);
            }
        };
        let live = tracked.live();
        let computed = workload_hash(
            &followed.sources,
            &self
                .cache
                .namespace(&workload.namespace)
                .for_policy(&followed.policy),
        );
        let decision = match &tracked.pending {
            Some(pending) if pending.rebaseline => decide_rebaseline(live, computed),
            _ => decide(followed.policy.strategy, live, computed),
        };
        let changes = tracked.pending.as_ref().map_or(&[][..], |p| &p.changes[..]);
        let event = decision_event(&decision, changes);
        if let Decision::Warn { .. } = decision {
            self.metrics.error("source_missing");
            return event.and_then(|event| warn_once(tracked, event));
        }
        let rollout = LastRollout::of(&decision, changes, self.now.wall, None);
        let body = apply_body(workload, live, &decision, rollout.as_ref());
        tracked.last_warning = None;
        if body.is_none() {
            tracked.pending = None;
        }
        Some(Plan {
            decision,
            body,
            event,
        })
    }

    /// `--dry-run`: remember what the apply would have written (so the same change is not decided again),
    /// and report a rollout as a `WouldRollOut` Event; nothing is sent and no budget slot is taken.
    fn pretend(&mut self, workload: &WorkloadRef, plan: Plan) {
        let Some(body) = plan.body else {
            if let Some(event) = plan.event {
                self.publish(workload, event);
            }
            return;
        };
        let Some(tracked) = self.tracked.get_mut(workload) else {
            return;
        };
        if let Some(record) = DryRecord::of(workload, &body) {
            tracked.dry_record = Some(record);
        }
        let changes = tracked
            .pending
            .take()
            .map(|p| p.changes)
            .unwrap_or_default();
        match &plan.decision {
            Decision::Roll { hash } => {
                tracing::info!(%workload, hash = %hash, "dry run: would roll out new config");
                self.metrics.would_roll_out(workload.kind.as_str());
                self.publish(workload, would_roll_out_event(hash, &changes));
            }
            Decision::Adopt { hash } | Decision::Record { hash } => {
                tracing::info!(%workload, hash = %hash, "dry run: would record config");
            }
            _ => {}
        }
    }

    /// Ask the fleet budget for a rollout slot; park the workload when there is none.
    pub(super) fn admit(&mut self, workload: &WorkloadRef) -> bool {
        match self.budget.try_start(workload, self.now.instant) {
            Admission::Start => true,
            Admission::WaitForSlot => {
                self.waiting.insert(workload.clone());
                false
            }
            Admission::WaitUntil(at) => {
                self.waiting.insert(workload.clone());
                self.wake_at = Some(self.wake_at.map_or(at, |wake| wake.min(at)));
                false
            }
        }
    }

    /// An apply answered: route it to the path that sent it.
    pub(super) fn on_applied(
        &mut self,
        workload: &WorkloadRef,
        outcome: Result<Box<Observation>, Failure>,
    ) {
        let Some(flight) = self.flights.remove(workload) else {
            return;
        };
        match flight {
            Flight::Workload { decision, event } => match outcome {
                Ok(observation) => {
                    self.applied(workload, &decision, *observation);
                    if let Some(event) = event {
                        self.publish(workload, event);
                    }
                }
                Err(failure) => self.apply_failed(workload, decision.is_rollout(), &failure),
            },
            Flight::Target { key, index } => self.target_answered(&key, index, workload, outcome),
        }
        self.landed(workload);
    }

    fn applied(&mut self, workload: &WorkloadRef, decision: &Decision, observation: Observation) {
        let Some(tracked) = self.tracked.get_mut(workload) else {
            if decision.is_rollout() {
                self.finish_rollout(workload);
            }
            return;
        };
        let generation = observation.progress.generation;
        let refused_before = observation.config_applied == Some(false);
        tracked.refused = None;
        if generation >= tracked.observation.progress.generation {
            tracked.observation = observation;
        }
        if refused_before && !tracked.clearing {
            tracked.clearing = true;
            self.commands.push(Command::SetCondition {
                workload: workload.clone(),
                condition: WorkloadCondition::applied(),
            });
        }
        if let Some(pending) = tracked.pending.take()
            && matches!(decision, Decision::Roll { .. } | Decision::Report { .. })
        {
            self.metrics
                .event_to_patch
                .observe((self.now.instant - pending.since).as_secs_f64());
        }
        let kind = workload.kind.as_str();
        match decision {
            Decision::Roll { hash } => {
                tracing::info!(%workload, hash = %hash, "rolled out new config");
                tracked.rolling = Some(generation);
                self.metrics.rollout(kind, reason::ROLLED);
            }
            Decision::Report { hash, .. } => {
                tracing::info!(%workload, hash = %hash, "recorded new config without a restart");
                self.metrics.rollout(kind, reason::CHANGED);
            }
            Decision::Adopt { hash } | Decision::Record { hash } => {
                tracing::info!(%workload, hash = %hash, "recorded config");
            }
            Decision::Nothing | Decision::Warn { .. } => {}
        }
    }

    /// A failed apply gives its budget slot back. A transient failure (after the shell's own retries) is
    /// tried again later; a permanent one gets a Warning Event and waits for the next change.
    fn apply_failed(&mut self, workload: &WorkloadRef, was_rollout: bool, failure: &Failure) {
        self.metrics.error(failure.category);
        if was_rollout {
            self.finish_rollout(workload);
        }
        if failure.permanent {
            tracing::warn!(%workload, error = %failure.message, "apply refused; not retrying");
            let Some(tracked) = self.tracked.get_mut(workload) else {
                return;
            };
            tracked.pending = None;
            let event = apply_failed_event(failure);
            let repeated = tracked.refused.as_deref() == Some(event.note.as_str());
            if repeated && tracked.observation.config_applied == Some(false) {
                return;
            }
            tracked.refused = Some(event.note.clone());
            if !repeated {
                self.publish(workload, event);
            }
            // Also when repeated but status lost it: a StatefulSet controller that retries its status write
            // after a conflict puts back the status it computed before the condition was there.
            if WorkloadCondition::is_written_for(workload.kind) {
                self.commands.push(Command::SetCondition {
                    workload: workload.clone(),
                    condition: WorkloadCondition::refused(failure.category, &failure.message),
                });
            }
            return;
        }
        tracing::warn!(%workload, error = %failure.message, "apply failed; retrying later");
        let retry = Debounce::new(super::RETRY_AFTER_FAILURE, Some(super::RETRY_AFTER_FAILURE));
        self.schedule.debounce(
            Subject::Workload(workload.clone()),
            Some(retry),
            self.now.instant,
        );
    }

    /// Publish `text` on `workload`.
    pub(super) fn publish(&mut self, workload: &WorkloadRef, text: EventText) {
        let uid = self
            .tracked
            .get(workload)
            .and_then(|t| t.observation.uid.clone());
        self.commands.push(Command::Publish {
            regarding: Regarding::Workload {
                workload: workload.clone(),
                uid,
            },
            text,
        });
    }
}

/// The Warning Event of an apply the API refused for good.
pub(super) fn apply_failed_event(failure: &Failure) -> EventText {
    EventText {
        type_: EventType::Warning,
        reason: reason::APPLY_FAILED,
        note: format!(
            "applying the config annotations was refused ({}): {}",
            failure.category, failure.message
        ),
    }
}

/// Return a plan that only publishes `event`, unless the same warning was published last time.
fn warn_once(tracked: &mut Tracked, event: EventText) -> Option<Plan> {
    if tracked.last_warning.as_deref() == Some(event.note.as_str()) {
        return None;
    }
    tracked.last_warning = Some(event.note.clone());
    Some(Plan {
        decision: Decision::Nothing,
        body: None,
        event: Some(event),
    })
}
