//! The controller loop: one task owns the source cache, the reverse index, the debouncer and the fleet
//! budget, and reconciles exactly the workloads a watch event touches.
//!
//! ```text
//!  Input::Source   → cache.apply → SourceUpdate::affected(index) → note pending change → debounce or queue
//!  Input::Workload → index.apply_workload, budget slot freed when its rollout completed → queue
//!  timer           → debouncer.due() and budget waiters → queue
//!  queue           → reconcile(w): dereference → validate → build (plan) → apply + Event + metrics
//! ```
//! A workload a ConfigSync drives is never reconciled here: its events wake that ConfigSync's pass
//! instead ([`owned`]), so each change has one writer and one rollout.
//!
//! Until every watch has listed once the loop only fills the cache and index; then it queues every
//! workload and ConfigSync once (the catch-up pass), which is where restarts and failovers are made safe.
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kube::Client;
use serde_json::Value;
use tokio::sync::mpsc;

use super::apply::{self, object_reference};
use super::configsync::ConfigSyncs;
use super::events::Events;
use super::sources::SourceInput;
use super::workloads::Observation;
use super::{Config, Error, Input, Metrics, WatchId};
use crate::annotations::Debounce;
use crate::cache::{SourceCache, SourceUpdate, Trigger};
use crate::hash::workload_hash;
use crate::index::RefIndex;
use crate::plan::apply::apply_body;
use crate::plan::budget::{Admission, RolloutBudget, TokenBucket};
use crate::plan::debounce::Debouncer;
use crate::plan::event::{EventText, SourceChange, decision_event, policy_event};
use crate::plan::{Decision, Live, decide, decide_rebaseline};
use crate::workload::WorkloadRef;

/// How long a failed apply waits before the workload is reconciled again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// Changes seen for a workload since it was last acted on.
#[derive(Debug)]
struct Pending {
    rebaseline: bool,
    changes: Vec<SourceChange>,
    since: Instant,
}

/// What the loop keeps per workload.
#[derive(Debug)]
struct Tracked {
    observation: Observation,
    pending: Option<Pending>,
    /// The generation our rollout produced, while it holds a budget slot.
    rolling: Option<i64>,
    /// The last Warning note, so a status update does not repeat it.
    last_warning: Option<String>,
}

/// What one reconcile decided, built without any I/O.
#[derive(Debug)]
pub struct Plan {
    /// The decision.
    pub decision: Decision,
    /// The server-side-apply body, when something is sent.
    pub body: Option<Value>,
    /// The Event, when the decision deserves one.
    pub event: Option<EventText>,
}

/// The controller loop's state.
pub struct Controller {
    client: Client,
    config: Config,
    metrics: Metrics,
    events: Events,
    ready: Arc<AtomicBool>,
    unsynced: BTreeSet<WatchId>,
    cache: SourceCache,
    index: RefIndex,
    tracked: HashMap<WorkloadRef, Tracked>,
    debouncer: Debouncer<WorkloadRef>,
    budget: RolloutBudget<WorkloadRef>,
    waiting: BTreeSet<WorkloadRef>,
    wake_at: Option<Instant>,
    queue: BTreeSet<WorkloadRef>,
    configsyncs: ConfigSyncs,
}

mod owned;

impl Controller {
    /// A loop that waits for `watches` to list before it acts.
    ///
    /// # Errors
    /// [`Error::BuildBudget`] for an invalid `rollouts_per_second`.
    pub fn new(
        client: Client,
        config: Config,
        metrics: Metrics,
        ready: Arc<AtomicBool>,
        watches: Vec<WatchId>,
    ) -> Result<Self, Error> {
        let bucket = config
            .rollouts_per_second
            .map(|rate| TokenBucket::new(rate, None, Instant::now()))
            .transpose()
            .map_err(Error::BuildBudget)?;
        let events = Events::new(client.clone(), config.instance.clone());
        Ok(Self {
            budget: RolloutBudget::new(config.max_concurrent_rollouts, bucket),
            client,
            config,
            metrics,
            events,
            ready,
            unsynced: watches.into_iter().collect(),
            cache: SourceCache::default(),
            index: RefIndex::default(),
            tracked: HashMap::new(),
            debouncer: Debouncer::default(),
            waiting: BTreeSet::new(),
            wake_at: None,
            queue: BTreeSet::new(),
            configsyncs: ConfigSyncs::default(),
        })
    }

    /// Run until the watches stop.
    ///
    /// # Errors
    /// [`Error::ReceiveInput`] when every watch task is gone.
    pub async fn run(mut self, mut input_rx: mpsc::Receiver<Input>) -> Result<(), Error> {
        loop {
            let deadline = [
                self.debouncer.next_deadline(),
                self.wake_at,
                self.configsyncs.next_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = deadline.map(tokio::time::Instant::from_std);
            tokio::select! {
                input = input_rx.recv() => match input {
                    Some(input) => self.handle(input),
                    None => return Err(Error::ReceiveInput),
                },
                () = sleep_until(sleep), if sleep.is_some() => self.on_timer(Instant::now()),
            }
            self.drain().await;
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Source(source) => self.on_source(source),
            Input::Workload(observation) => self.on_workload(*observation),
            Input::WorkloadDeleted(workload) => self.on_workload_deleted(&workload),
            Input::Synced(watch) => self.on_synced(&watch),
            Input::ConfigSync(cs) => self.on_configsync(*cs),
            Input::ConfigSyncDeleted(key) => self.on_configsync_deleted(&key),
            Input::WatchError => self.metrics.error("watch"),
        }
    }

    fn is_ready(&self) -> bool {
        self.unsynced.is_empty()
    }

    fn on_synced(&mut self, watch: &WatchId) {
        if self.unsynced.remove(watch) && self.is_ready() {
            tracing::info!(
                workloads = self.index.workload_count(),
                sources = self.cache.len(),
                "every watch has listed; catching up"
            );
            self.queue.extend(self.tracked.keys().cloned());
            self.settle_all();
            self.ready.store(true, Ordering::Release);
        }
    }

    fn on_source(&mut self, source: SourceInput) {
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
        self.configsyncs
            .on_source(&update.namespace, &update.id, &labels, seen);
        let affected = update.affected(&self.index);
        tracing::debug!(
            ns = %update.namespace, source = %update.id, affected = affected.len(), "source changed"
        );
        for workload in affected {
            match self.configsyncs.owner(&workload) {
                Some(owner) => self.configsyncs.on_owned_source(owner.clone(), seen),
                None => self.note_change(&workload, &update, seen),
            }
        }
    }

    fn note_change(&mut self, workload: &WorkloadRef, update: &SourceUpdate, seen: Instant) {
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
            Ok(Some(followed)) => followed.policy.debounce.or(self.config.debounce),
            _ => None,
        };
        match debounce.filter(|d| !d.min.is_zero()) {
            Some(debounce) => self.debouncer.record(workload.clone(), debounce, seen),
            None => {
                self.queue.insert(workload.clone());
            }
        }
    }

    fn on_workload(&mut self, observation: Observation) {
        let workload = observation.workload.clone();
        match &observation.follow {
            Ok(Some(followed)) => self
                .index
                .apply_workload(workload.clone(), &followed.sources),
            _ => self.index.delete_workload(&workload),
        }
        self.metrics
            .followed_workloads
            .set(i64::try_from(self.index.workload_count()).unwrap_or(i64::MAX));
        self.metrics
            .followed_sources
            .set(i64::try_from(self.index.source_count()).unwrap_or(i64::MAX));
        let mut relabelled = true;
        let tracked = match self.tracked.entry(workload.clone()) {
            Entry::Occupied(entry) => {
                let tracked = entry.into_mut();
                // A watch event older than our own apply response (generations only grow) is stale.
                if observation.progress.generation < tracked.observation.progress.generation {
                    return;
                }
                relabelled = tracked.observation.labels != observation.labels;
                tracked.observation = observation;
                tracked
            }
            Entry::Vacant(entry) => entry.insert(Tracked {
                observation,
                pending: None,
                rolling: None,
                last_warning: None,
            }),
        };
        let completed = tracked
            .rolling
            .is_some_and(|generation| tracked.observation.progress.is_complete_for(generation));
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
            Some(owner) => self.configsyncs.queue(owner.clone()),
            None if !self.debouncer.is_pending(&workload) => {
                self.queue.insert(workload);
            }
            None => {}
        }
    }

    fn on_workload_deleted(&mut self, workload: &WorkloadRef) {
        self.index.delete_workload(workload);
        self.tracked.remove(workload);
        self.debouncer.cancel(workload);
        self.waiting.remove(workload);
        self.finish_rollout(workload);
        if self.is_ready() {
            self.settle(&workload.namespace);
        }
    }

    /// Free `workload`'s budget slot and let every waiter try again.
    fn finish_rollout(&mut self, workload: &WorkloadRef) {
        self.budget.finish(workload);
        self.queue.append(&mut self.waiting);
    }

    fn on_timer(&mut self, now: Instant) {
        self.queue.extend(self.debouncer.due(now));
        self.configsyncs.due(now);
        if self.wake_at.is_some_and(|at| at <= now) {
            self.wake_at = None;
            self.queue.append(&mut self.waiting);
        }
    }

    /// Dereference → validate → build → apply, for one workload.
    async fn reconcile(&mut self, workload: &WorkloadRef) {
        let Some(plan) = self.build(workload) else {
            return;
        };
        if plan.decision.is_rollout() && !self.admit(workload) {
            return;
        }
        if let Some(body) = &plan.body {
            match apply::apply(&self.client, workload, body, self.config.auto_all).await {
                Ok(observation) => self.applied(workload, &plan.decision, observation),
                Err(error) => {
                    tracing::warn!(%workload, error = %error, "apply failed; retrying later");
                    self.metrics.error(error.category());
                    self.retry_later(workload, plan.decision.is_rollout());
                    return;
                }
            }
        }
        if let Some(event) = &plan.event {
            self.publish(workload, event).await;
        }
    }

    /// The plan for `workload`, from the cache and its observation only; `None` when it is not followed
    /// or its annotations are malformed (a Warning Event is published once per distinct problem).
    fn build(&mut self, workload: &WorkloadRef) -> Option<Plan> {
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
        let observation = &tracked.observation;
        let live = Live {
            template_hash: observation.template_hash.as_deref(),
            observed_hash: observation.observed_hash.as_deref(),
        };
        let computed = workload_hash(
            &followed.sources,
            &self.cache.namespace(&workload.namespace),
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
        tracked.last_warning = None;
        let body = apply_body(workload, live, &decision);
        if body.is_none() {
            tracked.pending = None;
        }
        Some(Plan {
            decision,
            body,
            event,
        })
    }

    /// Ask the fleet budget for a rollout slot; park the workload when there is none.
    fn admit(&mut self, workload: &WorkloadRef) -> bool {
        match self.budget.try_start(workload, Instant::now()) {
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

    fn applied(&mut self, workload: &WorkloadRef, decision: &Decision, observation: Observation) {
        let Some(tracked) = self.tracked.get_mut(workload) else {
            return;
        };
        let generation = observation.progress.generation;
        tracked.observation = observation;
        if let Some(pending) = tracked.pending.take()
            && matches!(decision, Decision::Roll { .. } | Decision::Report { .. })
        {
            self.metrics
                .event_to_patch
                .observe(pending.since.elapsed().as_secs_f64());
        }
        let kind = workload.kind.as_str();
        match decision {
            Decision::Roll { hash } => {
                tracing::info!(%workload, hash = %hash, "rolled out new config");
                tracked.rolling = Some(generation);
                self.metrics
                    .rollout(kind, crate::plan::event::reason::ROLLED);
            }
            Decision::Report { hash, .. } => {
                tracing::info!(%workload, hash = %hash, "recorded new config without a restart");
                self.metrics
                    .rollout(kind, crate::plan::event::reason::CHANGED);
            }
            Decision::Adopt { hash } | Decision::Record { hash } => {
                tracing::info!(%workload, hash = %hash, "recorded config");
            }
            Decision::Nothing | Decision::Warn { .. } => {}
        }
    }

    fn retry_later(&mut self, workload: &WorkloadRef, was_rollout: bool) {
        if was_rollout {
            self.finish_rollout(workload);
        }
        let retry = Debounce::new(RETRY_AFTER_FAILURE, Some(RETRY_AFTER_FAILURE));
        self.debouncer
            .record(workload.clone(), retry, Instant::now());
    }

    async fn publish(&self, workload: &WorkloadRef, event: &EventText) {
        let uid = self
            .tracked
            .get(workload)
            .and_then(|t| t.observation.uid.as_deref());
        let regarding = object_reference(workload, uid);
        if self.events.publish(event, &regarding).await.is_err() {
            self.metrics.error("event");
        }
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

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
