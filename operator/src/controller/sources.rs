//! ConfigMap and Secret watches: the watcher decodes each object straight into per-key digests
//! ([`crate::lean::source`]), so no value is ever held, not even in a list page.
//!
//! ```text
//!  watcher(ConfigMapDigests|SecretDigests) ─► KeyDigests + trimmed metadata ─► Input::Source ─► controller
//!        Init … InitDone                    ─► Deleted for every name not listed again (a relist after a gap)
//! ```
//! The metadata is trimmed at parse time (no `managedFields`, no `last-applied-configuration`, which
//! `kubectl apply` fills with the whole object, values included), and again here: only name, namespace,
//! resourceVersion, labels, the ignore annotations and Reloader's `match` travel on. Memory grows with the number of objects
//! and keys, not their size.
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use configsync_crds::SourceKind;
use configsync_crds::annotations::IGNORE;
use configsync_crds::annotations::reloader;
use futures::Stream;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Access, Input, Scope, WatchId};
use crate::hash::KeyDigests;
use crate::lean::{ConfigMapDigests, SecretDigests};
use crate::refs::SourceId;

/// What the source watches need from the API.
pub const ACCESS: &[Access] = &[
    Access::new("", "configmaps", &["list", "watch"]),
    Access::new("", "secrets", &["list", "watch"]),
];

pub use crate::core::SourceInput;

/// A source kind the operator can watch, as the watcher decodes it.
trait Source: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope> {
    const KIND: SourceKind;
    fn into_digests(self) -> (ObjectMeta, KeyDigests);
}

impl Source for ConfigMapDigests {
    const KIND: SourceKind = SourceKind::ConfigMap;
    fn into_digests(self) -> (ObjectMeta, KeyDigests) {
        (self.metadata, self.digests)
    }
}

impl Source for SecretDigests {
    const KIND: SourceKind = SourceKind::Secret;
    fn into_digests(self) -> (ObjectMeta, KeyDigests) {
        (self.metadata, self.digests)
    }
}

/// Spawn the ConfigMap and Secret watches for every namespace of `scope`.
pub fn spawn(
    client: &Client,
    scope: &Scope,
    input_tx: &mpsc::Sender<Input>,
    tasks: &mut JoinSet<()>,
) -> Vec<WatchId> {
    let mut watches = Vec::new();
    for namespace in scope.namespaces() {
        let config = scope.source_config();
        let cm: Api<ConfigMapDigests> = scope.api(client, namespace);
        let secret: Api<SecretDigests> = scope.api(client, namespace);
        let cm_id = WatchId::new("configmaps", namespace);
        let secret_id = WatchId::new("secrets", namespace);
        tasks.spawn(pump(
            cm_id.clone(),
            watcher::watcher(cm, config.clone()).default_backoff(),
            input_tx.clone(),
        ));
        tasks.spawn(pump(
            secret_id.clone(),
            watcher::watcher(secret, config).default_backoff(),
            input_tx.clone(),
        ));
        watches.extend([cm_id, secret_id]);
    }
    watches
}

/// Feed one watch into the controller until the controller goes away (see [`super::pump`]).
async fn pump<K: Source + Clone + std::fmt::Debug + Send + 'static>(
    id: WatchId,
    stream: impl Stream<Item = Result<Event<K>, watcher::Error>>,
    input_tx: mpsc::Sender<Input>,
) {
    let (mut known, mut listed) = (Known::new(), Known::new());
    let watch = id.clone();
    let translate = move |event| translate(event, &mut known, &mut listed, &watch);
    crate::controller::pump::pump(id, "source", stream, translate, input_tx).await;
}

fn translate<K: Source>(
    event: Event<K>,
    known: &mut Known,
    listed: &mut Known,
    id: &WatchId,
) -> Vec<Input> {
    let seen = Instant::now();
    match event {
        Event::Init => {
            listed.clear();
            Vec::new()
        }
        Event::InitApply(object) => {
            listed.insert(key_of(object.meta()));
            vec![applied(object, known, seen)]
        }
        Event::Apply(object) => vec![applied(object, known, seen)],
        Event::Delete(object) => {
            let key = key_of(object.meta());
            known.remove(&key);
            vec![deleted::<K>(&key, seen)]
        }
        Event::InitDone => {
            let gone: Vec<_> = known.difference(listed).cloned().collect();
            let mut inputs: Vec<Input> = gone
                .into_iter()
                .map(|key| {
                    known.remove(&key);
                    deleted::<K>(&key, seen)
                })
                .collect();
            // Not `clear`: that keeps the table, sized for the whole list, until the next relist.
            *listed = Known::new();
            inputs.push(Input::Synced(id.clone()));
            inputs
        }
    }
}

fn applied<K: Source>(object: K, known: &mut Known, seen: Instant) -> Input {
    known.insert(key_of(object.meta()));
    let (meta, digests) = object.into_digests();
    Input::Source(SourceInput::Applied {
        kind: K::KIND,
        meta: Box::new(trimmed(meta)),
        digests,
        seen,
    })
}

fn deleted<K: Source>(key: &str, seen: Instant) -> Input {
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    let id = SourceId {
        kind: K::KIND,
        name: name.to_owned(),
    };
    Input::Source(SourceInput::Deleted {
        namespace: namespace.to_owned(),
        id,
        seen,
    })
}

/// The sources a watch has seen, as `namespace/name` (neither contains a `/`): one allocation each, since
/// a watch of every namespace knows every source in the cluster.
type Known = HashSet<Box<str>>;

fn key_of(meta: &ObjectMeta) -> Box<str> {
    let namespace = meta.namespace.as_deref().unwrap_or_default();
    let name = meta.name.as_deref().unwrap_or_default();
    let mut key = String::with_capacity(namespace.len() + 1 + name.len());
    key.push_str(namespace);
    key.push('/');
    key.push_str(name);
    key.into_boxed_str()
}

/// The metadata the source cache reads, and nothing that could carry a value.
fn trimmed(meta: ObjectMeta) -> ObjectMeta {
    let annotations: BTreeMap<String, String> = meta
        .annotations
        .into_iter()
        .flatten()
        .filter(|(key, _)| [IGNORE, reloader::IGNORE, reloader::MATCH].contains(&key.as_str()))
        .collect();
    ObjectMeta {
        name: meta.name,
        namespace: meta.namespace,
        resource_version: meta.resource_version,
        labels: meta.labels,
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mk_secret(name: &str) -> SecretDigests {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "prod", "resourceVersion": "7",
                "labels": {"app": "web"},
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"czNjcjN0\"}}",
                    "configsync.dev/ignore": "false", "reloader.stakater.com/match": "true",
                    "other": "dropped"}},
            "data": {"password": "czNjcjN0"},
        }))
        .unwrap()
    }

    #[test]
    fn applied_secret_keeps_digests_and_no_value() {
        let mut known = HashSet::new();
        let input = applied(mk_secret("db"), &mut known, Instant::now());
        let Input::Source(SourceInput::Applied { meta, digests, .. }) = input else {
            panic!("expected an applied source");
        };
        let rendered = format!("{meta:?} {digests:?}");
        assert!(!rendered.contains("czNjcjN0"), "{rendered}");
        assert!(!rendered.contains("s3cr3t"), "{rendered}");
        assert_eq!(digests.keys().collect::<Vec<_>>(), ["password"]);
        assert_eq!(meta.resource_version.as_deref(), Some("7"));
        assert_eq!(
            meta.annotations.unwrap().keys().collect::<Vec<_>>(),
            ["configsync.dev/ignore", "reloader.stakater.com/match"]
        );
        assert!(known.contains("prod/db"));
    }

    #[test]
    fn relist_deletes_what_was_not_listed_again() {
        let id = WatchId::new("secrets", None);
        let (mut known, mut listed) = (HashSet::new(), HashSet::new());
        for event in [
            Event::Init,
            Event::InitApply(mk_secret("a")),
            Event::InitApply(mk_secret("b")),
            Event::InitDone,
            Event::Init,
            Event::InitApply(mk_secret("b")),
        ] {
            translate(event, &mut known, &mut listed, &id);
        }
        let inputs = translate(
            Event::<SecretDigests>::InitDone,
            &mut known,
            &mut listed,
            &id,
        );
        let deleted: Vec<_> = inputs
            .iter()
            .filter_map(|input| match input {
                Input::Source(SourceInput::Deleted { id, .. }) => Some(id.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["a"]);
        assert!(matches!(inputs.last(), Some(Input::Synced(_))));
    }
}
