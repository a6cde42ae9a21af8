//! The last rollout, kept on the workload so `configsync explain` can tell its time and cause after the
//! rollout's Event has expired (the API server's `--event-ttl`, 1 h by default).
//!
//! ```text
//!  metadata.annotations["configsync.dev/last-rollout"] =
//!    {"time":"2026-12-07T11:00:00Z","reason":"ConfigRolled","hash":"<12 hex>",
//!     "configSync":"<name>",                                   (only when a ConfigSync drove it)
//!     "sources":[{"kind":"ConfigMap","name":"app","keys":["greeting"]},
//!                {"kind":"Secret","name":"db","change":"created"}],
//!     "moreSources":0}
//! ```
//! - **Written** by the apply that makes the rollout (`Roll` → `ConfigRolled`) or records a change without a
//!   restart (`Report` → `ConfigChanged`), in the same server-side apply, on the workload's metadata: never
//!   on the pod template, so writing it restarts nothing and does not change the template fingerprint.
//! - **Kept** by every other apply (adoption, record-only bodies): server-side apply would delete a field
//!   its manager stops sending, so those bodies carry the live value forward unchanged.
//! - **Holds names only:** source kinds and names and the names of the changed keys, never a value.
//! - **Bounded:** at most [`SOURCES_LISTED`] sources and [`KEYS_LISTED`] keys each are listed, the rest
//!   counted; the JSON is at most [`LIMIT`] bytes (keys, then sources, are dropped into the counts until
//!   it fits).
//! - `kubectl rollout undo` restores the annotations of the older revision, this one included: it then
//!   tells the rollout whose template runs again. Decisions never read it, so undo detection (the record
//!   label) is unaffected.
use configsync_crds::SourceKind;
use serde::{Deserialize, Serialize};

use super::Decision;
use super::event::{Change, SourceChange, reason};

/// The most bytes the annotation's JSON holds.
pub const LIMIT: usize = 1024;
/// Sources listed before the rest are counted.
pub const SOURCES_LISTED: usize = 8;
/// Keys listed per source before the rest are counted.
pub const KEYS_LISTED: usize = 8;

/// Failures reading the annotation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The value is longer than configsync ever writes.
    #[error("longer than {LIMIT} bytes ({0}), so not written by configsync")]
    ParseTooLong(usize),
    /// The value is not the JSON configsync writes.
    #[error("not the JSON configsync writes: {0}")]
    ParseJson(serde_json::Error),
}

/// How one source changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum How {
    /// Keys were added, removed or modified (the listed ones; none listed when unknown).
    #[default]
    Changed,
    /// The source appeared.
    Created,
    /// The source disappeared.
    Deleted,
}

impl How {
    fn is_changed(&self) -> bool {
        *self == Self::Changed
    }
}

/// One changed source, by kind and name, with the names of its changed keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Changed {
    /// ConfigMap or Secret.
    pub kind: SourceKind,
    /// Its name.
    pub name: String,
    /// How it changed.
    #[serde(default, skip_serializing_if = "How::is_changed")]
    pub change: How,
    /// The changed keys listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Changed keys not listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_keys: usize,
}

/// The last rollout of a workload, as the annotation holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRollout {
    /// When the operator sent it.
    pub time: jiff::Timestamp,
    /// `ConfigRolled` (pods restarted) or `ConfigChanged` (recorded, strategy reload or none).
    pub reason: String,
    /// The first 12 hex digits of the content hash it rolled to.
    pub hash: String,
    /// The ConfigSync that drove it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sync: Option<String>,
    /// The sources that changed, listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Changed>,
    /// Changed sources not listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_sources: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl LastRollout {
    /// The record of `decision` at `time`, when it is a rollout or a recorded change; `changes` are the
    /// source changes that led to it (empty when unknown).
    pub fn of(
        decision: &Decision,
        changes: &[SourceChange],
        time: jiff::Timestamp,
        config_sync: Option<&str>,
    ) -> Option<Self> {
        let (reason, hash) = match decision {
            Decision::Roll { hash } => (reason::ROLLED, hash),
            Decision::Report { hash, .. } => (reason::CHANGED, hash),
            _ => return None,
        };
        let mut sources: Vec<Changed> = Vec::new();
        for change in changes {
            merge(&mut sources, change);
        }
        let more_sources = sources.len().saturating_sub(SOURCES_LISTED);
        sources.truncate(SOURCES_LISTED);
        for source in &mut sources {
            source.more_keys += source.keys.len().saturating_sub(KEYS_LISTED);
            source.keys.truncate(KEYS_LISTED);
        }
        Some(Self {
            // Whole seconds, as the API writes times.
            time: jiff::Timestamp::from_second(time.as_second()).unwrap_or(time),
            reason: reason.to_owned(),
            hash: hash.short().to_owned(),
            config_sync: config_sync.map(str::to_owned),
            sources,
            more_sources,
        })
    }

    /// The annotation value: compact JSON of at most [`LIMIT`] bytes.
    pub fn to_annotation(&self) -> String {
        let mut record = self.clone();
        loop {
            let text = serde_json::to_string(&record).unwrap_or_default();
            if text.len() <= LIMIT || !record.shrink() {
                return text;
            }
        }
    }

    /// Drop the last listed keys of a source, or else the last listed source, into the counts.
    fn shrink(&mut self) -> bool {
        if let Some(source) = self.sources.iter_mut().rev().find(|s| !s.keys.is_empty()) {
            source.more_keys += source.keys.len();
            source.keys.clear();
            return true;
        }
        if self.sources.pop().is_some() {
            self.more_sources += 1;
            return true;
        }
        if self.config_sync.take().is_some() {
            return true;
        }
        false
    }

    /// Read the annotation.
    ///
    /// # Errors
    /// [`Error::ParseTooLong`] or [`Error::ParseJson`] for a value configsync did not write.
    pub fn parse(value: &str) -> Result<Self, Error> {
        if value.len() > LIMIT {
            return Err(Error::ParseTooLong(value.len()));
        }
        serde_json::from_str(value).map_err(Error::ParseJson)
    }

    /// What caused it, as the rollout's Event says: `ConfigMap app keys [a, b] changed; Secret db created`.
    pub fn cause(&self) -> String {
        let mut parts: Vec<String> = self.sources.iter().map(describe).collect();
        if self.more_sources > 0 {
            parts.push(format!("{} more sources changed", self.more_sources));
        }
        let sources = if parts.is_empty() {
            "sources changed".to_owned()
        } else {
            parts.join("; ")
        };
        match &self.config_sync {
            Some(name) => format!("ConfigSync {name}: {sources}"),
            None => sources,
        }
    }
}

/// Add one change to the list, folding repeated changes of the same source into one entry.
fn merge(sources: &mut Vec<Changed>, change: &SourceChange) {
    let (how, keys) = match &change.change {
        Change::Keys(keys) => (How::Changed, keys.iter().cloned().collect()),
        Change::Created => (How::Created, Vec::new()),
        Change::Deleted => (How::Deleted, Vec::new()),
    };
    let id = &change.id;
    match sources
        .iter_mut()
        .find(|s| s.kind == id.kind && s.name == id.name)
    {
        Some(known) => {
            known.change = how;
            for key in keys {
                if !known.keys.contains(&key) {
                    known.keys.push(key);
                }
            }
            known.keys.sort();
        }
        None => sources.push(Changed {
            kind: id.kind,
            name: id.name.clone(),
            change: how,
            keys,
            more_keys: 0,
        }),
    }
}

fn describe(source: &Changed) -> String {
    let id = format!("{} {}", source.kind.as_str(), source.name);
    match source.change {
        How::Created => format!("{id} created"),
        How::Deleted => format!("{id} deleted"),
        How::Changed if source.keys.is_empty() && source.more_keys == 0 => format!("{id} changed"),
        How::Changed => {
            let mut keys = source.keys.join(", ");
            if source.more_keys > 0 {
                let sep = if keys.is_empty() { "" } else { ", " };
                keys = format!("{keys}{sep}… and {} more", source.more_keys);
            }
            format!("{id} keys [{keys}] changed")
        }
    }
}

#[cfg(test)]
#[path = "last_rollout_tests.rs"]
mod tests;
