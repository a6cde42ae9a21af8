//! The source model: what the sidecar projects, independent of where it came from.
//!
//! A [`SourceData`] is one ConfigMap or Secret as a flat map of key to raw bytes (`data` and `binaryData` merged,
//! both already decoded). Values live in [`Value`], a zeroizing buffer whose `Debug` never prints the bytes, so a
//! Secret cannot leak through a log line or an error by accident.
//!
//! A [`Source`] produces [`Snapshot`]s: the complete current set of objects it is responsible for (a mounted
//! directory yields one object; a label-selector watch may yield many). A source also sends heartbeats so the
//! [`crate::watchdog`] can tell a quiet source from a dead one (k8s-sidecar #85).
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use zeroize::Zeroizing;

pub use configsync_core::SourceKind;

/// The bytes of one key. Clones share the bytes (a snapshot, its render and the cache hold one copy), which are
/// zeroed when the last clone drops; `Debug` prints only the length.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Value(Arc<Zeroizing<Vec<u8>>>);

impl Value {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Arc::new(Zeroizing::new(bytes)))
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::from(text.as_bytes().to_vec())
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value({} bytes)", self.0.len())
    }
}

/// One ConfigMap or Secret, reduced to what projection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceData {
    /// ConfigMap or Secret.
    pub kind: SourceKind,
    /// Namespace of the object (empty for a mounted directory whose namespace is unknown).
    pub namespace: String,
    /// Object name (for a mounted directory: the directory's file name unless configured).
    pub name: String,
    /// Keys to raw bytes (`data` and `binaryData` merged).
    pub data: BTreeMap<String, Value>,
}

impl SourceData {
    /// What tells one object from another across snapshots: kind, namespace, name.
    pub fn identity(&self) -> (SourceKind, &str, &str) {
        (self.kind, &self.namespace, &self.name)
    }

    /// `kind/namespace/name`, for logs and errors (never includes values).
    pub fn describe(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The complete current state of one source: every object it is responsible for. A source hands an unchanged object
/// on as the same `Arc` from one snapshot to the next, so the sync loop finds what changed by pointer.
pub type Snapshot = Vec<Arc<SourceData>>;

/// A snapshot of `objects`, each in its own `Arc` (a source that keeps objects across snapshots reuses its `Arc`s
/// instead).
pub fn snapshot(objects: impl IntoIterator<Item = SourceData>) -> Snapshot {
    objects.into_iter().map(Arc::new).collect()
}

/// The item of `items` (a previous snapshot, in its order) for `object`: at `index` when the snapshot did not move,
/// else the first of the same kind, namespace and name. `object_of` reads an item's object.
pub fn find_same_object<'a, T>(
    items: &'a [T],
    index: usize,
    object: &SourceData,
    object_of: impl Fn(&T) -> &SourceData,
) -> Option<&'a T> {
    let same = |item: &&T| object_of(item).identity() == object.identity();
    items
        .get(index)
        .filter(same)
        .or_else(|| items.iter().find(same))
}

/// `snapshot` with each object equal to its counterpart in `previous` ([`find_same_object`]) replaced by that
/// counterpart's `Arc`, so an unchanged object keeps its identity for the sync loop.
pub fn share_unchanged(snapshot: Snapshot, previous: &[Arc<SourceData>]) -> Snapshot {
    snapshot
        .into_iter()
        .enumerate()
        .map(
            |(index, object)| match find_same_object(previous, index, &object, |o| o) {
                Some(old) if *old == object => Arc::clone(old),
                _ => object,
            },
        )
        .collect()
}

/// What a running source reports to the sync loop.
#[derive(Debug)]
pub enum SourceEvent {
    /// The full current state of source number `slot`.
    Snapshot {
        /// Index of the source in the sync loop's list.
        slot: usize,
        /// The objects.
        snapshot: Snapshot,
    },
    /// Source `slot` is alive and its watch is current, with nothing new to report.
    Heartbeat {
        /// Index of the source in the sync loop's list.
        slot: usize,
    },
}

/// Why a source stopped.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file watcher could not be set up or failed.
    #[error("watch {what}: {source}")]
    Watch {
        /// The watched thing.
        what: String,
        /// The cause.
        #[source]
        source: notify::Error,
    },
    /// A mounted directory could not be read.
    #[error("read {what}: {source}")]
    Read {
        /// The path read.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Kubernetes API watch or list failed.
    #[error("watch {what}: {reason}")]
    Api {
        /// The watched objects.
        what: String,
        /// The cause.
        reason: String,
    },
    /// The sync loop is gone; the source has nobody to report to.
    #[error("the sync loop stopped listening")]
    Closed,
    /// The source needs something this build or configuration does not have.
    #[error("{0}")]
    Unavailable(String),
}

/// Something that keeps a set of ConfigMaps/Secrets current and reports them.
///
/// # Expected flow
/// `start` returns a future that sends a [`SourceEvent::Snapshot`] as soon as it knows the current state, then one
/// on every change, and a [`SourceEvent::Heartbeat`] at least every `heartbeat` interval while its watch is healthy.
/// The future ends only on error (or when the channel closes). The watchdog drops it and calls `start` again when it
/// ends or goes silent, so `start` must be callable any number of times.
pub trait Source: Send + Sync + 'static {
    /// Human-readable name for logs and metrics labels ("dir:/etc/config").
    fn describe(&self) -> String;
    /// The source names one object that must exist before the first sync (a named, non-optional ConfigMap or
    /// Secret): until it is found, nothing is published and `/readyz` names it, as a ConfigMap volume keeps its
    /// pod waiting. Directories and selectors never block.
    fn must_exist(&self) -> bool {
        false
    }
    /// Count the source's own work in the sidecar's metrics; called once, before the first `start`. Most sources
    /// count nothing of their own (the sync loop and the watchdog count for them).
    fn attach_metrics(&self, _metrics: &crate::metrics::Metrics) {}
    /// Start watching; see the trait docs.
    fn start(
        &self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
    ) -> BoxFuture<'static, Result<(), SourceError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_debug_never_prints_bytes() {
        let secret = SourceData {
            kind: SourceKind::Secret,
            namespace: "ns".into(),
            name: "db".into(),
            data: BTreeMap::from([("password".to_string(), Value::from("hunter2"))]),
        };
        let printed = format!("{secret:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("7 bytes"), "{printed}");
        assert_eq!(secret.describe(), "secret/ns/db");
    }

    fn object(kind: SourceKind, name: &str, value: &str) -> SourceData {
        SourceData {
            kind,
            namespace: "ns".into(),
            name: name.into(),
            data: BTreeMap::from([("k".to_string(), Value::from(value))]),
        }
    }

    #[test]
    fn a_listing_keeps_the_arcs_of_unchanged_objects_wherever_they_moved() {
        let previous = snapshot([
            object(SourceKind::ConfigMap, "a", "1"),
            object(SourceKind::ConfigMap, "b", "1"),
            object(SourceKind::Secret, "b", "1"),
        ]);
        let listed = snapshot([
            object(SourceKind::ConfigMap, "0-new", "1"),
            object(SourceKind::ConfigMap, "a", "1"),
            object(SourceKind::ConfigMap, "b", "2"),
            object(SourceKind::Secret, "b", "1"),
        ]);
        let shared = share_unchanged(listed.clone(), &previous);
        let kept: Vec<bool> = shared
            .iter()
            .map(|o| previous.iter().any(|p| Arc::ptr_eq(p, o)))
            .collect();
        assert_eq!(kept, [false, true, false, true]);
        assert_eq!(shared, listed, "the same content either way");
    }
}
