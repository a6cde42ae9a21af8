//! The source cache: per-key digests of every ConfigMap and Secret, never their values.
//!
//! ```text
//!  watch event ──apply_config_map / apply_secret / delete──► SourceUpdate { trigger, change }
//!                                                                 │
//!          RefIndex::affected / affected_by_keys ◄── SourceUpdate::affected (only what the change touches)
//!  reconcile ──SourceCache::namespace(ns)──► DigestLookup for hash::workload_hash
//! ```
//! An object is hashed key by key on arrival and only the digests, labels, resourceVersion and the ignore
//! flag are kept, so memory grows with the number of keys, not with their size, and a Secret's values are
//! gone when `apply_secret` returns. An update that changes no digest (labels, annotations) triggers nothing.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use configsync_crds::SourceKind;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::annotations::{WorkloadPolicy, is_ignored_source, is_matched_source};
use crate::hash::{DigestLookup, KeyDigests, SourceContent, changed_keys};
use crate::index::RefIndex;
use crate::plan::event::Change;
use crate::refs::SourceId;
use crate::workload::WorkloadRef;

/// What the operator keeps of one source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceEntry {
    /// Per-key value digests.
    pub digests: KeyDigests,
    /// The resourceVersion they were computed from.
    pub resource_version: Option<String>,
    /// `configsync.dev/ignore` (or Reloader's) is set.
    pub ignored: bool,
    /// `reloader.stakater.com/match` is set: it counts for workloads with `reloader.stakater.com/search`.
    pub matched: bool,
    /// The object's labels, for ConfigSync selectors.
    pub labels: BTreeMap<String, String>,
}

/// Why consumers of a source need a reconcile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Nothing they consume changed (or the source is ignored).
    None,
    /// Content changed: reconcile normally.
    Content,
    /// The hash changes but not what should roll: the ignore (or Reloader's match) flag flipped, or an ignored source appeared or
    /// disappeared. Reconcile with `plan::decide_rebaseline` (record, never roll).
    Rebaseline,
}

/// The outcome of one watch event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceUpdate {
    /// The source's namespace.
    pub namespace: String,
    /// The source.
    pub id: SourceId,
    /// Why its consumers need a reconcile.
    pub trigger: Trigger,
    /// What changed, for the Event.
    pub change: Change,
}

impl SourceUpdate {
    /// The workloads to reconcile: all consumers when the source appeared, disappeared or is re-baselined;
    /// only those consuming a changed key otherwise.
    pub fn affected(&self, index: &RefIndex) -> BTreeSet<WorkloadRef> {
        let (ns, kind, name) = (self.namespace.as_str(), self.id.kind, self.id.name.as_str());
        match (&self.trigger, &self.change) {
            (Trigger::None, _) => BTreeSet::new(),
            (Trigger::Rebaseline, _) | (_, Change::Created | Change::Deleted) => {
                index.affected(ns, kind, name)
            }
            (Trigger::Content, Change::Keys(keys)) => index.affected_by_keys(ns, kind, name, keys),
        }
    }
}

/// Digests of every source, by namespace.
#[derive(Debug, Default)]
pub struct SourceCache {
    namespaces: HashMap<String, BTreeMap<SourceId, SourceEntry>>,
}

impl SourceCache {
    /// Record a ConfigMap (added or modified).
    pub fn apply_config_map(&mut self, cm: &ConfigMap) -> SourceUpdate {
        self.apply(
            SourceKind::ConfigMap,
            &cm.metadata,
            KeyDigests::from_config_map(cm),
        )
    }

    /// Record a Secret (added or modified). Only digests of its values are kept.
    pub fn apply_secret(&mut self, secret: &Secret) -> SourceUpdate {
        self.apply(
            SourceKind::Secret,
            &secret.metadata,
            KeyDigests::from_secret(secret),
        )
    }

    /// Forget a deleted source.
    pub fn delete(&mut self, namespace: &str, id: &SourceId) -> SourceUpdate {
        let old = self
            .namespaces
            .get_mut(namespace)
            .and_then(|sources| sources.remove(id));
        if self
            .namespaces
            .get(namespace)
            .is_some_and(BTreeMap::is_empty)
        {
            self.namespaces.remove(namespace);
        }
        let trigger = match &old {
            None => Trigger::None,
            Some(entry) if entry.ignored => Trigger::Rebaseline,
            Some(_) => Trigger::Content,
        };
        SourceUpdate {
            namespace: namespace.to_owned(),
            id: id.clone(),
            trigger,
            change: Change::Deleted,
        }
    }

    /// Record a source from digests computed elsewhere (the watch task hashes and drops the values).
    pub fn apply(
        &mut self,
        kind: SourceKind,
        meta: &ObjectMeta,
        digests: KeyDigests,
    ) -> SourceUpdate {
        let namespace = meta.namespace.clone().unwrap_or_default();
        let id = SourceId {
            kind,
            name: meta.name.clone().unwrap_or_default(),
        };
        let entry = SourceEntry {
            digests,
            resource_version: meta.resource_version.clone(),
            ignored: meta.annotations.as_ref().is_some_and(is_ignored_source),
            matched: meta.annotations.as_ref().is_some_and(is_matched_source),
            labels: meta.labels.clone().unwrap_or_default(),
        };
        let sources = self.namespaces.entry(namespace.clone()).or_default();
        let (trigger, change) = match sources.get(&id) {
            None if entry.ignored => (Trigger::Rebaseline, Change::Created),
            None => (Trigger::Content, Change::Created),
            Some(old) => {
                let keys = changed_keys(Some(&old.digests), Some(&entry.digests));
                let flipped = old.ignored != entry.ignored || old.matched != entry.matched;
                let trigger = match (old.ignored, entry.ignored) {
                    (false, false) if !keys.is_empty() => Trigger::Content,
                    _ if flipped => Trigger::Rebaseline,
                    _ => Trigger::None,
                };
                (trigger, Change::Keys(keys))
            }
        };
        sources.insert(id.clone(), entry);
        SourceUpdate {
            namespace,
            id,
            trigger,
            change,
        }
    }

    /// One source's entry.
    pub fn get(&self, namespace: &str, id: &SourceId) -> Option<&SourceEntry> {
        self.namespaces.get(namespace)?.get(id)
    }

    /// The sources of one namespace, for hashing and for ConfigSync selectors.
    pub fn namespace(&self, namespace: &str) -> Namespace<'_> {
        Namespace {
            sources: self.namespaces.get(namespace),
        }
    }

    /// Number of cached sources (a metric).
    pub fn len(&self) -> usize {
        self.namespaces.values().map(BTreeMap::len).sum()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
    }
}

/// The cached sources of one namespace.
#[derive(Clone, Copy, Debug)]
pub struct Namespace<'a> {
    sources: Option<&'a BTreeMap<SourceId, SourceEntry>>,
}

impl<'a> Namespace<'a> {
    /// `(id, labels)` of every source, the catalog `configsync::resolve_sources` takes.
    pub fn catalog(
        &self,
    ) -> impl Iterator<Item = (&'a SourceId, &'a BTreeMap<String, String>)> + Clone + 'a {
        self.sources
            .into_iter()
            .flatten()
            .map(|(id, entry)| (id, &entry.labels))
    }
}

impl<'a> Namespace<'a> {
    /// The lookup a workload's hash reads: with Reloader's `search`, sources without
    /// `reloader.stakater.com/match: "true"` count for nothing (as ignored ones).
    pub fn for_policy(self, policy: &WorkloadPolicy) -> PolicyLookup<'a> {
        self.matched_only(policy.search)
    }

    /// The lookup where, if `matched_only`, sources without `reloader.stakater.com/match` count for nothing.
    pub fn matched_only(self, matched_only: bool) -> PolicyLookup<'a> {
        PolicyLookup {
            namespace: self,
            matched_only,
        }
    }
}

/// [`Namespace`] as one workload's policy sees it ([`Namespace::for_policy`]).
#[derive(Clone, Copy, Debug)]
pub struct PolicyLookup<'a> {
    namespace: Namespace<'a>,
    matched_only: bool,
}

impl DigestLookup for PolicyLookup<'_> {
    fn content(&self, id: &SourceId) -> SourceContent<'_> {
        let entry = self.namespace.sources.and_then(|sources| sources.get(id));
        match entry {
            Some(entry) if self.matched_only && !entry.matched => SourceContent::Ignored,
            _ => self.namespace.content(id),
        }
    }
}

impl DigestLookup for Namespace<'_> {
    fn content(&self, id: &SourceId) -> SourceContent<'_> {
        match self.sources.and_then(|sources| sources.get(id)) {
            None => SourceContent::Missing,
            Some(entry) if entry.ignored => SourceContent::Ignored,
            Some(entry) => SourceContent::Present(&entry.digests),
        }
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
