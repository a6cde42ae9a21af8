//! What the controller loop keeps about ConfigSyncs: the objects from the watch, the settled claims
//! (who drives which workload), the status last written, and the work queue with its timers.
//!
//! ```text
//!  watch ─► apply/delete ─► settle(ns) ─► owners: workload → ConfigSync   (read by the annotation path)
//!  source change ─► on_source: ConfigSyncs that name or select it ─► debounce (spec.debounce) or queue
//!  timers: debounce windows, pause wake-ups ─► due(now) ─► queue
//! ```
//! No I/O: the loop feeds it and reads it.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use configsync_crds::{ConfigSync, ConfigSyncStatus};
use kube::ResourceExt;

use crate::configsync::{Claimant, Drives, Labels, debounce, follows_source, settle_namespace};
use crate::plan::debounce::Debouncer;
use crate::refs::SourceId;
use crate::workload::WorkloadRef;

/// A ConfigSync by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CsKey {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl CsKey {
    /// The key of `cs`.
    pub fn of(cs: &ConfigSync) -> Self {
        Self {
            namespace: cs.namespace().unwrap_or_default(),
            name: cs.name_any(),
        }
    }
}

impl std::fmt::Display for CsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Every ConfigSync the operator sees, and what it drives.
#[derive(Debug, Default)]
pub struct ConfigSyncs {
    objects: BTreeMap<CsKey, Arc<ConfigSync>>,
    written: BTreeMap<CsKey, ConfigSyncStatus>,
    drives: BTreeMap<CsKey, Drives>,
    owners: BTreeMap<WorkloadRef, CsKey>,
    warned: BTreeSet<(CsKey, WorkloadRef)>,
    queue: BTreeSet<CsKey>,
    debouncer: Debouncer<CsKey>,
    wake: BTreeMap<CsKey, Instant>,
}

impl ConfigSyncs {
    /// A ConfigSync was added or modified. Returns whether its spec changed (new object or new
    /// generation); a status-only update (our own patch coming back) changes nothing.
    pub fn apply(&mut self, cs: ConfigSync) -> bool {
        let key = CsKey::of(&cs);
        let changed = self
            .objects
            .get(&key)
            .is_none_or(|old| old.metadata.generation != cs.metadata.generation);
        self.objects.insert(key, Arc::new(cs));
        changed
    }

    /// A ConfigSync is gone: it drives nothing from now on.
    pub fn delete(&mut self, key: &CsKey) {
        self.objects.remove(key);
        self.written.remove(key);
        self.drives.remove(key);
        self.queue.remove(key);
        self.debouncer.cancel(key);
        self.wake.remove(key);
        self.warned.retain(|(k, _)| k != key);
    }

    /// Remember the status just written (the watch may still deliver older copies).
    pub fn wrote(&mut self, key: &CsKey, status: ConfigSyncStatus) {
        if self.objects.contains_key(key) {
            self.written.insert(key.clone(), status);
        }
    }

    /// The ConfigSync with its latest status (the one written last, else the one read), and what it drives.
    pub fn get(&self, key: &CsKey) -> Option<(Arc<ConfigSync>, Drives)> {
        let object = self.objects.get(key)?;
        let object = match self.written.get(key) {
            Some(status) if object.status.as_ref() != Some(status) => {
                let mut cs = ConfigSync::clone(object);
                cs.status = Some(status.clone());
                Arc::new(cs)
            }
            _ => object.clone(),
        };
        Some((object, self.drives.get(key).cloned().unwrap_or_default()))
    }

    /// The ConfigSync driving `workload`, if one does (the annotation path then leaves it alone).
    pub fn owner(&self, workload: &WorkloadRef) -> Option<&CsKey> {
        self.owners.get(workload)
    }

    /// Whether any ConfigSync lives in, or drives a workload of, `namespace`.
    pub fn touches(&self, namespace: &str) -> bool {
        self.objects.keys().any(|k| k.namespace == namespace)
            || self.owners.keys().any(|w| w.namespace == namespace)
    }

    /// Every namespace with a ConfigSync.
    pub fn namespaces(&self) -> BTreeSet<String> {
        self.objects.keys().map(|k| k.namespace.clone()).collect()
    }

    /// Settle the claims of `namespace` against its workloads ([`settle_namespace`]). Queues every
    /// ConfigSync whose drives changed; returns the workloads no ConfigSync drives any more.
    pub fn settle<'a>(
        &mut self,
        namespace: &str,
        workloads: impl IntoIterator<Item = (&'a WorkloadRef, &'a Labels)> + Clone,
    ) -> Vec<WorkloadRef> {
        let in_ns: Vec<&Arc<ConfigSync>> = self
            .objects
            .iter()
            .filter(|(k, _)| k.namespace == namespace)
            .map(|(_, cs)| cs)
            .collect();
        let claimants: Vec<Claimant<'_>> = in_ns
            .iter()
            .map(|cs| Claimant {
                name: cs.metadata.name.as_deref().unwrap_or_default(),
                created: cs.metadata.creation_timestamp.as_ref(),
                spec: &cs.spec,
            })
            .collect();
        let (drives, winners) = settle_namespace(namespace, &claimants, workloads);
        let key = |name: String| CsKey {
            namespace: namespace.to_owned(),
            name,
        };
        let before: Vec<WorkloadRef> = self
            .owners
            .keys()
            .filter(|w| w.namespace == namespace)
            .cloned()
            .collect();
        for workload in &before {
            self.owners.remove(workload);
        }
        self.owners
            .extend(winners.into_iter().map(|(w, name)| (w, key(name))));
        for (name, new) in drives {
            let key = key(name);
            if self.drives.get(&key) != Some(&new) {
                self.queue.insert(key.clone());
                self.drives.insert(key, new);
            }
        }
        before
            .into_iter()
            .filter(|w| !self.owners.contains_key(w))
            .collect()
    }

    /// Targets `key` names that an older ConfigSync drives and that were not reported yet.
    pub fn new_conflicts(&mut self, key: &CsKey) -> Vec<(WorkloadRef, String)> {
        let Some(drives) = self.drives.get(key) else {
            return Vec::new();
        };
        let fresh: Vec<_> = drives
            .lost
            .iter()
            .filter(|(w, _)| !self.warned.contains(&(key.clone(), w.clone())))
            .cloned()
            .collect();
        self.warned
            .extend(fresh.iter().map(|(w, _)| (key.clone(), w.clone())));
        fresh
    }

    /// A source of `namespace` changed at `seen`: every ConfigSync that names or selects it is queued,
    /// after its `spec.debounce` quiet period when it has one.
    pub fn on_source(&mut self, namespace: &str, id: &SourceId, labels: &Labels, seen: Instant) {
        let woken: Vec<(CsKey, Option<crate::annotations::Debounce>)> = self
            .objects
            .iter()
            .filter(|(k, cs)| k.namespace == namespace && follows_source(&cs.spec, id, labels))
            .map(|(k, cs)| (k.clone(), debounce(&cs.spec).ok().flatten()))
            .collect();
        for (key, quiet) in woken {
            self.wake_owner(key, quiet, seen);
        }
    }

    /// A workload `owner` drives changed (its annotation sources, or its rollout progress).
    pub fn on_owned_source(&mut self, owner: CsKey, seen: Instant) {
        let quiet = self
            .objects
            .get(&owner)
            .and_then(|cs| debounce(&cs.spec).ok().flatten());
        self.wake_owner(owner, quiet, seen);
    }

    fn wake_owner(
        &mut self,
        key: CsKey,
        quiet: Option<crate::annotations::Debounce>,
        seen: Instant,
    ) {
        match quiet.filter(|d| !d.min.is_zero()) {
            Some(quiet) => self.debouncer.record(key, quiet, seen),
            None => {
                self.queue.insert(key);
            }
        }
    }

    /// Queue `key` now (spec change, workload progress, catch-up).
    pub fn queue(&mut self, key: CsKey) {
        if self.objects.contains_key(&key) && !self.debouncer.is_pending(&key) {
            self.queue.insert(key);
        }
    }

    /// Queue every ConfigSync (the catch-up pass).
    pub fn queue_all(&mut self) {
        self.queue.extend(self.objects.keys().cloned());
    }

    /// Look at `key` again at `at` (a pause ends, a failed write is retried).
    pub fn wake_at(&mut self, key: CsKey, at: Instant) {
        let slot = self.wake.entry(key).or_insert(at);
        *slot = (*slot).min(at);
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
        let due: Vec<CsKey> = self
            .wake
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.wake.remove(&key);
            self.queue.insert(key);
        }
    }

    /// The next queued ConfigSync.
    pub fn pop(&mut self) -> Option<CsKey> {
        self.queue.pop_first()
    }
}
