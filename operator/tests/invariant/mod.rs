//! The rollout invariant under faults, as plain data: what should have rolled after each settled batch of
//! source updates, against what did.
//!
//! ```text
//!  batch i:  hashes before ──expected_rollouts──► {workload → 0|1}  (1: its consumed content changed)
//!            generations   ──observed_rollouts──► {workload → n}    (spec changes during the batch)
//!            Tally::add_batch(expected, observed) → changes, rollouts, missed, spurious
//! ```
//! A workload's generation moves when its spec changes, and the test never edits a workload's spec after
//! creating it, so the generation delta counts rollouts exactly, including any a watch would have missed. One
//! exception: a real apiserver also moves a Deployment's generation when only its metadata annotations change
//! (they are copied to its ReplicaSets), so the operator's record-only write (adoption) moves it without a
//! rollout; [`record_only_moves`] discounts those (the embedded server does not move it, and nothing is
//! discounted below zero).
//! Batches change each workload's hash at most once, so "exactly once per settled change" is `observed ==
//! expected` per workload and batch. The submodules hold the seeded fleet ([`fleet`]) and the API driver
//! ([`drive`]); both the in-process fault test and the process end-to-end test include this directory.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

pub mod drive;
pub mod fleet;

/// Per-workload counts, by workload name.
pub type Counts = BTreeMap<String, u64>;

/// The rollouts each workload owes for one batch: 1 where its hash changed, 0 elsewhere.
pub fn expected_rollouts(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Counts {
    after
        .iter()
        .map(|(name, hash)| (name.clone(), u64::from(before.get(name) != Some(hash))))
        .collect()
}

/// The rollouts each workload made between two generation snapshots.
pub fn observed_rollouts(before: &BTreeMap<String, i64>, after: &BTreeMap<String, i64>) -> Counts {
    after
        .iter()
        .map(|(name, generation)| {
            let start = before.get(name).copied().unwrap_or(*generation);
            (name.clone(), u64::try_from(generation - start).unwrap_or(0))
        })
        .collect()
}

/// Deployments (of `deployments`) whose record changed while their pod template did not, between two
/// snapshots: one generation move each that was a record-only write, not a rollout. A template that left and
/// came back within the batch still counts the moves beyond this one, so a flap is never hidden.
pub fn record_only_moves(
    before: &drive::Snapshot,
    after: &drive::Snapshot,
    deployments: &BTreeSet<String>,
) -> Counts {
    deployments
        .iter()
        .filter_map(|name| Some((name, before.get(name)?, after.get(name)?)))
        .filter(|(_, b, a)| {
            b.hashes.observed != a.hashes.observed && b.hashes.template == a.hashes.template
        })
        .map(|(name, _, _)| (name.clone(), 1))
        .collect()
}

/// `observed` less `moves`, per workload, never below zero.
pub fn discount(observed: &Counts, moves: &Counts) -> Counts {
    observed
        .iter()
        .map(|(name, n)| {
            (
                name.clone(),
                n.saturating_sub(moves.get(name).copied().unwrap_or(0)),
            )
        })
        .collect()
}

/// Totals over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Settled changes: (workload, batch) pairs whose consumed content changed.
    pub changes: u64,
    /// Rollouts observed.
    pub rollouts: u64,
    /// Rollouts owed and not made.
    pub missed: u64,
    /// Rollouts made and not owed.
    pub spurious: u64,
    /// Workloads with a missed or spurious rollout, with the batch.
    pub offenders: BTreeSet<(usize, String)>,
    /// Batches counted.
    pub batches: usize,
}

impl Tally {
    /// Count one settled batch.
    pub fn add_batch(&mut self, expected: &Counts, observed: &Counts) {
        let batch = self.batches;
        self.batches += 1;
        let names: BTreeSet<&String> = expected.keys().chain(observed.keys()).collect();
        for name in names {
            let owed = expected.get(name).copied().unwrap_or(0);
            let made = observed.get(name).copied().unwrap_or(0);
            self.changes += owed;
            self.rollouts += made;
            self.missed += owed.saturating_sub(made);
            self.spurious += made.saturating_sub(owed);
            if owed != made {
                self.offenders.insert((batch, name.clone()));
            }
        }
    }

    /// Whether every change rolled exactly once and nothing else rolled.
    pub fn holds(&self) -> bool {
        self.missed == 0 && self.spurious == 0
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "batches={} changes={} rollouts={} missed={} spurious={}",
            self.batches, self.changes, self.rollouts, self.missed, self.spurious
        )
    }
}

/// Workloads whose live hashes differ from the ones recomputed from scratch: the record must equal the
/// recomputed hash, and so must the template of every workload that ever rolled (the others have none).
pub fn hash_mismatches(
    recomputed: &BTreeMap<String, String>,
    live: &BTreeMap<String, drive::LiveHashes>,
    rolled: &BTreeSet<String>,
) -> Vec<String> {
    recomputed
        .iter()
        .filter(|(name, hash)| {
            let Some(live) = live.get(*name) else {
                return true;
            };
            let template_ok = if rolled.contains(*name) {
                live.template.as_deref() == Some(hash.as_str())
            } else {
                live.template.is_none()
            };
            live.observed.as_deref() != Some(hash.as_str()) || !template_ok
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests;
