//! What the decision core keeps about ConfigSyncs: the objects from the watch, the settled claims
//! (who drives which workload) and the status last written. Queues and timers are the core's one
//! scheduler ([`crate::core::schedule`]).
//!
//! ```text
//!  watch ─► apply/delete ─► settle(ns) ─► owners: workload → ConfigSync   (read by the annotation path)
//!  source change ─► following: ConfigSyncs that name or select it, with their spec.debounce
//! ```
//! No I/O: the core feeds it and reads it.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use configsync_crds::{ConfigSync, ConfigSyncStatus};
use kube::ResourceExt;

use crate::annotations::Debounce;
use crate::configsync::{Claimant, Drives, Labels, debounce, follows_source, settle_namespace};
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

/// What settling a namespace's claims changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// Workloads no ConfigSync drives any more (back to their annotations).
    pub released: Vec<WorkloadRef>,
    /// ConfigSyncs whose targets changed (to reconcile).
    pub changed: Vec<CsKey>,
}

/// Every ConfigSync the operator sees, and what it drives.
#[derive(Debug, Default)]
pub struct ConfigSyncs {
    objects: BTreeMap<CsKey, Arc<ConfigSync>>,
    written: BTreeMap<CsKey, ConfigSyncStatus>,
    drives: BTreeMap<CsKey, Drives>,
    owners: BTreeMap<WorkloadRef, CsKey>,
    warned: BTreeSet<(CsKey, WorkloadRef)>,
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

    /// Settle the claims of `namespace` against its workloads ([`settle_namespace`]): which ConfigSyncs'
    /// targets changed, and which workloads no ConfigSync drives any more.
    pub fn settle<'a>(
        &mut self,
        namespace: &str,
        workloads: impl IntoIterator<Item = (&'a WorkloadRef, &'a Labels)> + Clone,
    ) -> Settled {
        let in_ns: Vec<&Arc<ConfigSync>> = self
            .objects
            .iter()
            .filter(|(k, _)| k.namespace == namespace)
            .map(|(_, cs)| cs)
            .collect();
        let claimants: Vec<Claimant<'_>> = in_ns.iter().map(|cs| Claimant::of(cs)).collect();
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
        let mut changed = Vec::new();
        for (name, new) in drives {
            let key = key(name);
            if self.drives.get(&key) != Some(&new) {
                changed.push(key.clone());
                self.drives.insert(key, new);
            }
        }
        let released = before
            .into_iter()
            .filter(|w| !self.owners.contains_key(w))
            .collect();
        Settled { released, changed }
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

    /// The ConfigSyncs of `namespace` that name or select the source `id`, each with its quiet period:
    /// the core queues them (after that period, when there is one).
    pub fn following(
        &self,
        namespace: &str,
        id: &SourceId,
        labels: &Labels,
    ) -> Vec<(CsKey, Option<Debounce>)> {
        self.objects
            .iter()
            .filter(|(k, cs)| k.namespace == namespace && follows_source(&cs.spec, id, labels))
            .map(|(k, cs)| (k.clone(), debounce(&cs.spec).ok().flatten()))
            .collect()
    }

    /// The quiet period of `key` (`spec.debounce`), when it has one.
    pub fn quiet_period(&self, key: &CsKey) -> Option<Debounce> {
        self.objects
            .get(key)
            .and_then(|cs| debounce(&cs.spec).ok().flatten())
    }

    /// Whether `key` is a ConfigSync the operator sees.
    pub fn contains(&self, key: &CsKey) -> bool {
        self.objects.contains_key(key)
    }

    /// Every ConfigSync (the catch-up pass).
    pub fn keys(&self) -> Vec<CsKey> {
        self.objects.keys().cloned().collect()
    }
}
