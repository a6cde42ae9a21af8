//! Deletion propagation as kube-apiserver records it (`deletionFinalizersForGarbageCollection` in the generic
//! registry store): the request only chooses the object's deletion finalizers; the garbage collector
//! (`controllers::gc`, a client of the API like kube-controller-manager's) does the rest.
//!
//! - `Background` (the default): the owner goes at once (if nothing else holds it); the collector then deletes
//!   dependents whose owners are all gone;
//! - `Foreground`: the owner gets the `foregroundDeletion` finalizer and waits with a deletionTimestamp while the
//!   collector deletes its dependents and then removes the finalizer;
//! - `Orphan`: the owner gets the `orphan` finalizer; the collector drops the owner reference from its dependents,
//!   then removes the finalizer.
//!
//! Approximation: the collector knows only the `apps/v1` workload owners ([`crate::controllers::gc::OWNER_KINDS`]),
//! so for other kinds `Foreground` and `Orphan` act as `Background` (the simulation has no dependents of theirs
//! to wait for or to release, and a finalizer nobody removes would hold the object forever).
use crate::controllers::gc::{FOREGROUND, ORPHAN, OWNER_KINDS};
use crate::meta;
use configsync_apimachinery::ResourceType;

/// Whether the garbage collector handles dependents of objects of `rt`.
fn is_collected_owner(rt: &ResourceType) -> bool {
    rt.group == "apps" && OWNER_KINDS.contains(&rt.kind.as_str())
}

/// The finalizers `object` is deleted with under `policy`: both deletion finalizers removed, then the one the
/// policy asks for added. `None` when the finalizers stay as they are.
pub(super) fn deletion_finalizers(
    rt: &ResourceType,
    object: &serde_json::Value,
    policy: Option<&str>,
) -> Option<Vec<String>> {
    let wanted = match policy {
        Some("Foreground") => FOREGROUND,
        Some("Orphan") => ORPHAN,
        _ => return None,
    };
    if !is_collected_owner(rt) || meta::is_deleting(object) {
        return None;
    }
    let mut finalizers: Vec<String> = meta::finalizers(object)
        .into_iter()
        .filter(|f| f != FOREGROUND && f != ORPHAN)
        .collect();
    finalizers.push(wanted.to_owned());
    Some(finalizers)
}
