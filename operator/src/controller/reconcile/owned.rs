//! The loop's ConfigSync half: ConfigSync inputs, settling who drives which workload, handing a
//! workload back to its annotations, and running ConfigSync passes over the loop's own caches.
//!
//! ```text
//!  queue pop(workload) ── owned by a ConfigSync? ──► that ConfigSync's queue (never reconciled here)
//!  ConfigSync pass     ── configsync::build (SourceCache, observations) → fleet budget for each
//!                         rollout (a refused one stays Pending) → configsync::execute
//!                      ── applied observations ─► tracked (so a stale watch event cannot undo them)
//!  released workload   ── re-baselined by the annotation path: a deleted ConfigSync rolls nothing
//! ```
use std::time::Instant;

use configsync_crds::ConfigSync;

use super::super::configsync::{self, CsKey, Shell};
use super::super::workloads::Observation;
use super::{Controller, Pending};
use crate::workload::WorkloadRef;

impl Controller {
    pub(super) fn on_configsync(&mut self, cs: ConfigSync) {
        let key = CsKey::of(&cs);
        let spec_changed = self.configsyncs.apply(cs);
        if spec_changed && self.is_ready() {
            self.settle(&key.namespace);
            self.configsyncs.queue(key);
        }
    }

    pub(super) fn on_configsync_deleted(&mut self, key: &CsKey) {
        self.configsyncs.delete(key);
        if self.is_ready() {
            self.settle(&key.namespace);
        }
    }

    /// Settle the claims of every namespace with a ConfigSync, and queue every ConfigSync (catch-up).
    pub(super) fn settle_all(&mut self) {
        for namespace in self.configsyncs.namespaces() {
            self.settle(&namespace);
        }
        self.configsyncs.queue_all();
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
        let released = self.configsyncs.settle(namespace, workloads);
        for workload in released {
            if let Some(tracked) = self.tracked.get_mut(&workload) {
                tracked.pending.get_or_insert_with(|| Pending {
                    rebaseline: true,
                    changes: Vec::new(),
                    since: Instant::now(),
                });
            }
            self.queue.insert(workload);
        }
    }

    /// Reconcile everything queued: workloads (owned ones move to their ConfigSync), then ConfigSyncs.
    pub(super) async fn drain(&mut self) {
        while let Some(workload) = self.queue.pop_first() {
            match self.configsyncs.owner(&workload) {
                Some(owner) => self.configsyncs.queue(owner.clone()),
                None => self.reconcile(&workload).await,
            }
        }
        while let Some(key) = self.configsyncs.pop() {
            self.reconcile_configsync(&key).await;
        }
    }

    async fn reconcile_configsync(&mut self, key: &CsKey) {
        let tracked = &self.tracked;
        let Some(mut build) = configsync::build(&mut self.configsyncs, key, &self.cache, |w| {
            tracked.get(w).map(|t| &t.observation)
        }) else {
            return;
        };
        build.admit_rollouts(|workload| self.admit(workload));
        let shell = Shell {
            client: &self.client,
            events: &self.events,
            metrics: &self.metrics,
            auto_all: self.config.auto_all,
        };
        let admitted = build.rollouts();
        let applied = configsync::execute(&shell, &mut self.configsyncs, key, build).await;
        for workload in admitted {
            // A failed apply gives its budget slot back.
            if !applied.iter().any(|(o, _)| o.workload == workload) {
                self.finish_rollout(&workload);
            }
        }
        for (observation, rolled) in applied {
            self.record_applied(observation, rolled);
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
