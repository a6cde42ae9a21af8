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
//! A hash in another encoding version (an upgrade that changed the format, or a hand-edited value) cannot be
//! compared and does not count as a record: the workload is adopted again, without a restart, so a format
//! change never rolls the fleet.
//!
//! Toggling `configsync.dev/ignore` on a source changes the hash of its consumers without changing what
//! should roll; the source cache reports it as `cache::Trigger::Rebaseline` and the reconcile calls
//! [`decide_rebaseline`], which records instead of rolling, so neither the toggle nor a later restart rolls.
//!
//! Submodules: [`apply`] builds the server-side-apply body, [`debounce`] the quiet period, [`budget`] the
//! fleet-wide rollout budget, [`event`] the Event texts, [`condition`] the workload's `ConfigSyncApplied`
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

/// The hashes a workload carries now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Live<'a> {
    /// Pod-template `configsync.dev/config-hash`.
    pub template_hash: Option<&'a str>,
    /// Metadata `configsync.dev/observed-hash`.
    pub observed_hash: Option<&'a str>,
}

impl<'a> Live<'a> {
    /// Read both hashes from a workload.
    pub fn of(workload: &'a impl Workload) -> Self {
        Self {
            template_hash: workload.template_hash(),
            observed_hash: workload.observed_hash(),
        }
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
    /// The template already runs this content but the record lags: write the observed hash only.
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
        Some(record) if hash == *record => match live.observed_hash {
            Some(observed) if hash == *observed => Decision::Nothing,
            _ => Decision::Record { hash },
        },
        Some(_) => match strategy {
            Strategy::Restart => Decision::Roll { hash },
            Strategy::Reload | Strategy::None => Decision::Report { hash, strategy },
        },
    }
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
