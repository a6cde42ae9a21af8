//! The one scheduler of the decision core: what to reconcile next, for workloads and ConfigSyncs alike.
//!
//! ```text
//!  queue(s)           → ready now (unless a quiet period for s is open: it fires when due)
//!  debounce(s, d, t)  → opens or extends s's quiet period (plan::debounce)
//!  wake_at(s, t)      → s is queued at t (a pause ends, a failed write is retried)
//!  due(now)           → every window and wake-up that has come, into the queue
//!  pop()              → workloads first (in order), then ConfigSyncs: a workload pass may queue its owner
//! ```
//! Time comes in as `now` values; the shell sleeps until [`Scheduler::next_deadline`].
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::configsync::CsKey;
use crate::annotations::Debounce;
use crate::plan::debounce::Debouncer;
use crate::workload::WorkloadRef;

/// What the core reconciles: one workload (annotation path) or one ConfigSync (a pass over its targets).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// A workload no ConfigSync drives.
    Workload(WorkloadRef),
    /// A ConfigSync.
    ConfigSync(CsKey),
}

/// Ready subjects, quiet periods and timed wake-ups.
#[derive(Debug, Default)]
pub struct Scheduler {
    queue: BTreeSet<Subject>,
    debouncer: Debouncer<Subject>,
    wake: BTreeMap<Subject, Instant>,
}

impl Scheduler {
    /// Reconcile `subject` at the next drain, unless its quiet period is open.
    pub fn queue(&mut self, subject: Subject) {
        if !self.debouncer.is_pending(&subject) {
            self.queue.insert(subject);
        }
    }

    /// A change for `subject` at `now`: queue it after `debounce` when it has a quiet period, else now.
    pub fn debounce(&mut self, subject: Subject, debounce: Option<Debounce>, now: Instant) {
        match debounce.filter(|d| !d.min.is_zero()) {
            Some(debounce) => self.debouncer.record(subject, debounce, now),
            None => {
                self.queue.insert(subject);
            }
        }
    }

    /// Whether `subject` waits for its quiet period to end.
    pub fn is_debouncing(&self, subject: &Subject) -> bool {
        self.debouncer.is_pending(subject)
    }

    /// Queue `subject` at `at` (the earliest of several asks wins).
    pub fn wake_at(&mut self, subject: Subject, at: Instant) {
        let slot = self.wake.entry(subject).or_insert(at);
        *slot = (*slot).min(at);
    }

    /// Forget everything about `subject` (it is gone).
    pub fn forget(&mut self, subject: &Subject) {
        self.queue.remove(subject);
        self.debouncer.cancel(subject);
        self.wake.remove(subject);
    }

    /// The next timer, to sleep until.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.debouncer.next_deadline(),
            self.wake.values().min().copied(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Queue what is due at `now`.
    pub fn due(&mut self, now: Instant) {
        self.queue.extend(self.debouncer.due(now));
        let due: Vec<Subject> = self
            .wake
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(s, _)| s.clone())
            .collect();
        for subject in due {
            self.wake.remove(&subject);
            self.queue.insert(subject);
        }
    }

    /// The next subject to reconcile.
    pub fn pop(&mut self) -> Option<Subject> {
        self.queue.pop_first()
    }
}
