//! Why a workload would or would not roll on the next config change: the answer of `configsync explain`
//! and `configsync preflight`, as a plain function over what the API holds.
//!
//! ```text
//!  workload::follow (the operator's own annotation parsing)  ─┐
//!  refs::refs_via (each reference and the field that makes it) ├─► explain(Input) ─► Explanation
//!  cache::Namespace (digests, ignored flags), ConfigSync claim ─┤     sources: consumed keys, via, followed or why not
//!  plan::decide (what the operator does with the live record) ─┘     hash: current vs recorded vs template
//!                                                                    next change: rolls? + one Finding per reason
//!  configsync.dev/last-rollout (plan::last_rollout) ───────────────►  last rollout: time and cause
//! ```
//! The last rollout is read from the workload's `configsync.dev/last-rollout` annotation, which the
//! rollout's own apply wrote and which does not expire. Without it (a rollout older than the annotation,
//! or one the annotation cannot be read from: [`Explanation::last_rollout_problem`] says why) the caller
//! falls back to the newest rollout Event.
//! Nothing here reads the API or a clock: the CLI fetches, this decides, so every reason is a table case
//! in the tests. The reasons are the operator's own rules, reached through the same functions it calls
//! (`follow`, `workload_hash`, `decide`), so the explanation cannot drift from what the operator does.
use std::collections::{BTreeMap, BTreeSet};

use configsync_crds::{SourceKind, Strategy};
use serde::Serialize;

use crate::annotations::{self, Debounce};
use crate::cache;
use crate::hash::{self, DigestLookup, SourceContent, workload_hash};
use crate::plan::last_rollout;
use crate::plan::{Decision, Live, decide};
use crate::refs::{ConsumedKeys, SourceId, SourceRef, Via};
use crate::workload::{Followed, WorkloadRef};

/// The ConfigSync that drives the workload, if one claims it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim<'a> {
    /// The ConfigSync's name (same namespace).
    pub name: &'a str,
    /// Its `spec.strategy`.
    pub strategy: Strategy,
    /// Its `spec.suspend`.
    pub suspended: bool,
}

/// What the operator is run with, and how busy its fleet budget is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OperatorView {
    /// `--debounce`: the quiet period of workloads that set none.
    pub debounce: Option<Debounce>,
    /// `--max-concurrent-rollouts` (`None`: unlimited).
    pub max_concurrent_rollouts: Option<usize>,
    /// Followed workloads whose rollout has not completed.
    pub rolling: usize,
}

/// Everything the explanation is computed from.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The workload.
    pub workload: &'a WorkloadRef,
    /// `workload::follow` of it.
    pub follow: &'a Result<Option<Followed>, annotations::Error>,
    /// `refs::refs_via` of its pod spec.
    pub uses: &'a [(Via, SourceRef)],
    /// Its two hashes.
    pub live: Live<'a>,
    /// The ConfigMaps and Secrets of its namespace.
    pub sources: cache::Namespace<'a>,
    /// The ConfigSync that drives it.
    pub claim: Option<Claim<'a>>,
    /// The operator's settings.
    pub operator: OperatorView,
}

/// Why something is or is not followed, or would or would not roll.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// A configsync, Reloader or wave annotation is malformed: the operator leaves the workload alone.
    InvalidAnnotation,
    /// No opt-in annotation, and the operator is not run with `--auto-all`.
    NotOptedIn,
    /// A ConfigSync drives the workload; its spec decides.
    ClaimedByConfigSync,
    /// The ConfigSync that drives it is suspended.
    Suspended,
    /// Referenced sources `auto` leaves out (`exclude-*` annotations).
    Excluded,
    /// Referenced sources of a kind the opt-in does not cover (e.g. only `configmap.reloader…/auto`).
    NotCovered,
    /// Sources marked `configsync.dev/ignore` (or Reloader's): they never trigger anything.
    IgnoredSource,
    /// Nothing is left to follow.
    NoFollowedSources,
    /// Strategy `reload` or `none`: the change is recorded and reported, pods keep running.
    Strategy,
    /// A required source is missing: Warning Event, no rollout until it exists.
    SourceMissing,
    /// A change to one of these sources rolls it.
    Follows,
    /// The live content differs from the record; the operator rolls it after its quiet period.
    DebouncePending,
    /// The live content differs from the record; the operator rolls it on its next pass.
    RolloutPending,
    /// Nothing is recorded yet: the operator records the hash without a restart.
    AdoptionPending,
    /// The fleet budget is full: the rollout waits for a slot.
    BudgetFull,
    /// The record matches the live content.
    UpToDate,
}

/// One reason with its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The reason.
    pub reason: Reason,
    /// What it means for this workload.
    pub message: String,
}

/// How a source the workload consumes or names is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceState {
    /// A change to the consumed keys counts.
    Followed,
    /// Left out by an `exclude-*` annotation.
    Excluded,
    /// The opt-in covers the other kind only.
    NotCovered,
    /// The source says `ignore`.
    Ignored,
    /// The workload is not followed (or its ConfigSync decides).
    NotFollowed,
}

/// One source as the workload uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReport {
    /// ConfigMap or Secret.
    pub kind: SourceKind,
    /// Its name.
    pub name: String,
    /// The keys that count; `None` means every key.
    pub keys: Option<Vec<String>>,
    /// The fields that reference it (`annotation` for a source named by an annotation only).
    pub via: Vec<String>,
    /// Every reference is optional.
    pub optional: bool,
    /// It exists.
    pub exists: bool,
    /// How configsync treats it.
    pub state: SourceState,
}

/// The three hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hashes {
    /// The hash of what the sources hold now (`None`: not followed, or a required source is missing).
    pub current: Option<String>,
    /// The metadata `configsync.dev/observed-hash` record.
    pub recorded: Option<String>,
    /// The pod-template `configsync.dev/config-hash` the pods run with.
    pub template: Option<String>,
}

/// Whether the next change rolls the workload, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextChange {
    /// A content change of a followed source restarts its pods.
    pub rolls: bool,
    /// Every reason that applies, most decisive first.
    pub reasons: Vec<Finding>,
}

/// The last rollout, as the workload's annotation or the operator's Events record it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastRollout {
    /// When (RFC 3339).
    pub time: String,
    /// `ConfigRolled` or `ConfigChanged` (and, from an Event only, `ConfigAdopted`).
    pub reason: String,
    /// The sources and keys that changed.
    pub cause: String,
    /// Where it was read.
    pub from: RecordedIn,
}

/// Where the last rollout was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordedIn {
    /// The workload's `configsync.dev/last-rollout` annotation.
    Workload,
    /// The newest rollout Event (they expire after the API server's `--event-ttl`).
    Event,
}

/// What `configsync explain` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// `Kind namespace/name`.
    pub workload: WorkloadId,
    /// Every source it consumes or names.
    pub sources: Vec<SourceReport>,
    /// Current, recorded and template hashes.
    pub hash: Hashes,
    /// Whether the next change rolls it.
    pub next_change: NextChange,
    /// The last rollout, when the workload or an Event still records it.
    pub last_rollout: Option<LastRollout>,
    /// Why the workload's `configsync.dev/last-rollout` annotation could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rollout_problem: Option<String>,
}

/// A workload reference as printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkloadId {
    /// The kind.
    pub kind: String,
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl From<&WorkloadRef> for WorkloadId {
    fn from(workload: &WorkloadRef) -> Self {
        Self {
            kind: workload.kind.as_str().to_owned(),
            namespace: workload.namespace.clone(),
            name: workload.name.clone(),
        }
    }
}

/// Explain `input`. Without a readable `configsync.dev/last-rollout`, `last_rollout` is left for the caller,
/// who reads Events.
pub fn explain(input: &Input<'_>) -> Explanation {
    let followed = match input.follow {
        Ok(Some(followed)) if input.claim.is_none() => Some(followed),
        _ => None,
    };
    let sources = source_reports(input, followed);
    let computed =
        followed.map(|f| workload_hash(&f.sources, &input.sources.for_policy(&f.policy)));
    let hash = Hashes {
        current: computed
            .as_ref()
            .and_then(|c| c.as_ref().ok())
            .map(|h| h.as_str().to_owned()),
        recorded: input.live.observed_hash.map(str::to_owned),
        template: input.live.template_hash.map(str::to_owned),
    };
    let next_change = match (input.follow, input.claim, followed) {
        (Err(error), _, _) => no_roll(vec![finding(Reason::InvalidAnnotation, error.to_string())]),
        (_, Some(claim), _) => claimed(claim),
        (_, None, Some(followed)) => next_change(input, followed, &sources, computed),
        (Ok(_), None, None) => no_roll(vec![finding(
            Reason::NotOptedIn,
            "no configsync.dev/auto, configsync.dev/configmaps|secrets, Reloader or wave annotation \
             (and the operator is not run with --auto-all)"
                .to_owned(),
        )]),
    };
    let (last_rollout, last_rollout_problem) = match recorded_rollout(input.live.last_rollout) {
        Ok(last) => (last, None),
        Err(problem) => (None, Some(problem)),
    };
    Explanation {
        workload: input.workload.into(),
        sources,
        hash,
        next_change,
        last_rollout,
        last_rollout_problem,
    }
}

/// The last rollout the workload's annotation records; a message for one that cannot be read.
///
/// # Errors
/// What is wrong with the annotation, for the reader.
pub fn recorded_rollout(annotation: Option<&str>) -> Result<Option<LastRollout>, String> {
    let Some(value) = annotation else {
        return Ok(None);
    };
    match last_rollout::LastRollout::parse(value) {
        Ok(record) => Ok(Some(LastRollout {
            time: record.time.to_string(),
            reason: record.reason.clone(),
            cause: record.cause(),
            from: RecordedIn::Workload,
        })),
        Err(error) => Err(format!(
            "the {} annotation cannot be read ({error}); the last rollout is taken from Events",
            configsync_crds::annotations::LAST_ROLLOUT
        )),
    }
}

fn finding(reason: Reason, message: String) -> Finding {
    Finding { reason, message }
}

fn no_roll(reasons: Vec<Finding>) -> NextChange {
    NextChange {
        rolls: false,
        reasons,
    }
}

fn claimed(claim: Claim<'_>) -> NextChange {
    let mut reasons = vec![finding(
        Reason::ClaimedByConfigSync,
        format!(
            "driven by ConfigSync {} (strategy {}): a change to its sources or to the sources the \
             workload's annotations follow goes through it; see `kubectl get configsync {} -o yaml`",
            claim.name,
            claim.strategy.as_str(),
            claim.name
        ),
    )];
    if claim.suspended {
        reasons.push(finding(
            Reason::Suspended,
            format!(
                "ConfigSync {} is suspended: nothing rolls until it resumes",
                claim.name
            ),
        ));
    }
    if claim.strategy != Strategy::Restart {
        reasons.push(strategy_finding(claim.strategy));
    }
    NextChange {
        rolls: !claim.suspended && claim.strategy == Strategy::Restart,
        reasons,
    }
}

fn strategy_finding(strategy: Strategy) -> Finding {
    finding(
        Reason::Strategy,
        format!(
            "strategy {}: a change is recorded and reported with a ConfigChanged Event, pods keep running",
            strategy.as_str()
        ),
    )
}

/// The verdict for a workload its annotations drive.
fn next_change(
    input: &Input<'_>,
    followed: &Followed,
    sources: &[SourceReport],
    computed: Option<Result<hash::ConfigHash, hash::Error>>,
) -> NextChange {
    let mut reasons = Vec::new();
    let named = |state: SourceState| -> Vec<String> {
        sources
            .iter()
            .filter(|s| s.state == state)
            .map(|s| format!("{} {}", s.kind, s.name))
            .collect()
    };
    for (state, reason, what) in [
        (
            SourceState::Excluded,
            Reason::Excluded,
            "left out by an exclude annotation",
        ),
        (
            SourceState::NotCovered,
            Reason::NotCovered,
            "of a kind the opt-in does not cover",
        ),
        (
            SourceState::Ignored,
            Reason::IgnoredSource,
            "marked ignore: never trigger anything",
        ),
    ] {
        let list = named(state);
        if !list.is_empty() {
            reasons.push(finding(reason, format!("{what}: {}", list.join(", "))));
        }
    }
    let triggers = named(SourceState::Followed);
    if triggers.is_empty() {
        reasons.insert(
            0,
            finding(
                Reason::NoFollowedSources,
                "no source is left to follow".to_owned(),
            ),
        );
        return no_roll(reasons);
    }
    let strategy = followed.policy.strategy;
    let computed = computed.unwrap_or_else(|| {
        workload_hash(
            &followed.sources,
            &input.sources.for_policy(&followed.policy),
        )
    });
    if let Err(hash::Error::HashWorkload { missing }) = &computed {
        let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
        reasons.insert(
            0,
            finding(
                Reason::SourceMissing,
                format!(
                    "required source missing: {} (Warning Event, no rollout)",
                    list.join(", ")
                ),
            ),
        );
        return no_roll(reasons);
    }
    let rolls = strategy == Strategy::Restart;
    if rolls {
        reasons.insert(
            0,
            finding(
                Reason::Follows,
                format!(
                    "a change to the consumed keys of {} rolls it",
                    triggers.join(", ")
                ),
            ),
        );
    } else {
        reasons.insert(0, strategy_finding(strategy));
    }
    reasons.extend(pending(input, followed, computed, rolls));
    NextChange { rolls, reasons }
}

/// What the operator does with the live record now: nothing, adopt, or a rollout waiting for its quiet
/// period or the budget.
fn pending(
    input: &Input<'_>,
    followed: &Followed,
    computed: Result<hash::ConfigHash, hash::Error>,
    rolls: bool,
) -> Vec<Finding> {
    let mut reasons = Vec::new();
    match decide(followed.policy.strategy, input.live, computed) {
        Decision::Nothing | Decision::Record { .. } => reasons.push(finding(
            Reason::UpToDate,
            "the record matches the live content".to_owned(),
        )),
        Decision::Adopt { .. } => reasons.push(finding(
            Reason::AdoptionPending,
            "nothing recorded yet: the operator records the hash without a restart".to_owned(),
        )),
        Decision::Roll { .. } | Decision::Report { .. } => {
            match followed.policy.debounce.or(input.operator.debounce) {
                Some(debounce) => reasons.push(finding(
                    Reason::DebouncePending,
                    format!(
                        "the live content differs from the record: the operator acts once the sources \
                         are quiet for {:?} (at most {:?} after the first change)",
                        debounce.min, debounce.max
                    ),
                )),
                None => reasons.push(finding(
                    Reason::RolloutPending,
                    "the live content differs from the record: the operator acts on its next pass"
                        .to_owned(),
                )),
            }
        }
        Decision::Warn { .. } => {}
    }
    let budget = input.operator;
    if rolls
        && let Some(max) = budget.max_concurrent_rollouts
        && budget.rolling >= max
    {
        reasons.push(finding(
            Reason::BudgetFull,
            format!(
                "{} rollouts in progress, --max-concurrent-rollouts {max}: a rollout waits for a slot",
                budget.rolling
            ),
        ));
    }
    reasons
}

/// One row per source the pod spec references or an annotation names.
fn source_reports(input: &Input<'_>, followed: Option<&Followed>) -> Vec<SourceReport> {
    let mut rows: BTreeMap<SourceId, (BTreeSet<&'static str>, Option<SourceRef>)> = BTreeMap::new();
    for (via, r) in input.uses {
        let (vias, merged) = rows.entry(r.id.clone()).or_default();
        vias.insert(via.as_str());
        match merged {
            Some(merged) => merged.merge(r.clone()),
            None => *merged = Some(r.clone()),
        }
    }
    if let Some(followed) = followed {
        for id in &followed.policy.named {
            let (vias, merged) = rows.entry(id.clone()).or_default();
            vias.insert("annotation");
            if merged.is_none() {
                *merged = followed.sources.iter().find(|s| &s.id == id).cloned();
            }
        }
    }
    let lookup = input
        .sources
        .matched_only(followed.is_some_and(|f| f.policy.search));
    rows.into_iter()
        .map(|(id, (via, merged))| {
            let (keys, optional) = merged.map_or((None, true), |r| (keys_of(&r.keys), r.optional));
            let content = lookup.content(&id);
            SourceReport {
                state: state_of(&id, followed, &content),
                exists: !matches!(content, SourceContent::Missing),
                kind: id.kind,
                name: id.name,
                keys,
                via: via.into_iter().map(str::to_owned).collect(),
                optional,
            }
        })
        .collect()
}

fn keys_of(keys: &ConsumedKeys) -> Option<Vec<String>> {
    match keys {
        ConsumedKeys::All => None,
        ConsumedKeys::Keys(keys) => Some(keys.iter().cloned().collect()),
    }
}

fn state_of(
    id: &SourceId,
    followed: Option<&Followed>,
    content: &SourceContent<'_>,
) -> SourceState {
    let Some(followed) = followed else {
        return SourceState::NotFollowed;
    };
    let policy = &followed.policy;
    let state = if policy.named.contains(id) || policy.patterns.iter().any(|p| p.selects(id)) {
        SourceState::Followed
    } else if !policy.auto.covers(id.kind) {
        SourceState::NotCovered
    } else if policy.excluded.contains(id) {
        SourceState::Excluded
    } else {
        SourceState::Followed
    };
    match (state, content) {
        (SourceState::Followed, SourceContent::Ignored) => SourceState::Ignored,
        _ => state,
    }
}

/// A tool whose annotations configsync honours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Tool {
    /// stakater/Reloader (`*.reloader.stakater.com/*`, `reloader.stakater.com/*`).
    Reloader,
    /// pusher/wave (`wave.pusher.com/*`).
    Wave,
}

/// The tool an annotation key belongs to, by its domain.
pub fn tool_of(key: &str) -> Option<Tool> {
    let domain = key.split_once('/')?.0;
    let under = |root: &str| domain == root || domain.ends_with(&format!(".{root}"));
    if under("reloader.stakater.com") {
        Some(Tool::Reloader)
    } else if under("wave.pusher.com") {
        Some(Tool::Wave)
    } else {
        None
    }
}

/// One workload that carries Reloader or wave annotations, and what configsync will do with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    /// The workload.
    pub workload: WorkloadId,
    /// The Reloader and wave annotation keys it carries (workload and pod template), sorted.
    pub annotations: Vec<String>,
    /// Whether the next change of a followed source rolls it, and why.
    pub next_change: NextChange,
    /// The sources configsync follows for it.
    pub follows: Vec<String>,
}

/// The preflight entry of a workload, `None` when it carries no Reloader or wave annotation.
pub fn migration<'k>(
    explanation: &Explanation,
    annotation_keys: impl IntoIterator<Item = &'k str>,
) -> Option<Migration> {
    let annotations: BTreeSet<&str> = annotation_keys
        .into_iter()
        .filter(|key| tool_of(key).is_some())
        .collect();
    if annotations.is_empty() {
        return None;
    }
    Some(Migration {
        workload: explanation.workload.clone(),
        annotations: annotations.into_iter().map(str::to_owned).collect(),
        next_change: explanation.next_change.clone(),
        follows: explanation
            .sources
            .iter()
            .filter(|s| s.state == SourceState::Followed)
            .map(|s| format!("{} {}", s.kind, s.name))
            .collect(),
    })
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
