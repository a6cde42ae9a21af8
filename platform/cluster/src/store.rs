//! The versioned object store: every object as JSON, keyed by (group, plural, namespace, name).
//!
//! One global, monotonically increasing revision stamps every write into `metadata.resourceVersion` (a decimal
//! string), as etcd's revision does. Each write is also an event kept in a bounded history (the oldest are dropped
//! first) and broadcast to live watchers. A watch can resume from any revision still covered by the history, and
//! a list can be served "as of" such a revision by undoing the newer events, which keeps `continue` pages and
//! `resourceVersionMatch=Exact` consistent. Older revisions are `Expired` (410 Gone to clients).
//!
//! The store knows nothing about Kubernetes semantics (namespaces, finalizers, generation): see `state`.
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Where a resource's objects are stored: its group and plural.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey {
    /// API group, empty for core.
    pub group: String,
    /// Plural resource name.
    pub plural: String,
}

impl ResourceKey {
    /// A key from its parts.
    pub fn new(group: &str, plural: &str) -> Self {
        Self {
            group: group.to_owned(),
            plural: plural.to_owned(),
        }
    }
}

/// One object's key; namespace is empty for cluster-scoped objects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// The resource.
    pub resource: ResourceKey,
    /// Namespace, empty when cluster-scoped.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Updated.
    Modified,
    /// Removed.
    Deleted,
}

/// One write, as kept in the history and sent to watchers.
#[derive(Debug)]
pub struct StoreEvent {
    /// What happened.
    pub kind: EventType,
    /// The revision of the write.
    pub revision: u64,
    /// The object's key.
    pub key: ObjectKey,
    /// The object after the write (for deletions: its last state, stamped with the deletion's revision).
    pub object: Arc<Value>,
    /// The object before the write, for updates and deletions.
    pub previous: Option<Arc<Value>>,
}

/// A shared event.
pub type SharedEvent = Arc<StoreEvent>;

/// A revision older than the retained history was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too old resource version: {requested} ({oldest})")]
pub struct Expired {
    /// The revision asked for.
    pub requested: u64,
    /// The oldest revision that can still be served.
    pub oldest: u64,
}

/// Why a write failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Create of a key that exists.
    #[error("object already exists")]
    CreateExisting,
    /// Update of a key that does not exist.
    #[error("object not found")]
    UpdateMissing,
}

/// A watch subscription: the events to replay, then the live feed.
pub struct Subscription {
    /// Events after the requested revision, oldest first.
    pub replay: Vec<SharedEvent>,
    /// Later events.
    pub live: broadcast::Receiver<SharedEvent>,
    /// The store revision at subscription time.
    pub revision: u64,
}

/// The in-memory store.
pub struct Store {
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    revision: u64,
    history: VecDeque<SharedEvent>,
    capacity: usize,
    evicted_through: u64,
    events_tx: broadcast::Sender<SharedEvent>,
}

impl Store {
    /// An empty store keeping at most `capacity` events of history.
    pub fn new(capacity: usize) -> Self {
        let (events_tx, _) = broadcast::channel(capacity.clamp(16, 65_536));
        Self {
            objects: BTreeMap::new(),
            revision: 1,
            history: VecDeque::new(),
            capacity: capacity.max(1),
            evicted_through: 0,
            events_tx,
        }
    }

    /// The latest revision.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// One object.
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.objects.get(key).cloned()
    }

    /// The objects of `resource`, in one namespace or all, ordered by namespace then name.
    pub fn list(
        &self,
        resource: &ResourceKey,
        namespace: Option<&str>,
    ) -> Vec<(ObjectKey, Arc<Value>)> {
        select(&self.objects, resource, namespace)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// Every object for which `predicate` holds.
    pub fn find(
        &self,
        predicate: impl Fn(&ObjectKey, &Value) -> bool,
    ) -> Vec<(ObjectKey, Arc<Value>)> {
        self.objects
            .iter()
            .filter(|(key, value)| predicate(key, value))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The keys of every object in `namespace` (of any resource).
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<ObjectKey> {
        self.objects
            .keys()
            .filter(|key| key.namespace == namespace)
            .cloned()
            .collect()
    }

    /// The uids of every stored object.
    pub fn all_uids(&self) -> std::collections::HashSet<String> {
        self.objects
            .values()
            .filter_map(|object| crate::meta::meta_str(object, "uid").map(str::to_owned))
            .collect()
    }

    /// Store a new object.
    pub fn create(&mut self, key: ObjectKey, object: Value) -> Result<Arc<Value>, StoreError> {
        if self.objects.contains_key(&key) {
            return Err(StoreError::CreateExisting);
        }
        Ok(self.write(EventType::Added, key, object, None))
    }

    /// Replace an existing object.
    pub fn update(&mut self, key: ObjectKey, object: Value) -> Result<Arc<Value>, StoreError> {
        let previous = self
            .objects
            .get(&key)
            .cloned()
            .ok_or(StoreError::UpdateMissing)?;
        Ok(self.write(EventType::Modified, key, object, Some(previous)))
    }

    /// Remove an object; its final state is stamped with the deletion's revision.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Arc<Value>> {
        let previous = self.objects.get(key).cloned()?;
        let object = (*previous).clone();
        Some(self.write(EventType::Deleted, key.clone(), object, Some(previous)))
    }

    fn write(
        &mut self,
        kind: EventType,
        key: ObjectKey,
        mut object: Value,
        previous: Option<Arc<Value>>,
    ) -> Arc<Value> {
        self.revision += 1;
        crate::meta::metadata_mut(&mut object).insert(
            "resourceVersion".into(),
            Value::String(self.revision.to_string()),
        );
        let object = Arc::new(object);
        if kind == EventType::Deleted {
            self.objects.remove(&key);
        } else {
            self.objects.insert(key.clone(), object.clone());
        }
        let event = Arc::new(StoreEvent {
            kind,
            revision: self.revision,
            key,
            object: object.clone(),
            previous,
        });
        if self.history.len() >= self.capacity
            && let Some(evicted) = self.history.pop_front()
        {
            self.evicted_through = evicted.revision;
        }
        self.history.push_back(event.clone());
        // No receivers is not an error: nobody is watching.
        let _ = self.events_tx.send(event);
        object
    }

    /// Check that the history still covers everything after `revision`.
    pub fn check_retained(&self, revision: u64) -> Result<(), Expired> {
        if revision < self.evicted_through {
            return Err(Expired {
                requested: revision,
                oldest: self.evicted_through,
            });
        }
        Ok(())
    }

    /// Subscribe to events of `resource` after `since`, replaying the retained ones.
    pub fn subscribe(&self, resource: &ResourceKey, since: u64) -> Result<Subscription, Expired> {
        self.check_retained(since)?;
        let replay = self
            .history
            .iter()
            .filter(|event| event.revision > since && &event.key.resource == resource)
            .cloned()
            .collect();
        Ok(Subscription {
            replay,
            live: self.events_tx.subscribe(),
            revision: self.revision,
        })
    }

    /// The objects of `resource` as they were at `revision`, rebuilt by undoing newer events.
    pub fn list_at(
        &self,
        resource: &ResourceKey,
        namespace: Option<&str>,
        revision: u64,
    ) -> Result<Vec<(ObjectKey, Arc<Value>)>, Expired> {
        self.check_retained(revision)?;
        let mut objects: BTreeMap<ObjectKey, Arc<Value>> =
            select(&self.objects, resource, namespace)
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
        let in_scope = |key: &ObjectKey| {
            &key.resource == resource && namespace.is_none_or(|ns| key.namespace == ns)
        };
        for event in self
            .history
            .iter()
            .rev()
            .take_while(|event| event.revision > revision)
        {
            if !in_scope(&event.key) {
                continue;
            }
            match (&event.kind, &event.previous) {
                (EventType::Added, _) | (_, None) => objects.remove(&event.key),
                (_, Some(previous)) => objects.insert(event.key.clone(), previous.clone()),
            };
        }
        Ok(objects.into_iter().collect())
    }
}

fn select<'a>(
    objects: &'a BTreeMap<ObjectKey, Arc<Value>>,
    resource: &'a ResourceKey,
    namespace: Option<&'a str>,
) -> impl Iterator<Item = (&'a ObjectKey, &'a Arc<Value>)> + 'a {
    let start = ObjectKey {
        resource: resource.clone(),
        namespace: namespace.unwrap_or("").to_owned(),
        name: String::new(),
    };
    objects.range(start..).take_while(move |(key, _)| {
        &key.resource == resource && namespace.is_none_or(|ns| key.namespace == ns)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(ns: &str, name: &str) -> ObjectKey {
        ObjectKey {
            resource: ResourceKey::new("", "configmaps"),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn cm(value: &str) -> Value {
        json!({"metadata": {}, "data": {"k": value}})
    }

    #[test]
    fn writes_stamp_increasing_resource_versions() {
        let mut store = Store::new(10);
        let a = store.create(key("a", "x"), cm("1")).expect("create");
        let b = store.update(key("a", "x"), cm("2")).expect("update");
        let rv = |v: &Value| crate::meta::resource_version(v).expect("rv");
        assert!(rv(&b) > rv(&a));
        assert_eq!(
            store.create(key("a", "x"), cm("3")),
            Err(StoreError::CreateExisting)
        );
        assert_eq!(
            store.update(key("a", "y"), cm("3")),
            Err(StoreError::UpdateMissing)
        );
        let deleted = store.remove(&key("a", "x")).expect("remove");
        assert_eq!(rv(&deleted), store.revision());
        assert!(store.get(&key("a", "x")).is_none());
    }

    #[test]
    fn list_filters_by_namespace_in_key_order() {
        let mut store = Store::new(10);
        for (ns, name) in [("b", "1"), ("a", "2"), ("a", "1")] {
            store.create(key(ns, name), cm(name)).expect("create");
        }
        let names: Vec<String> = store
            .list(&ResourceKey::new("", "configmaps"), None)
            .into_iter()
            .map(|(k, _)| format!("{}/{}", k.namespace, k.name))
            .collect();
        assert_eq!(names, ["a/1", "a/2", "b/1"]);
        assert_eq!(
            store
                .list(&ResourceKey::new("", "configmaps"), Some("a"))
                .len(),
            2
        );
        assert!(
            store
                .list(&ResourceKey::new("", "secrets"), None)
                .is_empty()
        );
    }

    #[test]
    fn history_is_bounded_and_old_revisions_expire() {
        let mut store = Store::new(2);
        let start = store.revision();
        for i in 0..5 {
            store
                .create(key("a", &i.to_string()), cm("v"))
                .expect("create");
        }
        let err = store
            .subscribe(&ResourceKey::new("", "configmaps"), start)
            .err()
            .expect("expired");
        assert_eq!(err.requested, start);
        let recent = store
            .subscribe(&ResourceKey::new("", "configmaps"), store.revision() - 2)
            .expect("retained");
        assert_eq!(recent.replay.len(), 2);
    }

    #[test]
    fn list_at_rebuilds_an_earlier_state() {
        let mut store = Store::new(10);
        store.create(key("a", "keep"), cm("old")).expect("create");
        let at = store.revision();
        store.update(key("a", "keep"), cm("new")).expect("update");
        store.create(key("a", "later"), cm("x")).expect("create");
        store.remove(&key("a", "keep"));
        let then = store
            .list_at(&ResourceKey::new("", "configmaps"), None, at)
            .expect("retained");
        assert_eq!(then.len(), 1);
        assert_eq!(then[0].1["data"]["k"], "old");
    }

    #[test]
    fn live_subscribers_receive_new_events() {
        let mut store = Store::new(10);
        let mut sub = store
            .subscribe(&ResourceKey::new("", "configmaps"), store.revision())
            .expect("sub");
        store.create(key("a", "x"), cm("1")).expect("create");
        let event = sub.live.try_recv().expect("event");
        assert_eq!(event.kind, EventType::Added);
        assert_eq!(event.key.name, "x");
    }
}
