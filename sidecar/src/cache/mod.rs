//! The last-known-good cache: every synced source, sealed on disk, served when the API is unreachable at start.
//!
//! ```text
//!  live sync ─▶ SourceCache::save ─▶ <cache-dir>/configmaps/<ns>/<name>/<key>.sealed   (configsync_envelope::Store,
//!                                    <cache-dir>/secrets/<ns>/<name>/<key>.sealed       AES-256-GCM, AAD = ns/name/key)
//!  start, API silent ─▶ SourceCache::load ─▶ [ItemLoad] ─▶ decide (pure) ─▶ CacheDecision::Serve(sources) | Nothing
//! ```
//!
//! # Theory of operation
//! After each live sync that changed something (and after the first), [`SourceCache::save`] seals the keys of every
//! API source into one [`Store`] per kind and removes items of keys that disappeared. A cache remembers what it
//! saved: later saves seal only the objects that changed (a source keeps an unchanged object's `Arc`) and remove
//! only the keys and objects that left, so a save costs what changed, not the whole projection. The first save of
//! a process (and the one after a failure) writes everything and prunes by listing the stores. When the sources have not all
//! reported within the sync loop's cache timeout, [`SourceCache::load`] opens every item; each becomes an
//! [`ItemLoad`] whose [`LoadOutcome`] is bounded (a metric label). The pure [`decide`] keeps only opened items:
//! a corrupt, truncated, foreign, tampered or unknown-key item is reported by name and never served. No usable
//! item means nothing to publish. Values stay in zeroizing [`Value`]s and are never logged.
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use configsync_envelope::{EnvelopeError, ItemId, KeyRing, Store, StoreError};

use crate::source::{Snapshot, SourceData, SourceKind, Value};

/// A cache operation failed as a whole (single items failing to open are [`LoadOutcome`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Writing or pruning the store failed.
    #[error("save cache: {0}")]
    SaveCache(#[source] StoreError),
    /// Listing the store failed.
    #[error("list cache: {0}")]
    ListCache(#[source] StoreError),
}

/// What happened to one cached item on load; the metric label of `cache_loads_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadOutcome {
    /// Opened and authenticated.
    Loaded,
    /// Not our format: truncated header, foreign file, unknown version.
    Corrupt,
    /// Authentication failed: tampered, truncated ciphertext, or moved to another identity.
    Tampered,
    /// Sealed under a key id the ring does not hold.
    UnknownKey,
    /// The file could not be read.
    Unreadable,
}

impl LoadOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Loaded => "loaded",
            Self::Corrupt => "corrupt",
            Self::Tampered => "tampered",
            Self::UnknownKey => "unknown_key",
            Self::Unreadable => "unreadable",
        }
    }

    fn of(error: &StoreError) -> Self {
        match error {
            StoreError::Envelope { source, .. } => match source {
                EnvelopeError::UnknownFormat => Self::Corrupt,
                EnvelopeError::UnknownKeyId(_) => Self::UnknownKey,
                _ => Self::Tampered,
            },
            _ => Self::Unreadable,
        }
    }
}

/// One cached item after loading: its identity and either its value or why it is unusable.
#[derive(Debug)]
pub struct ItemLoad {
    /// ConfigMap or Secret store.
    pub kind: SourceKind,
    /// `namespace/name/key`.
    pub id: ItemId,
    /// The value, or the outcome that rejected it.
    pub value: Result<Value, LoadOutcome>,
}

/// What to do with a loaded cache.
#[derive(Debug, PartialEq, Eq)]
pub enum CacheDecision {
    /// Publish these sources (only authenticated items).
    Serve(Snapshot),
    /// No usable item: publish nothing, keep retrying the API.
    Nothing,
}

/// Pure: group the opened items into sources; rejected items are dropped (they were reported on load).
pub fn decide(items: Vec<ItemLoad>) -> CacheDecision {
    let mut sources: BTreeMap<(SourceKind, String, String), BTreeMap<String, Value>> =
        BTreeMap::new();
    for item in items {
        let Ok(value) = item.value else { continue };
        // An id's components never contain '/', so its display splits back into them.
        let id = item.id.to_string();
        let mut parts = id.splitn(3, '/');
        let (Some(namespace), Some(name), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        sources
            .entry((item.kind, namespace.to_owned(), name.to_owned()))
            .or_default()
            .insert(key.to_owned(), value);
    }
    if sources.is_empty() {
        return CacheDecision::Nothing;
    }
    let sources = sources
        .into_iter()
        .map(|((kind, namespace, name), data)| {
            Arc::new(SourceData {
                kind,
                namespace,
                name,
                data,
            })
        })
        .collect();
    CacheDecision::Serve(sources)
}

/// Pure: the ids under which `sources` of `kind` are cached; sources without a namespace (mounted dirs) or with a
/// name or key that cannot be a path component are skipped.
pub fn item_ids<'a>(
    sources: &'a [Arc<SourceData>],
    kind: SourceKind,
) -> impl Iterator<Item = (ItemId, &'a Value)> + 'a {
    sources
        .iter()
        .filter(move |s| s.kind == kind)
        .flat_map(|s| items_of(s))
}

/// The cache identity and value of every key of one object (none for a mounted directory without namespace).
fn items_of(source: &SourceData) -> impl Iterator<Item = (ItemId, &Value)> {
    source.data.iter().filter_map(|(key, value)| {
        Some((
            ItemId::new(&source.namespace, &source.name, key).ok()?,
            value,
        ))
    })
}

/// Objects in identity order: kind, namespace, name.
fn by_identity(a: &SourceData, b: &SourceData) -> Ordering {
    a.identity().cmp(&b.identity())
}

/// The object of `sorted` (in [`by_identity`] order) with `source`'s identity.
fn find<'a>(sorted: &'a [Arc<SourceData>], source: &SourceData) -> Option<&'a Arc<SourceData>> {
    let index = sorted.binary_search_by(|s| by_identity(s, source)).ok()?;
    sorted.get(index)
}

/// The on-disk cache: one sealed store per kind under a directory, and the key ring.
#[derive(Debug, Clone)]
pub struct SourceCache {
    configmaps: Store,
    secrets: Store,
    ring: Arc<KeyRing>,
    /// The objects of the last save, in [`by_identity`] order (`None`: nothing saved by this process, or a save
    /// failed). Clones share it.
    saved: Arc<Mutex<Option<Snapshot>>>,
}

impl SourceCache {
    /// A cache under `dir` (`configmaps/` and `secrets/` stores), sealed with `ring`'s primary key.
    pub fn new(dir: &Path, ring: KeyRing) -> Self {
        Self {
            configmaps: Store::new(dir.join("configmaps")),
            secrets: Store::new(dir.join("secrets")),
            ring: Arc::new(ring),
            saved: Arc::default(),
        }
    }

    fn stores(&self) -> [(SourceKind, &Store); 2] {
        [
            (SourceKind::ConfigMap, &self.configmaps),
            (SourceKind::Secret, &self.secrets),
        ]
    }

    /// Seal every key of `sources` and remove cached items that are no longer present (see the module docs: only
    /// what changed since the last save).
    ///
    /// # Errors
    /// [`CacheError::SaveCache`]; every item written before the failure is complete (atomic writes), and the next
    /// save writes everything again.
    pub fn save(&self, sources: &[Arc<SourceData>]) -> Result<(), CacheError> {
        let mut saved = self.saved.lock().unwrap_or_else(PoisonError::into_inner);
        let mut current = sources.to_vec();
        current.sort_by(|a, b| by_identity(a, b));
        let previous = saved.take();
        match &previous {
            Some(previous) => self.save_changes(previous, &current)?,
            None => self.save_all(&current)?,
        }
        *saved = Some(current);
        Ok(())
    }

    /// Seal every key of `current` and remove every other stored item.
    fn save_all(&self, current: &[Arc<SourceData>]) -> Result<(), CacheError> {
        for (kind, store) in self.stores() {
            let mut keep = std::collections::BTreeSet::new();
            for (id, value) in item_ids(current, kind) {
                store
                    .put(&self.ring, &id, value.as_bytes())
                    .map_err(CacheError::SaveCache)?;
                keep.insert(id);
            }
            for old in store.list().map_err(CacheError::SaveCache)? {
                if !keep.contains(&old) {
                    store.remove(&old).map_err(CacheError::SaveCache)?;
                }
            }
        }
        Ok(())
    }

    /// Seal the objects of `current` that are not in `previous` as they are, and remove what left.
    fn save_changes(
        &self,
        previous: &[Arc<SourceData>],
        current: &[Arc<SourceData>],
    ) -> Result<(), CacheError> {
        for source in current {
            let old = find(previous, source);
            if old.is_some_and(|old| Arc::ptr_eq(old, source)) {
                continue;
            }
            let store = self.store(source.kind);
            for (id, value) in items_of(source) {
                store
                    .put(&self.ring, &id, value.as_bytes())
                    .map_err(CacheError::SaveCache)?;
            }
            let gone = old.into_iter().flat_map(|old| {
                let left = old
                    .data
                    .keys()
                    .filter(|key| !source.data.contains_key(*key));
                left.filter_map(|key| ItemId::new(&old.namespace, &old.name, key).ok())
            });
            for id in gone {
                store.remove(&id).map_err(CacheError::SaveCache)?;
            }
        }
        for old in previous.iter().filter(|old| find(current, old).is_none()) {
            for (id, _) in items_of(old) {
                self.store(old.kind)
                    .remove(&id)
                    .map_err(CacheError::SaveCache)?;
            }
        }
        Ok(())
    }

    fn store(&self, kind: SourceKind) -> &Store {
        match kind {
            SourceKind::ConfigMap => &self.configmaps,
            SourceKind::Secret => &self.secrets,
        }
    }

    /// Open every cached item; unusable items come back with their [`LoadOutcome`], never as an error.
    ///
    /// # Errors
    /// [`CacheError::ListCache`] when a store directory cannot be listed.
    pub fn load(&self) -> Result<Vec<ItemLoad>, CacheError> {
        let mut items = Vec::new();
        for (kind, store) in self.stores() {
            for id in store.list().map_err(CacheError::ListCache)? {
                let value = match store.get(&self.ring, &id) {
                    Ok(Some(mut bytes)) => Ok(Value::from(std::mem::take(&mut *bytes))),
                    Ok(None) => continue,
                    Err(error) => Err(LoadOutcome::of(&error)),
                };
                items.push(ItemLoad { kind, id, value });
            }
        }
        Ok(items)
    }

    /// Age of the newest cached item (its file's modification time), if any.
    pub fn age(&self, items: &[ItemLoad]) -> Option<Duration> {
        let newest = items
            .iter()
            .filter(|item| item.value.is_ok())
            .filter_map(|item| self.path_of(item).metadata().ok()?.modified().ok())
            .max()?;
        SystemTime::now().duration_since(newest).ok()
    }

    fn path_of(&self, item: &ItemLoad) -> PathBuf {
        match item.kind {
            SourceKind::ConfigMap => self.configmaps.path_of(&item.id),
            SourceKind::Secret => self.secrets.path_of(&item.id),
        }
    }
}

#[cfg(test)]
mod tests;
