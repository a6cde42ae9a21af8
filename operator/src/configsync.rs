//! Pure pieces of the ConfigSync controller: resolve a spec against what exists, settle overlapping claims,
//! and keep `status.conditions` in the standard shape.
//!
//! ```text
//!  spec.sources  ──resolve_sources(catalog)──► [SourceRef]   ─┐ same hash::workload_hash and plan::decide
//!  spec.targets  ──resolve_targets(catalog)──► found+missing  │ as annotated workloads: a workload named by
//!  all ConfigSyncs ──claim_winners──► target → oldest claimant │ both gets one hash over the union of sources
//!  conditions    ──set_condition(now)──► lastTransitionTime kept while the status holds
//! ```
//! Catalogs are the operator's metadata caches (names and labels only). No I/O, no clock.
use std::collections::{BTreeMap, BTreeSet};

use configsync_core::timing::parse_duration;
use configsync_crds::{ConfigSyncSpec, WorkloadKind};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::core::{ParseExpressionError, Selector, SelectorExt};

use crate::annotations::{Debounce, Invalid};
use crate::refs::{ConsumedKeys, SourceId, SourceRef, merge_refs};
use crate::workload::WorkloadRef;

/// Labels of one object in a catalog.
pub type Labels = BTreeMap<String, String>;

/// Failures while reading a ConfigSync spec (the schema rejects most of these before they reach us).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A label selector could not be parsed.
    #[error("spec.{field}[{index}].selector is invalid: {source}")]
    ParseSelector {
        /// `sources` or `targets`.
        field: &'static str,
        /// The list index.
        index: usize,
        /// Why.
        #[source]
        source: ParseExpressionError,
    },
    /// A duration in `debounce` or `rollout` is malformed.
    #[error("spec.{field} is invalid: {invalid}")]
    ParseDuration {
        /// The field path under spec.
        field: &'static str,
        /// Why.
        #[source]
        invalid: Invalid,
    },
}

/// The sources a ConfigSync follows: named ones (present or not) plus every catalog source its selectors match.
///
/// # Errors
/// [`Error::ParseSelector`] for a selector the API server would not have accepted either.
pub fn resolve_sources<'a>(
    spec: &ConfigSyncSpec,
    catalog: impl IntoIterator<Item = (&'a SourceId, &'a Labels)> + Clone,
) -> Result<Vec<SourceRef>, Error> {
    let mut refs = Vec::new();
    for (index, source) in spec.sources.iter().enumerate() {
        let keys = match &source.keys {
            Some(keys) if !keys.is_empty() => ConsumedKeys::Keys(keys.iter().cloned().collect()),
            _ => ConsumedKeys::All,
        };
        let mk = |id: SourceId| SourceRef {
            id,
            keys: keys.clone(),
            optional: source.optional,
            env_prefixes: BTreeSet::new(),
        };
        if let Some(name) = &source.name {
            refs.push(mk(SourceId {
                kind: source.kind,
                name: name.clone(),
            }));
        }
        if let Some(selector) = &source.selector {
            let selector = parse_selector(selector, "sources", index)?;
            let matched = catalog
                .clone()
                .into_iter()
                .filter(|(id, labels)| id.kind == source.kind && selector.matches(labels));
            refs.extend(matched.map(|(id, _)| mk(id.clone())));
        }
    }
    Ok(merge_refs(refs))
}

/// Targets found in the catalog, and named targets that do not exist (`TargetMissing`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// Existing targets.
    pub found: BTreeSet<WorkloadRef>,
    /// Named targets that do not exist.
    pub missing: BTreeSet<WorkloadRef>,
}

/// Resolve `spec.targets` in `namespace` against a catalog of workloads.
///
/// # Errors
/// [`Error::ParseSelector`] for an invalid selector.
pub fn resolve_targets<'a>(
    spec: &ConfigSyncSpec,
    namespace: &str,
    catalog: impl IntoIterator<Item = (&'a WorkloadRef, &'a Labels)> + Clone,
) -> Result<Targets, Error> {
    let mut targets = Targets::default();
    let in_ns = |kind: WorkloadKind| {
        catalog
            .clone()
            .into_iter()
            .filter(move |(w, _)| w.kind == kind && w.namespace == namespace)
    };
    for (index, target) in spec.targets.iter().enumerate() {
        if let Some(name) = &target.name {
            let wanted = WorkloadRef::new(target.kind, namespace, name);
            let exists = in_ns(target.kind).any(|(w, _)| *w == wanted);
            if exists {
                &mut targets.found
            } else {
                &mut targets.missing
            }
            .insert(wanted);
        }
        if let Some(selector) = &target.selector {
            let selector = parse_selector(selector, "targets", index)?;
            targets.found.extend(
                in_ns(target.kind)
                    .filter(|(_, l)| selector.matches(l))
                    .map(|(w, _)| w.clone()),
            );
        }
    }
    Ok(targets)
}

fn parse_selector(
    selector: &LabelSelector,
    field: &'static str,
    index: usize,
) -> Result<Selector, Error> {
    Selector::try_from(selector.clone()).map_err(|source| Error::ParseSelector {
        field,
        index,
        source,
    })
}

/// The spec's quiet period, if any (`max` defaults to 4 × `min`).
///
/// # Errors
/// [`Error::ParseDuration`] for a malformed duration or `max` below `min`.
pub fn debounce(spec: &ConfigSyncSpec) -> Result<Option<Debounce>, Error> {
    let Some(d) = &spec.debounce else {
        return Ok(None);
    };
    let invalid_in = |field| {
        move |timing| Error::ParseDuration {
            field,
            invalid: Invalid::from(timing),
        }
    };
    // Each part on its own first, so the error names the field that is malformed.
    parse_duration(&d.min).map_err(invalid_in("debounce.min"))?;
    if let Some(max) = &d.max {
        parse_duration(max).map_err(invalid_in("debounce.max"))?;
    }
    Debounce::from_parts(&d.min, d.max.as_deref())
        .map(Some)
        .map_err(invalid_in("debounce"))
}

/// One ConfigSync's claim on its targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The ConfigSync's name (claims are per namespace).
    pub name: String,
    /// Its `metadata.creationTimestamp`; older wins.
    pub created: Option<Time>,
    /// The targets it resolved to.
    pub targets: BTreeSet<WorkloadRef>,
}

/// Who drives each target, and which claims lost (each loser gets a Warning Event and `TargetClaimed`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// Target → the name of the ConfigSync that drives it.
    pub winners: BTreeMap<WorkloadRef, String>,
    /// (target, losing ConfigSync name).
    pub conflicts: Vec<(WorkloadRef, String)>,
}

/// Settle overlapping claims: the oldest ConfigSync wins a target (ties broken by name; unknown age last).
pub fn claim_winners(claims: &[Claim]) -> Claims {
    let mut ordered: Vec<&Claim> = claims.iter().collect();
    ordered.sort_by(|a, b| {
        let age = |c: &Claim| (c.created.is_none(), c.created.as_ref().map(|t| t.0));
        age(a).cmp(&age(b)).then_with(|| a.name.cmp(&b.name))
    });
    let mut settled = Claims::default();
    for claim in ordered {
        for target in &claim.targets {
            match settled.winners.get(target) {
                Some(_) => settled.conflicts.push((target.clone(), claim.name.clone())),
                None => {
                    settled.winners.insert(target.clone(), claim.name.clone());
                }
            }
        }
    }
    settled.conflicts.sort();
    settled
}

/// One ConfigSync of a namespace, as [`settle_namespace`] reads it.
#[derive(Clone, Copy, Debug)]
pub struct Claimant<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its `metadata.creationTimestamp`.
    pub created: Option<&'a Time>,
    /// Its spec.
    pub spec: &'a ConfigSyncSpec,
}

impl<'a> Claimant<'a> {
    /// The claimant a ConfigSync object makes.
    pub fn of(cs: &'a configsync_crds::ConfigSync) -> Self {
        Self {
            name: cs.metadata.name.as_deref().unwrap_or_default(),
            created: cs.metadata.creation_timestamp.as_ref(),
            spec: &cs.spec,
        }
    }
}

/// What one ConfigSync drives after the claims of its namespace are settled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drives {
    /// The targets it won: it alone rolls them.
    pub mine: BTreeSet<WorkloadRef>,
    /// Named targets that do not exist (`TargetMissing`).
    pub missing: BTreeSet<WorkloadRef>,
    /// Targets it names that an older ConfigSync drives: (target, the winner's name).
    pub lost: Vec<(WorkloadRef, String)>,
    /// Why its spec could not be resolved, if it could not (it then drives nothing).
    pub invalid: Option<String>,
}

/// The ownership rule of a namespace. Every workload some ConfigSync names is driven by exactly one of
/// them, the oldest ([`claim_winners`]); the annotation reconciler leaves every such workload alone, and
/// the winner hashes the union of its own sources and the workload's annotation sources. A workload no
/// ConfigSync names stays with its annotations. So each change has one writer and one rollout.
///
/// Returns the drives of each ConfigSync (by name) and the owner of each claimed workload.
pub fn settle_namespace<'a>(
    namespace: &str,
    claimants: &[Claimant<'_>],
    workloads: impl IntoIterator<Item = (&'a WorkloadRef, &'a Labels)> + Clone,
) -> (BTreeMap<String, Drives>, BTreeMap<WorkloadRef, String>) {
    let mut drives: BTreeMap<String, Drives> = BTreeMap::new();
    let mut claims = Vec::with_capacity(claimants.len());
    for claimant in claimants {
        let entry = drives.entry(claimant.name.to_owned()).or_default();
        match resolve_targets(claimant.spec, namespace, workloads.clone()) {
            Ok(targets) => {
                entry.missing = targets.missing;
                claims.push(Claim {
                    name: claimant.name.to_owned(),
                    created: claimant.created.cloned(),
                    targets: targets.found,
                });
            }
            Err(error) => entry.invalid = Some(error.to_string()),
        }
    }
    let settled = claim_winners(&claims);
    for (workload, winner) in &settled.winners {
        drives
            .entry(winner.clone())
            .or_default()
            .mine
            .insert(workload.clone());
    }
    for (workload, loser) in settled.conflicts {
        if let Some(winner) = settled.winners.get(&workload) {
            let lost = (workload.clone(), winner.clone());
            drives.entry(loser).or_default().lost.push(lost);
        }
    }
    (drives, settled.winners)
}

/// Whether a source (by id and labels) is one `spec` follows, by name or by selector, so that its
/// change must wake the ConfigSync. An invalid selector follows nothing.
pub fn follows_source(spec: &ConfigSyncSpec, id: &SourceId, labels: &Labels) -> bool {
    spec.sources.iter().any(|source| {
        source.kind == id.kind
            && (source.name.as_deref() == Some(id.name.as_str())
                || source
                    .selector
                    .as_ref()
                    .and_then(|s| Selector::try_from(s.clone()).ok())
                    .is_some_and(|s| s.matches(labels)))
    })
}

/// A condition to set: type, status (`True`/`False`/`Unknown`), reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionUpdate<'a> {
    /// `Ready`, `Progressing` or `Degraded`.
    pub type_: &'a str,
    /// `True`, `False` or `Unknown`.
    pub status: &'a str,
    /// A CamelCase reason from `configsync_crds::configsync::condition`.
    pub reason: &'a str,
    /// Human-readable detail (names and hashes, never values).
    pub message: String,
}

/// Set one condition, keeping `lastTransitionTime` while its status does not change. Returns whether the
/// condition list changed (so an unchanged status is not patched).
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    update: ConditionUpdate<'_>,
    generation: Option<i64>,
    now: Time,
) -> bool {
    let ConditionUpdate {
        type_,
        status,
        reason,
        message,
    } = update;
    let existing = conditions.iter_mut().find(|c| c.type_ == type_);
    let last_transition_time = match &existing {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => now,
    };
    let wanted = Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message,
        observed_generation: generation,
        last_transition_time,
    };
    match existing {
        Some(c) if *c == wanted => false,
        Some(c) => {
            *c = wanted;
            true
        }
        None => {
            conditions.push(wanted);
            true
        }
    }
}

#[cfg(test)]
#[path = "configsync_tests.rs"]
mod tests;
