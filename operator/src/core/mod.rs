//! The decision core: the operator's reconcile loop as a state machine, with no client, no clock and no
//! I/O. Inputs go in (watch events, results of applies and status writes, timer ticks), each with the time
//! it happened; commands come out (apply this body, publish this Event, write this status). The shell
//! (the `controller` module) feeds it and runs the commands.
//!
//! ```text
//!  Input::Source    → cache.apply → SourceUpdate::affected(index) → pending change → schedule (debounced)
//!  Input::Workload  → index.apply_workload; a finished rollout frees its budget slot → schedule
//!  Input::ConfigSync→ settle claims of its namespace → schedule the ConfigSync
//!  Input::Applied   → record what the API holds (or the failure), Event, finish a ConfigSync pass;
//!                     a refusal for good also sets the workload's ConfigSyncApplied condition False, the
//!                     next apply that succeeds sets it True
//!  tick(now)        → quiet periods and wake-ups that are due, budget waiters → schedule
//!  drain            → Subject::Workload(w):   dereference → validate → build (plan) → budget → Command::Apply
//!                     Subject::ConfigSync(c): plan the pass → budget per rollout → Command::Apply per target,
//!                                             Command::WriteStatus once every apply has answered
//! ```
//! [`schedule::Scheduler`] is the one queue for workloads and ConfigSyncs. A workload a ConfigSync drives is
//! never reconciled on its own: its events wake that ConfigSync instead, so each change has one writer and
//! one rollout.
//!
//! **One apply per workload.** While an apply for a workload is out, the core decides nothing more for
//! it: a reconcile that comes up meanwhile is held and runs when the result is in, over what the API
//! answered. So concurrent applies never send the same rollout twice, and the newest intent wins.
//!
//! Until every watch has listed once the core only fills the cache and index; then it schedules every
//! workload and ConfigSync once (the catch-up pass), which is where restarts and failovers are made safe.
//!
//! The boundary is kept by `core_has_no_io` in [`tests`]: nothing under `core/` names the kube client, its
//! `Api`, tokio, or the shell.
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use configsync_crds::{ConfigSync, ConfigSyncStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::annotations::Debounce;
use crate::cache::SourceCache;
use crate::index::RefIndex;
use crate::metrics::Metrics;
use crate::plan::Decision;
use crate::plan::budget::{RolloutBudget, TokenBucket};
use crate::plan::event::{EventText, SourceChange};
use crate::workload::WorkloadRef;

pub mod configsync;
pub mod observation;
mod passes;
pub mod schedule;
mod workloads;

#[cfg(test)]
mod tests;

use configsync::{ConfigSyncs, CsKey};
pub use observation::{Observation, Progress};
use schedule::{Scheduler, Subject};

/// How long a failed apply or status write waits before its subject is reconciled again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// The decisions' settings, from the command line.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The quiet period of workloads that set none (`None`: act at once).
    pub debounce: Option<Debounce>,
    /// Rollouts in progress at once, fleet-wide (`None`: unlimited).
    pub max_concurrent_rollouts: Option<std::num::NonZeroUsize>,
    /// Rollouts started per second, fleet-wide (`None`: unlimited).
    pub rollouts_per_second: Option<f64>,
    /// `--dry-run`: decide and report (`WouldRollOut` Events, metrics) but send no apply; the would-be
    /// record is kept in memory so each change is reported once.
    pub dry_run: bool,
    /// The shortest wait after a source change or someone else's template change before deciding, so that
    /// a deploy that writes a ConfigMap and its workload one after the other gives one rollout (zero: act
    /// at once).
    pub settle: Duration,
}

/// Failures building the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rate limit is not a positive number.
    #[error("invalid --rollouts-per-second")]
    BuildBudget(#[source] crate::plan::budget::Error),
}

/// One running watch, by resource and namespace (for readiness and logs).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchId(String);

impl WatchId {
    /// `plural` in `namespace`, or cluster-wide.
    pub fn new(plural: &str, namespace: Option<&str>) -> Self {
        Self(format!("{plural}@{}", namespace.unwrap_or("*")))
    }
}

impl std::fmt::Display for WatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ConfigMap or Secret change, reduced by the watch task to digests.
#[derive(Debug)]
pub enum SourceInput {
    /// Added or modified.
    Applied {
        /// ConfigMap or Secret.
        kind: configsync_crds::SourceKind,
        /// Name, namespace, resourceVersion, labels and the ignore annotations only.
        meta: Box<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
        /// Per-key digests of `data` and `binaryData`.
        digests: crate::hash::KeyDigests,
        /// When the watch delivered it (for the event→patch latency).
        seen: Instant,
    },
    /// Deleted (or gone after a relist).
    Deleted {
        /// The namespace.
        namespace: String,
        /// The source.
        id: crate::refs::SourceId,
        /// When the watch delivered it.
        seen: Instant,
    },
}

/// What goes into the core.
#[derive(Debug)]
pub enum Input {
    /// A ConfigMap or Secret changed (digests only).
    Source(SourceInput),
    /// A workload was added or modified.
    Workload(Box<Observation>),
    /// A workload is gone.
    WorkloadDeleted(WorkloadRef),
    /// A watch completed its (re)list.
    Synced(WatchId),
    /// A ConfigSync was added or modified.
    ConfigSync(Box<ConfigSync>),
    /// A ConfigSync is gone.
    ConfigSyncDeleted(CsKey),
    /// A watch failed and will retry (counted).
    WatchError,
    /// The answer to a [`Command::Apply`].
    Applied {
        /// The workload.
        workload: WorkloadRef,
        /// What the API now holds, or why the apply failed.
        outcome: Result<Box<Observation>, Failure>,
    },
    /// The answer to a [`Command::WriteStatus`].
    StatusWritten {
        /// The ConfigSync.
        key: CsKey,
        /// The status written, or why it was not.
        outcome: Result<Box<ConfigSyncStatus>, Failure>,
    },
}

/// Why a request failed, as the shell classified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// A bounded label (`forbidden`, `not_found`, `invalid`, `conflict`, `throttled`, `server`, `timeout`,
    /// `transport`).
    pub category: &'static str,
    /// Retrying will not help (403, 404, 422 and other 4xx): a Warning Event (and condition), no retry.
    pub permanent: bool,
    /// The error, for the Event note and the log (never a value).
    pub message: String,
}

/// What an Event is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Regarding {
    /// A workload (its uid when known).
    Workload {
        /// The workload.
        workload: WorkloadRef,
        /// Its uid.
        uid: Option<String>,
    },
    /// A ConfigSync.
    ConfigSync(std::sync::Arc<ConfigSync>),
}

/// What comes out of the core, for the shell to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Server-side apply `body` to `workload`; answer with [`Input::Applied`].
    Apply {
        /// The workload.
        workload: WorkloadRef,
        /// The body (only the annotations configsync owns).
        body: serde_json::Value,
    },
    /// Publish an Event (no answer: a lost Event is counted, never retried by the core).
    Publish {
        /// What it is about.
        regarding: Regarding,
        /// Type, reason and note.
        text: EventText,
    },
    /// Server-side apply configsync's `ConfigSyncApplied` condition to a workload's status (no answer: a
    /// write that fails for good is logged and counted; the next refusal or apply writes it again).
    SetCondition {
        /// The workload.
        workload: WorkloadRef,
        /// The condition.
        condition: crate::plan::condition::WorkloadCondition,
    },
    /// Merge-patch a ConfigSync's status; answer with [`Input::StatusWritten`].
    WriteStatus {
        /// The ConfigSync.
        key: CsKey,
        /// The whole status.
        status: Box<ConfigSyncStatus>,
    },
}

/// The time an input happened: monotonic for timers, wall-clock for status timestamps.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// For timers and latencies.
    pub instant: Instant,
    /// For `lastRolloutTime` and condition transitions.
    pub wall: jiff::Timestamp,
}

impl Now {
    /// The wall-clock time as the API writes it.
    fn time(&self) -> Time {
        Time(self.wall)
    }
}

/// Changes seen for a workload since it was last acted on.
#[derive(Debug)]
struct Pending {
    rebaseline: bool,
    changes: Vec<SourceChange>,
    since: Instant,
}

/// What the core keeps per workload.
#[derive(Debug)]
struct Tracked {
    observation: Observation,
    pending: Option<Pending>,
    /// The generation our rollout produced, while it holds a budget slot.
    rolling: Option<i64>,
    /// The last Warning note, so a status update does not repeat it.
    last_warning: Option<String>,
    /// The last refusal of an apply (Event note), until an apply goes through: a refusal repeated by the
    /// next reconciles warns and sets the condition once.
    refused: Option<String>,
    /// A `ConfigSyncApplied` True write is out (until a watch event no longer shows it False).
    clearing: bool,
    /// `--dry-run`: the record the apply would have written, read instead of the live one.
    dry_record: Option<DryRecord>,
}

impl Tracked {
    /// The hashes and fingerprints the decisions read: the live ones, or in a dry run the record the last
    /// apply would have written over them (so the same change is not decided again).
    fn live(&self) -> crate::plan::Live<'_> {
        let live = self.observation.live();
        match &self.dry_record {
            Some(record) => crate::plan::Live {
                template_hash: record.template_hash.as_deref(),
                observed_hash: Some(record.observed_hash.as_str()),
                observed_template: record.observed_template.as_deref(),
                record_label: record.record_label.as_deref(),
                ..live
            },
            None => live,
        }
    }
}

/// What a dry-run apply would have written: the record fields of its body.
#[derive(Debug, PartialEq, Eq)]
struct DryRecord {
    template_hash: Option<String>,
    observed_hash: String,
    observed_template: Option<String>,
    record_label: Option<String>,
}

impl DryRecord {
    /// The record an apply `body` for `workload` writes (`None` for a body without one).
    fn of(workload: &WorkloadRef, body: &serde_json::Value) -> Option<Self> {
        use configsync_crds::annotations::{
            CONFIG_HASH, OBSERVED_HASH, OBSERVED_TEMPLATE, RECORD_LABEL,
        };
        let text = |value: Option<&serde_json::Value>| {
            value.and_then(serde_json::Value::as_str).map(str::to_owned)
        };
        let metadata = &body["metadata"];
        let template = workload
            .kind
            .template_path()
            .iter()
            .fold(body, |value, field| &value[*field]);
        Some(Self {
            observed_hash: text(metadata["annotations"].get(OBSERVED_HASH))?,
            observed_template: text(metadata["annotations"].get(OBSERVED_TEMPLATE)),
            record_label: text(metadata["labels"].get(RECORD_LABEL)),
            template_hash: text(template["metadata"]["annotations"].get(CONFIG_HASH)),
        })
    }
}

/// Why an apply is out: what to do with its answer.
#[derive(Debug)]
enum Flight {
    /// The annotation path: the decision and its Event.
    Workload {
        decision: Decision,
        event: Option<EventText>,
    },
    /// A target of a ConfigSync pass.
    Target { key: CsKey, index: usize },
}

/// The decision core's state.
pub struct Core {
    settings: Settings,
    metrics: Metrics,
    now: Now,
    unsynced: BTreeSet<WatchId>,
    cache: SourceCache,
    index: RefIndex,
    tracked: HashMap<WorkloadRef, Tracked>,
    schedule: Scheduler,
    budget: RolloutBudget<WorkloadRef>,
    waiting: BTreeSet<WorkloadRef>,
    wake_at: Option<Instant>,
    configsyncs: ConfigSyncs,
    /// Applies out, by workload.
    flights: HashMap<WorkloadRef, Flight>,
    /// Workloads to reconcile again once their apply has answered.
    held: BTreeSet<WorkloadRef>,
    /// ConfigSync passes whose applies or status write are out.
    passes: HashMap<CsKey, passes::Open>,
    commands: Vec<Command>,
}

impl Core {
    /// A core that waits for `watches` to list before it acts.
    ///
    /// # Errors
    /// [`Error::BuildBudget`] for an invalid `rollouts_per_second`.
    pub fn new(
        settings: Settings,
        metrics: Metrics,
        watches: impl IntoIterator<Item = WatchId>,
        now: Now,
    ) -> Result<Self, Error> {
        let bucket = settings
            .rollouts_per_second
            .map(|rate| TokenBucket::new(rate, None, now.instant))
            .transpose()
            .map_err(Error::BuildBudget)?;
        Ok(Self {
            budget: RolloutBudget::new(settings.max_concurrent_rollouts, bucket),
            settings,
            metrics,
            now,
            unsynced: watches.into_iter().collect(),
            cache: SourceCache::default(),
            index: RefIndex::default(),
            tracked: HashMap::new(),
            schedule: Scheduler::default(),
            waiting: BTreeSet::new(),
            wake_at: None,
            configsyncs: ConfigSyncs::default(),
            flights: HashMap::new(),
            held: BTreeSet::new(),
            passes: HashMap::new(),
            commands: Vec::new(),
        })
    }

    /// Take in one input that happened at `now`, reconcile what it made due, and return the commands.
    pub fn handle(&mut self, input: Input, now: Now) -> Vec<Command> {
        self.now = now;
        match input {
            Input::Source(source) => self.on_source(source),
            Input::Workload(observation) => self.on_workload(*observation),
            Input::WorkloadDeleted(workload) => self.on_workload_deleted(&workload),
            Input::Synced(watch) => self.on_synced(&watch),
            Input::ConfigSync(cs) => self.on_configsync(*cs),
            Input::ConfigSyncDeleted(key) => self.on_configsync_deleted(&key),
            Input::WatchError => self.metrics.error("watch"),
            Input::Applied { workload, outcome } => self.on_applied(&workload, outcome),
            Input::StatusWritten { key, outcome } => self.on_status_written(&key, outcome),
        }
        self.drain();
        std::mem::take(&mut self.commands)
    }

    /// The timer fired at `now`: queue what is due, reconcile it, and return the commands.
    pub fn tick(&mut self, now: Now) -> Vec<Command> {
        self.now = now;
        self.schedule.due(now.instant);
        if self.wake_at.is_some_and(|at| at <= now.instant) {
            self.wake_at = None;
            self.release_waiters();
        }
        self.drain();
        std::mem::take(&mut self.commands)
    }

    /// When [`Core::tick`] must run next.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.schedule.next_deadline(), self.wake_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether every watch has listed once and the catch-up pass has been planned.
    pub fn is_ready(&self) -> bool {
        self.unsynced.is_empty()
    }

    /// Applies out right now (for tests and logs).
    pub fn applies_in_flight(&self) -> usize {
        self.flights.len()
    }

    fn on_synced(&mut self, watch: &WatchId) {
        if self.unsynced.remove(watch) && self.is_ready() {
            tracing::info!(
                workloads = self.index.workload_count(),
                sources = self.cache.len(),
                "every watch has listed; catching up"
            );
            let workloads: Vec<WorkloadRef> = self.tracked.keys().cloned().collect();
            for workload in workloads {
                self.schedule.queue(Subject::Workload(workload));
            }
            self.settle_all();
        }
    }

    /// Let every workload waiting for a budget slot (or token) try again.
    fn release_waiters(&mut self) {
        for workload in std::mem::take(&mut self.waiting) {
            self.schedule.queue(Subject::Workload(workload));
        }
    }

    /// Free `workload`'s budget slot and let every waiter try again.
    fn finish_rollout(&mut self, workload: &WorkloadRef) {
        self.budget.finish(workload);
        self.release_waiters();
    }

    /// Reconcile everything queued: workloads (owned ones move to their ConfigSync), then ConfigSyncs.
    fn drain(&mut self) {
        if !self.is_ready() {
            return;
        }
        while let Some(subject) = self.schedule.pop() {
            match subject {
                Subject::Workload(workload) => match self.configsyncs.owner(&workload) {
                    Some(owner) => self.schedule.queue(Subject::ConfigSync(owner.clone())),
                    None if self.flights.contains_key(&workload) => {
                        self.held.insert(workload);
                    }
                    None => self.reconcile(&workload),
                },
                Subject::ConfigSync(key) => self.reconcile_configsync(&key),
            }
        }
    }

    /// An apply of `workload` answered: its held reconcile (if any) may run now.
    fn landed(&mut self, workload: &WorkloadRef) {
        if self.held.remove(workload) {
            self.schedule.queue(Subject::Workload(workload.clone()));
        }
    }
}
