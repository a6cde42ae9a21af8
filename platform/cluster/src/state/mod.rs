//! The cluster state: the object store plus the Kubernetes semantics of writes.
//!
//! ```text
//!   handler ──► State::{create, write, delete}  ──►  Store (revisions, history, broadcast)
//!                 │ metadata (uid, creationTimestamp, generation, managedFields)
//!                 │ status isolation, Secret stringData, 1 MiB limit, defaults + validation
//!                 │ finalizers and deletionTimestamp, namespace and CRD lifecycles
//! ```
//!
//! One mutex guards the store and the catalog of served types, so that a write and the checks it depends on
//! (the namespace exists, the resourceVersion is current) happen atomically. Nothing awaits while holding it.
mod custom;
mod delete;
mod lifecycle;
mod payload;
mod propagation;
pub mod services;
mod write;

pub use delete::DeleteOptions;
pub use write::{Mutation, WriteRequest};

use crate::catalog::{Catalog, storage_key};
use crate::status::ApiError;
use crate::store::{Expired, ObjectKey, Store, Subscription};
use configsync_apimachinery::ResourceType;
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};

/// Namespaces that exist from the start, as in a fresh cluster.
pub const INITIAL_NAMESPACES: [&str; 4] =
    ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Store and catalog, behind one lock.
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) catalog: Catalog,
}

/// The shared cluster state.
pub struct State {
    inner: Mutex<Inner>,
}

/// A list result: the objects and the revision it reflects.
pub struct Listing {
    /// Matching objects, ordered by namespace then name.
    pub objects: Vec<Arc<Value>>,
    /// The revision the list reflects.
    pub revision: u64,
}

impl State {
    /// A fresh cluster serving `builtin` types, keeping `history` events for watch resumption.
    pub fn new(builtin: Vec<ResourceType>, history: usize) -> Self {
        let mut inner = Inner {
            store: Store::new(history),
            catalog: Catalog::new(builtin),
        };
        for name in INITIAL_NAMESPACES {
            lifecycle::create_initial_namespace(&mut inner, name);
        }
        Self {
            inner: Mutex::new(inner),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-written (every write is one insert).
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The type served at `group/version/plural`.
    pub fn resolve(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.lock().catalog.find(group, version, plural).cloned()
    }

    /// Every served type.
    pub fn resources(&self) -> Vec<ResourceType> {
        self.lock().catalog.all()
    }

    /// Whether `group/plural` is served from a CRD.
    pub fn is_custom(&self, group: &str, plural: &str) -> bool {
        self.lock().catalog.is_custom(group, plural)
    }

    /// The latest revision.
    pub fn revision(&self) -> u64 {
        self.lock().store.revision()
    }

    /// One object.
    pub fn get(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        let key = object_key(rt, namespace, name);
        self.lock()
            .store
            .get(&key)
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    /// The objects of `rt` (in `namespace`, or all), now or as of `revision`.
    pub fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        revision: Option<u64>,
    ) -> Result<Listing, ApiError> {
        let inner = self.lock();
        let resource = storage_key(rt);
        let (objects, revision) = match revision {
            None => (
                inner.store.list(&resource, namespace),
                inner.store.revision(),
            ),
            Some(at) => {
                let objects = inner.store.list_at(&resource, namespace, at).map_err(|_| {
                    ApiError::expired("The resourceVersion for the provided list is too old.")
                })?;
                (objects, at)
            }
        };
        Ok(Listing {
            objects: objects.into_iter().map(|(_, object)| object).collect(),
            revision,
        })
    }

    /// Subscribe to `rt`'s events after `since`, atomically with a listing of the current objects.
    pub fn watch(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        since: Option<u64>,
    ) -> Result<(Listing, Subscription), Expired> {
        let inner = self.lock();
        let resource = storage_key(rt);
        let revision = inner.store.revision();
        let subscription = inner
            .store
            .subscribe(&resource, since.unwrap_or(revision))?;
        let objects = inner
            .store
            .list(&resource, namespace)
            .into_iter()
            .map(|(_, object)| object)
            .collect();
        Ok((Listing { objects, revision }, subscription))
    }

    /// Create an object.
    pub fn create(&self, request: &WriteRequest<'_>, object: Value) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        write::create(&mut inner, request, object, true)
    }

    /// Update, patch or apply the object `name`; returns the result and whether it was created.
    pub fn write(
        &self,
        request: &WriteRequest<'_>,
        name: &str,
        mutation: Mutation<'_>,
    ) -> Result<(Value, bool), ApiError> {
        let mut inner = self.lock();
        write::write(&mut inner, request, name, mutation)
    }

    /// Delete the object `name`; returns the object (still present with a deletionTimestamp while finalizers
    /// remain) or, for immediate deletions, a success `Status`.
    pub fn delete(
        &self,
        request: &WriteRequest<'_>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        delete::delete(&mut inner, request, name, options)
    }
}

/// The store key of an object of `rt`.
pub fn object_key(rt: &ResourceType, namespace: Option<&str>, name: &str) -> ObjectKey {
    let namespace = if rt.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    };
    ObjectKey {
        resource: storage_key(rt),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

#[cfg(test)]
mod tests;
