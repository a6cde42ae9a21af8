//! Owner-reference garbage collection, as kube-controller-manager's garbage collector does it, but
//! synchronously inside the deleting request:
//!
//! - `Background` (the default): once an owner is removed, dependents whose owners are all gone are deleted;
//! - `Orphan`: dependents lose their owner reference and are kept;
//! - `Foreground`: the owner gets the `foregroundDeletion` finalizer and a deletionTimestamp, its dependents
//!   are deleted, and the owner is removed once none remain (dependents with finalizers hold it).
use super::{Inner, delete, lifecycle};
use crate::meta::{self, metadata_mut};
use crate::store::ObjectKey;
use serde_json::{Value, json};
use std::collections::HashSet;

/// The finalizer of an owner waiting for its dependents.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

/// Background garbage collection: delete objects all of whose owners are gone.
pub(super) fn collect_dependents(inner: &mut Inner, owner_uid: &str) {
    let live: HashSet<String> = inner.store.all_uids();
    let orphans: Vec<ObjectKey> = inner
        .store
        .find(|_, object| is_owned_by(object, owner_uid))
        .into_iter()
        .filter(|(_, object)| owner_uids(object).iter().all(|uid| !live.contains(uid)))
        .map(|(key, _)| key)
        .collect();
    for key in orphans {
        delete::delete_key(inner, &key, None);
    }
}

/// `propagationPolicy=Orphan`: dependents lose their owner reference to `owner_uid` and are kept.
pub(super) fn orphan_dependents(inner: &mut Inner, owner_uid: &str) {
    for (key, object) in inner.store.find(|_, object| is_owned_by(object, owner_uid)) {
        let mut orphan = (*object).clone();
        if let Some(owners) = orphan
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            owners.retain(|owner| owner.get("uid").and_then(Value::as_str) != Some(owner_uid));
        }
        // The key was just listed under the same lock.
        let _ = inner.store.update(key, orphan);
    }
}

fn owner_uids(object: &Value) -> Vec<String> {
    let owners = object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array);
    owners
        .into_iter()
        .flatten()
        .filter_map(|owner| owner.get("uid")?.as_str().map(str::to_owned))
        .collect()
}

/// Whether `object` names `uid` among its owners.
fn is_owned_by(object: &Value, uid: &str) -> bool {
    owner_uids(object).iter().any(|owner| owner == uid)
}

fn dependents(inner: &Inner, owner_uid: &str) -> Vec<ObjectKey> {
    let owned = inner.store.find(|_, object| is_owned_by(object, owner_uid));
    owned.into_iter().map(|(key, _)| key).collect()
}

/// `propagationPolicy=Foreground`, before the owner is marked deleting: hold it with the
/// `foregroundDeletion` finalizer when it has dependents.
pub(super) fn hold_for_dependents(inner: &mut Inner, key: &ObjectKey, owner: &Value) {
    let Some(uid) = meta::meta_str(owner, "uid") else {
        return;
    };
    if meta::is_deleting(owner) || dependents(inner, uid).is_empty() {
        return;
    }
    let mut held = owner.clone();
    let mut finalizers = meta::finalizers(owner);
    finalizers.push(FOREGROUND_FINALIZER.to_owned());
    metadata_mut(&mut held).insert("finalizers".into(), json!(finalizers));
    // The key was just read under the same lock.
    let _ = inner.store.update(key.clone(), held);
}

/// `propagationPolicy=Foreground`, after the owner is marked deleting: delete its dependents.
pub(super) fn delete_dependents(inner: &mut Inner, owner_uid: &str) {
    for key in dependents(inner, owner_uid) {
        delete::delete_key(inner, &key, None);
    }
    release(inner, owner_uid);
}

/// After `removed` is gone: owners waiting in foreground deletion may now go too.
pub(super) fn release_owners(inner: &mut Inner, removed: &Value) {
    for owner_uid in owner_uids(removed) {
        release(inner, &owner_uid);
    }
}

fn release(inner: &mut Inner, owner_uid: &str) {
    let waiting = inner.store.find(|_, object| {
        meta::meta_str(object, "uid") == Some(owner_uid)
            && meta::is_deleting(object)
            && meta::finalizers(object)
                .iter()
                .any(|f| f == FOREGROUND_FINALIZER)
    });
    for (key, owner) in waiting {
        if !dependents(inner, owner_uid).is_empty() {
            continue;
        }
        let mut released = (*owner).clone();
        let remaining: Vec<String> = meta::finalizers(&owner)
            .into_iter()
            .filter(|f| f != FOREGROUND_FINALIZER)
            .collect();
        metadata_mut(&mut released).insert("finalizers".into(), json!(remaining));
        if remaining.is_empty() {
            let _ = lifecycle::finish_deletion(inner, &key, released);
        } else {
            let _ = inner.store.update(key, released);
        }
    }
}
