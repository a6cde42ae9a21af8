//! Pure rollout decisions: what to do with one workload, given the live record and the new hash.
//!
//! # Theory of operation
//! The workload carries two hashes. The pod-template `configsync.dev/config-hash` is what its pods run with;
//! changing it rolls them. The metadata `configsync.dev/observed-hash` is the record of the content the
//! operator last acted on; changing it rolls nothing. The record is the observed hash, or failing that the
//! template hash.
//! ```text
//!  new hash?            record              →  decision
//!  missing required     any                 →  Warn     (Warning Event, no rollout)
//!  h                    none                →  Adopt    (write the record only: taking over restarts nothing)
//!  h                    == h                →  Nothing  (or Record, when only the template held it)
//!  h                    != h, restart       →  Roll     (template + record: exactly one rollout)
//!  h                    != h, reload|none   →  Report   (record + Event, template untouched)
//! ```
//! A change made while the operator was down makes the record differ from the live content: one Roll, after
//! which the record matches and every later pass decides Nothing. A plain restart finds them equal: zero.
//!
//! **Someone else's rollout is adopted, not rolled again.** The record also keeps the fingerprint of the pod
//! template it saw (`configsync.dev/observed-template`, the template without configsync's `config-hash`).
//! When the live template no longer matches it, someone else changed the template: a deploy pipeline
//! (kustomize's `configMapGenerator` pointing at a new ConfigMap, Helm's `checksum/config`, an Argo CD or
//! Flux sync), `kubectl rollout restart` or `kubectl rollout undo`. The pods of that rollout start with the
//! content that is live now, so the decision is Record: the new hash and fingerprint go into the metadata
//! and the template is left alone (exactly one rollout: theirs). The next content change rolls once.
//! ```text
//!  template fingerprint != recorded one  →  Record   (whatever the hash: their rollout carries it)
//!  no fingerprint recorded yet           →  Record   when the hash matches (writes it), else as above
//! ```
//! **`kubectl rollout undo` sticks.** Undo copies an older ReplicaSet's template (its `config-hash` stamp
//! included) back into the Deployment, and replaces the Deployment's annotations with that ReplicaSet's
//! copy: the record of back then. Template and record then agree with each other and disagree with the live
//! content, which alone would look like a change made while the operator was down and roll forward again.
//! The record label (`configsync.dev/observed-hash`, the record's 12-digit short form) is not touched by
//! undo, so it tells them apart:
//! ```text
//!  label present and != short(observed-hash)  →  Record   (an undo: adopt it, leave the older stamp)
//! ```
//! The rule: the stamp on a template says which content configsync last rolled that template for; the
//! record says which content configsync last acted on; only a content change past the record rolls. After
//! an undo the record is brought up to the live content without touching the template, so the undone
//! template keeps running and the next real change rolls exactly once.
//!
//! A hash in another encoding version (an upgrade that changed the format, or a hand-edited value) cannot be
//! compared and does not count as a record: the workload is adopted again, without a restart, so a format
//! change never rolls the fleet.
//!
//! Toggling `configsync.dev/ignore` on a source changes the hash of its consumers without changing what
//! should roll; the source cache reports it as `cache::Trigger::Rebaseline` and the reconcile calls
//! [`decide_rebaseline`], which records instead of rolling, so neither the toggle nor a later restart rolls.
//!
//! Submodules: [`apply`] builds the server-side-apply body, [`debounce`] the quiet period, [`budget`] the
//! fleet-wide rollout budget, [`event`] the Event texts, [`last_rollout`] the record of the last rollout kept on the workload,
//! [`condition`] the workload's `ConfigSyncApplied`
//! condition. All take time as explicit `now` values.
use configsync_crds::Strategy;

use crate::hash::{self, ConfigHash};
use crate::refs::SourceId;
use crate::workload::Workload;

pub mod apply;
pub mod budget;
pub mod condition;
pub mod debounce;
pub mod event;
pub mod last_rollout;

/// The hashes a workload carries now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Live<'a> {
    /// Pod-template `configsync.dev/config-hash`.
    pub template_hash: Option<&'a str>,
    /// Metadata `configsync.dev/observed-hash`.
    pub observed_hash: Option<&'a str>,
    /// The pod template's fingerprint now ([`hash::template_fingerprint`]).
    pub template: Option<&'a str>,
    /// Metadata `configsync.dev/observed-template`: the fingerprint the record saw.
    pub observed_template: Option<&'a str>,
    /// Metadata label `configsync.dev/observed-hash`: the record's short form.
    pub record_label: Option<&'a str>,
    /// Metadata `configsync.dev/last-rollout` ([`last_rollout`]): carried by every apply body, never
    /// read by a decision.
    pub last_rollout: Option<&'a str>,
}

impl<'a> Live<'a> {
    /// Read both hashes from a workload.
    pub fn of(workload: &'a impl Workload) -> Self {
        Self {
            template_hash: workload.template_hash(),
            observed_hash: workload.observed_hash(),
            template: None,
            observed_template: workload.observed_template(),
            record_label: workload.record_label(),
            last_rollout: workload.last_rollout(),
        }
    }

    /// The same, with the template's fingerprint (computed by the caller, who owns it).
    pub fn with_template(self, template: Option<&'a str>) -> Self {
        Self { template, ..self }
    }

    /// Someone other than configsync changed the pod template since the record was written.
    pub fn rolled_by_others(&self) -> bool {
        matches!((self.observed_template, self.template), (Some(seen), Some(now)) if seen != now)
    }

    /// The annotations were rolled back under the record label (`kubectl rollout undo`).
    pub fn undone(&self) -> bool {
        self.record_label
            .is_some_and(|label| self.observed_hash.map(short_hash) != Some(label))
    }

    /// The record predates fingerprints or the label: the next body writes them.
    fn lacks_fingerprint(&self) -> bool {
        self.template.is_some() && (self.observed_template.is_none() || self.record_label.is_none())
    }

    /// The record of the content last acted on: the observed hash, else the template hash, ignoring values
    /// in another encoding version.
    pub fn record(&self) -> Option<&'a str> {
        let current = |h: Option<&'a str>| h.filter(|h| is_current_format(h));
        current(self.observed_hash).or(current(self.template_hash))
    }
}

/// What to do with one workload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    /// Nothing is recorded yet: write the observed hash, leave the pod template alone.
    Adopt {
        /// The hash to record.
        hash: ConfigHash,
    },
    /// The template already runs this content (configsync stamped it, or someone else's rollout of the
    /// template brings it) but the record lags: write the observed hash and fingerprint only.
    Record {
        /// The hash to record.
        hash: ConfigHash,
    },
    /// The content changed: stamp the pod template (one rolling update) and the record.
    Roll {
        /// The new hash.
        hash: ConfigHash,
    },
    /// The content changed under strategy `reload` or `none`: record it and emit an Event, no restart.
    Report {
        /// The new hash.
        hash: ConfigHash,
        /// Why there is no restart.
        strategy: Strategy,
    },
    /// The record matches the content.
    Nothing,
    /// Required sources are missing: Warning Event, no rollout.
    Warn {
        /// The missing sources.
        missing: Vec<SourceId>,
    },
}

impl Decision {
    /// Whether this decision changes the pod template (and so restarts pods).
    pub fn is_rollout(&self) -> bool {
        matches!(self, Self::Roll { .. })
    }
}

/// Decide what to do with a workload from its live hashes and the freshly computed one.
pub fn decide(
    strategy: Strategy,
    live: Live<'_>,
    computed: Result<ConfigHash, hash::Error>,
) -> Decision {
    let hash = match computed {
        Ok(hash) => hash,
        Err(hash::Error::HashWorkload { missing }) => return Decision::Warn { missing },
    };
    match live.record() {
        None => Decision::Adopt { hash },
        Some(_) if live.rolled_by_others() || live.undone() => Decision::Record { hash },
        Some(record) if hash == *record => match live.observed_hash {
            Some(observed) if hash == *observed && !live.lacks_fingerprint() => Decision::Nothing,
            _ => Decision::Record { hash },
        },
        Some(_) => match strategy {
            Strategy::Restart => Decision::Roll { hash },
            Strategy::Reload | Strategy::None => Decision::Report { hash, strategy },
        },
    }
}

/// The record label's value for a recorded hash: its first 12 hex digits (a label value holds no `:`).
pub fn short_hash(record: &str) -> &str {
    let hex = record.split_once(':').map_or(record, |(_, hex)| hex);
    hex.get(..12).unwrap_or(hex)
}

/// Whether a recorded hash uses this build's encoding version (`v1:`).
fn is_current_format(record: &str) -> bool {
    record
        .split_once(':')
        .is_some_and(|(version, _)| version == hash::HASH_VERSION)
}

/// Re-baseline after a change that must not roll anything: a source gained or lost
/// `configsync.dev/ignore`. The hash changes (ignored sources count for nothing), so the new hash is
/// recorded, and the template left alone.
pub fn decide_rebaseline(live: Live<'_>, computed: Result<ConfigHash, hash::Error>) -> Decision {
    match decide(Strategy::None, live, computed) {
        Decision::Report { hash, .. } => Decision::Record { hash },
        other => other,
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
