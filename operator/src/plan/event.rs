//! Event texts for decisions: they name the sources and the keys that changed, never a value.
//!
//! The functions here take key names and hashes only; no value ever reaches them. Notes are cut to the
//! 1 KiB an Event note may hold.
use std::collections::BTreeSet;

use super::Decision;
use crate::annotations;
use crate::hash::ConfigHash;
use crate::refs::SourceId;

/// Kubernetes limits an Event note to 1 KiB.
const NOTE_LIMIT: usize = 1024;
/// Keys listed per source before the rest are counted.
const KEYS_LISTED: usize = 8;

/// Event reasons (the `reason` field).
pub mod reason {
    /// A rollout was started.
    pub const ROLLED: &str = "ConfigRolled";
    /// The content changed under strategy reload or none: recorded, no restart.
    pub const CHANGED: &str = "ConfigChanged";
    /// The workload was taken over without a restart.
    pub const ADOPTED: &str = "ConfigAdopted";
    /// A required source is missing.
    pub const SOURCE_MISSING: &str = "SourceMissing";
    /// A configsync, Reloader or wave annotation is malformed.
    pub const INVALID_ANNOTATION: &str = "InvalidAnnotation";
    /// The API refused the apply for good (403, 404, 422): it is not retried until the next change.
    pub const APPLY_FAILED: &str = "ApplyFailed";
    /// `--dry-run`: this change would have rolled the workload (nothing was patched).
    pub const WOULD_ROLL_OUT: &str = "WouldRollOut";
}

/// Normal or Warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Informational.
    Normal,
    /// Something the user should fix.
    Warning,
}

/// An Event to publish on the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventText {
    /// Normal or Warning.
    pub type_: EventType,
    /// A [`reason`] constant.
    pub reason: &'static str,
    /// The human-readable note.
    pub note: String,
}

/// Which of the publisher's two queues an Event waits in: Events about a change (rollouts, recorded changes,
/// warnings) are published before any bulk Event, so an update never waits behind the thousands of
/// `ConfigAdopted` Events a start or failover publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// About a change a user just made or must fix: published first.
    Change,
    /// Adoption (start, failover, a new workload): published when no change Event waits.
    Bulk,
}

impl EventText {
    /// The queue this Event waits in.
    pub fn lane(&self) -> Lane {
        if self.reason == reason::ADOPTED {
            Lane::Bulk
        } else {
            Lane::Change
        }
    }
}

/// How one source changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// These keys were added, removed or modified.
    Keys(BTreeSet<String>),
    /// The source appeared.
    Created,
    /// The source disappeared.
    Deleted,
}

/// One changed source, as reported in the Event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceChange {
    /// The source.
    pub id: SourceId,
    /// What changed.
    pub change: Change,
}

/// The Event for a decision, or `None` when it deserves none (Nothing, Record).
pub fn decision_event(decision: &Decision, changes: &[SourceChange]) -> Option<EventText> {
    let (type_, reason, note) = match decision {
        Decision::Roll { hash } => (
            EventType::Normal,
            reason::ROLLED,
            format!("Rolling out config {}: {}", hash.short(), describe(changes)),
        ),
        Decision::Report { hash, strategy } => (
            EventType::Normal,
            reason::CHANGED,
            format!(
                "Config changed to {} (strategy {}, no restart): {}",
                hash.short(),
                strategy.as_str(),
                describe(changes)
            ),
        ),
        Decision::Adopt { hash } => (
            EventType::Normal,
            reason::ADOPTED,
            format!("Recorded config {} without a restart", hash.short()),
        ),
        Decision::Warn { missing } => {
            let list = missing
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            (
                EventType::Warning,
                reason::SOURCE_MISSING,
                format!("Not rolling out: required sources are missing: {list}"),
            )
        }
        Decision::Record { .. } | Decision::Nothing => return None,
    };
    Some(EventText {
        type_,
        reason,
        note: cut(note),
    })
}

/// The Warning Event for malformed annotations.
pub fn policy_event(error: &annotations::Error) -> EventText {
    EventText {
        type_: EventType::Warning,
        reason: reason::INVALID_ANNOTATION,
        note: cut(error.to_string()),
    }
}

/// `ConfigMap app keys [a, b] changed; Secret db created`.
/// The `--dry-run` Event of a rollout that was not made: it names the sources and keys, never a value.
pub fn would_roll_out_event(hash: &ConfigHash, changes: &[SourceChange]) -> EventText {
    EventText {
        type_: EventType::Normal,
        reason: reason::WOULD_ROLL_OUT,
        note: format!(
            "Dry run: would roll out config {}: {}",
            hash.short(),
            describe(changes)
        ),
    }
}

fn describe(changes: &[SourceChange]) -> String {
    if changes.is_empty() {
        return "sources changed".to_owned();
    }
    let parts: Vec<String> = changes
        .iter()
        .map(|c| match &c.change {
            Change::Created => format!("{} created", c.id),
            Change::Deleted => format!("{} deleted", c.id),
            Change::Keys(keys) => format!("{} keys [{}] changed", c.id, list_keys(keys)),
        })
        .collect();
    parts.join("; ")
}

fn list_keys(keys: &BTreeSet<String>) -> String {
    let mut listed: Vec<&str> = keys.iter().take(KEYS_LISTED).map(String::as_str).collect();
    let rest = keys.len().saturating_sub(KEYS_LISTED);
    let more = format!("… and {rest} more");
    if rest > 0 {
        listed.push(&more);
    }
    listed.join(", ")
}

fn cut(mut note: String) -> String {
    if note.len() > NOTE_LIMIT {
        let mut end = NOTE_LIMIT - '…'.len_utf8();
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push('…');
    }
    note
}

#[cfg(test)]
mod tests {
    use configsync_crds::Strategy;

    use super::*;
    use crate::fixtures::mk_hash;

    fn keys(ks: &[&str]) -> Change {
        Change::Keys(ks.iter().map(|k| (*k).to_owned()).collect())
    }

    #[test]
    fn only_adoption_waits_in_the_bulk_lane() {
        let hash = mk_hash("x");
        let adopted = decision_event(&Decision::Adopt { hash: hash.clone() }, &[]).unwrap();
        assert_eq!(adopted.lane(), Lane::Bulk);
        let rolled = decision_event(&Decision::Roll { hash: hash.clone() }, &[]).unwrap();
        assert_eq!(rolled.lane(), Lane::Change);
        let report = Decision::Report {
            hash,
            strategy: Strategy::Reload,
        };
        assert_eq!(decision_event(&report, &[]).unwrap().lane(), Lane::Change);
        let missing = Decision::Warn {
            missing: vec![SourceId::secret("db")],
        };
        assert_eq!(decision_event(&missing, &[]).unwrap().lane(), Lane::Change);
    }

    #[test]
    fn rollout_event_names_sources_and_keys() {
        let hash = mk_hash("x");
        let changes = [
            SourceChange {
                id: SourceId::config_map("app"),
                change: keys(&["b", "a"]),
            },
            SourceChange {
                id: SourceId::secret("db"),
                change: Change::Created,
            },
            SourceChange {
                id: SourceId::secret("old"),
                change: Change::Deleted,
            },
        ];
        let event = decision_event(&Decision::Roll { hash: hash.clone() }, &changes).unwrap();
        assert_eq!(event.type_, EventType::Normal);
        assert_eq!(event.reason, reason::ROLLED);
        assert_eq!(
            event.note,
            format!(
                "Rolling out config {}: ConfigMap app keys [a, b] changed; Secret db created; Secret old deleted",
                hash.short()
            )
        );
    }

    #[test]
    fn report_warn_and_adopt_texts() {
        let hash = mk_hash("x");
        let change = [SourceChange {
            id: SourceId::config_map("app"),
            change: keys(&["k"]),
        }];
        let report = decision_event(
            &Decision::Report {
                hash: hash.clone(),
                strategy: Strategy::Reload,
            },
            &change,
        );
        assert!(
            report
                .unwrap()
                .note
                .contains("(strategy reload, no restart): ConfigMap app keys [k] changed")
        );
        let warn = decision_event(
            &Decision::Warn {
                missing: vec![SourceId::secret("db")],
            },
            &[],
        )
        .unwrap();
        assert_eq!(warn.type_, EventType::Warning);
        assert_eq!(
            warn.note,
            "Not rolling out: required sources are missing: Secret db"
        );
        let adopt = decision_event(&Decision::Adopt { hash: hash.clone() }, &[]).unwrap();
        assert_eq!(adopt.reason, reason::ADOPTED);
        assert_eq!(decision_event(&Decision::Nothing, &change), None);
        assert_eq!(decision_event(&Decision::Record { hash }, &change), None);
    }

    #[test]
    fn long_key_lists_are_summarised_and_notes_capped() {
        let many: Vec<String> = (0..20).map(|i| format!("key-{i:02}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let change = [SourceChange {
            id: SourceId::config_map("jumbo"),
            change: keys(&refs),
        }];
        let note = decision_event(&Decision::Roll { hash: mk_hash("x") }, &change)
            .unwrap()
            .note;
        assert!(note.ends_with("key-07, … and 12 more] changed"), "{note}");
        let huge: Vec<SourceChange> = (0..200)
            .map(|i| SourceChange {
                id: SourceId::secret(format!("sécret-{i}")),
                change: Change::Created,
            })
            .collect();
        let note = decision_event(&Decision::Roll { hash: mk_hash("x") }, &huge)
            .unwrap()
            .note;
        assert!(note.len() <= NOTE_LIMIT && note.ends_with('…'));
    }

    #[test]
    fn policy_errors_become_warnings() {
        let mut annotations = std::collections::BTreeMap::new();
        annotations.insert("configsync.dev/strategy".to_owned(), "sometimes".to_owned());
        let error = annotations::parse_policy(&annotations, true).unwrap_err();
        let event = policy_event(&error);
        assert_eq!(event.type_, EventType::Warning);
        assert_eq!(event.reason, reason::INVALID_ANNOTATION);
        assert!(
            event.note.contains("configsync.dev/strategy") && event.note.contains("\"sometimes\"")
        );
    }
}
