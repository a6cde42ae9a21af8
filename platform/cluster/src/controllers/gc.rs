//! The garbage collector: deletes dependents whose owners are gone, and carries out foreground and orphan deletion.
//!
//! Scope: owners are the `apps/v1` workloads (Deployment, ReplicaSet, StatefulSet, DaemonSet); dependents are
//! ReplicaSets, Pods and ControllerRevisions. A dependent is garbage when every one of its owner references names
//! a tracked owner kind and none of those owners exists any more (background propagation: ReplicaSets of a deleted
//! Deployment go first, then, once they are gone, their Pods). An owner being deleted with the `foregroundDeletion`
//! finalizer has its dependents deleted and loses the finalizer when none is left; with the `orphan` finalizer its
//! dependents lose their reference to it, then it loses the finalizer. (The API server adds those finalizers on a
//! DELETE with `propagationPolicy=Foreground` or `Orphan`; this collector is the only place that follows owner
//! references.)
//!
//! Each sweep lists the dependents first and the owners second, so a dependent created during the sweep always
//! finds its (older) owner in the owner list. [`plan`] decides; [`run`] sweeps on every owner watch event and on a
//! timer.

use std::collections::HashSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// Finalizer that asks for dependents to be deleted before the owner.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer that asks for dependents to be kept and released.
pub const ORPHAN: &str = "orphan";
/// Owner kinds the collector understands (all `apps/v1`).
pub const OWNER_KINDS: [&str; 4] = ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"];

/// Kinds of object the collector reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// v1 Pod.
    Pod,
    /// apps/v1 ControllerRevision.
    ControllerRevision,
}

/// An object as the collector sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Its kind.
    pub kind: Kind,
    /// Its metadata.
    pub meta: ObjectMeta,
}

/// One write of the collector.
#[derive(Clone, Debug, PartialEq)]
pub enum GcAction {
    /// Delete a dependent (background propagation).
    Delete {
        kind: Kind,
        namespace: String,
        name: String,
    },
    /// Replace a dependent's owner references (orphaning drops one).
    SetOwners {
        kind: Kind,
        namespace: String,
        name: String,
        owners: Vec<OwnerReference>,
    },
    /// Remove a deletion finalizer from an owner, guarded by its resourceVersion.
    RemoveFinalizer {
        kind: Kind,
        namespace: String,
        name: String,
        finalizers: Vec<String>,
        resource_version: String,
    },
}

fn is_tracked(owner: &OwnerReference) -> bool {
    owner.api_version == "apps/v1" && OWNER_KINDS.contains(&owner.kind.as_str())
}

fn has_finalizer(meta: &ObjectMeta, finalizer: &str) -> bool {
    meta.finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == finalizer))
}

fn ident(node: &Node) -> (String, String) {
    (
        node.meta.namespace.clone().unwrap_or_default(),
        node.meta.name.clone().unwrap_or_default(),
    )
}

/// The collector's writes for one sweep, given the dependents and the owners that exist.
pub fn plan(dependents: &[Node], owners: &[Node]) -> Vec<GcAction> {
    let live: HashSet<&str> = owners
        .iter()
        .filter_map(|o| o.meta.uid.as_deref())
        .collect();
    let foreground: HashSet<&str> = owners
        .iter()
        .filter(|o| o.meta.deletion_timestamp.is_some() && has_finalizer(&o.meta, FOREGROUND))
        .filter_map(|o| o.meta.uid.as_deref())
        .collect();
    let orphaning: HashSet<&str> = owners
        .iter()
        .filter(|o| o.meta.deletion_timestamp.is_some() && has_finalizer(&o.meta, ORPHAN))
        .filter_map(|o| o.meta.uid.as_deref())
        .collect();
    let mut actions = Vec::new();
    let mut still_owned: HashSet<&str> = HashSet::new();
    for dependent in dependents {
        let refs = dependent
            .meta
            .owner_references
            .as_deref()
            .unwrap_or_default();
        if refs.is_empty() || dependent.meta.deletion_timestamp.is_some() {
            still_owned.extend(refs.iter().map(|r| r.uid.as_str()));
            continue;
        }
        let (namespace, name) = ident(dependent);
        let kept: Vec<OwnerReference> = refs
            .iter()
            .filter(|r| !orphaning.contains(r.uid.as_str()))
            .cloned()
            .collect();
        if kept.len() != refs.len() {
            actions.push(GcAction::SetOwners {
                kind: dependent.kind,
                namespace,
                name,
                owners: kept,
            });
            continue;
        }
        let all_tracked = refs.iter().all(is_tracked);
        let all_gone = refs.iter().all(|r| !live.contains(r.uid.as_str()));
        let owner_in_foreground = refs.iter().any(|r| foreground.contains(r.uid.as_str()));
        if all_tracked && (all_gone || owner_in_foreground) {
            actions.push(GcAction::Delete {
                kind: dependent.kind,
                namespace,
                name,
            });
        }
        still_owned.extend(refs.iter().map(|r| r.uid.as_str()));
    }
    for owner in owners
        .iter()
        .filter(|o| o.meta.deletion_timestamp.is_some())
    {
        let uid = owner.meta.uid.as_deref().unwrap_or_default();
        let done_orphaning = has_finalizer(&owner.meta, ORPHAN)
            && orphaning.contains(uid)
            && !still_owned.contains(uid);
        let done_foreground = has_finalizer(&owner.meta, FOREGROUND) && !still_owned.contains(uid);
        let drop_finalizer = if done_orphaning {
            Some(ORPHAN)
        } else {
            done_foreground.then_some(FOREGROUND)
        };
        if let Some(finalizer) = drop_finalizer {
            let (namespace, name) = ident(owner);
            let finalizers = owner
                .meta
                .finalizers
                .iter()
                .flatten()
                .filter(|f| *f != finalizer)
                .cloned()
                .collect();
            let resource_version = owner.meta.resource_version.clone().unwrap_or_default();
            actions.push(GcAction::RemoveFinalizer {
                kind: owner.kind,
                namespace,
                name,
                finalizers,
                resource_version,
            });
        }
    }
    actions
}

mod sweep;
pub use sweep::run;

#[cfg(test)]
#[path = "tests/gc.rs"]
mod tests;
