//! API-watch source: ConfigMaps or Secrets in one namespace, by name or by label selector, via
//! `kube::runtime::watcher`.
//!
//! # Theory of operation
//! * Least privilege: a named object is watched with the field selector `metadata.name=<name>`, which RBAC
//!   `resourceNames` allows for list and watch; a selector watch needs list/watch on the kind in the namespace.
//! * [`WatchState`] (pure) folds watcher events into the current set of objects and yields a snapshot after the
//!   initial list completes and after every change, so a restart of the watch never publishes half a list.
//! * Silent watches (k8s-sidecar #85): every `resync` the source lists the same objects. Success proves API
//!   contact and yields a heartbeat for the watchdog. A listing that differs from the watch state twice in a row
//!   means the watch missed an update: the listed data is published at once and the source ends with an error, so
//!   the watchdog restarts the watch. A failing list sends no heartbeat; the watchdog then restarts the source after
//!   `stale_after`, while the sync loop keeps serving the last data.
use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::source::{Snapshot, Source, SourceData, SourceError, SourceEvent, SourceKind, Value};

/// Which objects to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// One object by name.
    Name(String),
    /// Every object matching a label selector.
    Labels(String),
}

impl Selection {
    /// The watcher configuration: a field selector on the name, or the label selector.
    pub fn watcher_config(&self) -> watcher::Config {
        match self {
            Self::Name(name) => watcher::Config::default().fields(&format!("metadata.name={name}")),
            Self::Labels(labels) => watcher::Config::default().labels(labels),
        }
    }

    /// The same selection for a plain list (the resync).
    pub fn list_params(&self) -> ListParams {
        match self {
            Self::Name(name) => ListParams::default().fields(&format!("metadata.name={name}")),
            Self::Labels(labels) => ListParams::default().labels(labels),
        }
    }
}

/// A client from the environment: `KUBECONFIG`/`~/.kube/config`, else the in-cluster service account.
///
/// # Errors
/// [`SourceError::Api`] when no configuration is found or it is invalid.
pub async fn connect() -> Result<kube::Client, SourceError> {
    kube::Client::try_default()
        .await
        .map_err(|error| SourceError::Api {
            what: "cluster connection".into(),
            reason: error.to_string(),
        })
}

/// Objects of one kind in one namespace, kept current through the API.
#[derive(Clone)]
pub struct ApiSource {
    client: kube::Client,
    kind: SourceKind,
    namespace: String,
    selection: Selection,
    resync: Duration,
    optional: bool,
}

impl ApiSource {
    /// Watch `selection` of `kind` in `namespace`, re-listing every `resync`.
    pub fn new(
        client: kube::Client,
        kind: SourceKind,
        namespace: &str,
        selection: Selection,
        resync: Duration,
    ) -> Self {
        Self {
            client,
            kind,
            namespace: namespace.to_string(),
            selection,
            resync,
            optional: false,
        }
    }

    /// A named object that may be missing (Kubernetes' `optional: true`): the first sync does not wait for it.
    #[must_use]
    pub fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }
}

impl Source for ApiSource {
    fn describe(&self) -> String {
        match &self.selection {
            Selection::Name(name) => format!("{}/{}/{name}", self.kind, self.namespace),
            Selection::Labels(labels) => {
                format!("{}s in {} matching {labels:?}", self.kind, self.namespace)
            }
        }
    }

    fn must_exist(&self) -> bool {
        matches!(self.selection, Selection::Name(_)) && !self.optional
    }

    fn start(
        &self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
    ) -> BoxFuture<'static, Result<(), SourceError>> {
        let this = self.clone();
        match self.kind {
            SourceKind::ConfigMap => Box::pin(this.run::<ConfigMap>(slot, tx)),
            SourceKind::Secret => Box::pin(this.run::<Secret>(slot, tx)),
        }
    }
}

impl ApiSource {
    async fn run<K: Projectable>(
        self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
    ) -> Result<(), SourceError> {
        let what = self.describe();
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut events = watcher(api.clone(), self.selection.watcher_config()).boxed();
        let mut state = WatchState::default();
        let mut resync =
            tokio::time::interval_at(tokio::time::Instant::now() + self.resync, self.resync);
        let mut suspect: Option<Snapshot> = None;
        loop {
            tokio::select! {
                event = events.next() => {
                    let event = match event {
                        Some(Ok(event)) => event,
                        Some(Err(error)) => return Err(SourceError::Api { what, reason: error.to_string() }),
                        None => return Err(SourceError::Api { what, reason: "watch stream ended".into() }),
                    };
                    if let Some(snapshot) = state.apply(project(event)) {
                        tx.send(SourceEvent::Snapshot { slot, snapshot }).await.map_err(|_| SourceError::Closed)?;
                    }
                }
                _ = resync.tick() => {
                    let listed = api.list(&self.selection.list_params()).await
                        .map_err(|error| SourceError::Api { what: what.clone(), reason: error.to_string() })?;
                    let listed: Snapshot = listed.items.iter().map(Projectable::to_source).collect();
                    match state.check(listed, &mut suspect) {
                        Resync::Current => tx.send(SourceEvent::Heartbeat { slot }).await.map_err(|_| SourceError::Closed)?,
                        Resync::Stale(snapshot) => {
                            tx.send(SourceEvent::Snapshot { slot, snapshot }).await.map_err(|_| SourceError::Closed)?;
                            return Err(SourceError::Api { what, reason: "the watch missed an update; restarting it".into() });
                        }
                    }
                }
            }
        }
    }
}

/// A ConfigMap or Secret that can become [`SourceData`].
pub trait Projectable:
    kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The object as a source (values decoded to raw bytes).
    fn to_source(&self) -> SourceData;
}

impl Projectable for ConfigMap {
    fn to_source(&self) -> SourceData {
        let text = self
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())));
        let binary = self
            .binary_data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::from(v.0.clone())));
        SourceData {
            kind: SourceKind::ConfigMap,
            namespace: self.metadata.namespace.clone().unwrap_or_default(),
            name: self.metadata.name.clone().unwrap_or_default(),
            data: text.chain(binary).collect(),
        }
    }
}

impl Projectable for Secret {
    fn to_source(&self) -> SourceData {
        let data = self
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::from(v.0.clone())));
        let string_data = self
            .string_data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())));
        SourceData {
            kind: SourceKind::Secret,
            namespace: self.metadata.namespace.clone().unwrap_or_default(),
            name: self.metadata.name.clone().unwrap_or_default(),
            data: data.chain(string_data).collect(),
        }
    }
}

/// The same event with the object projected.
fn project<K: Projectable>(event: watcher::Event<K>) -> watcher::Event<SourceData> {
    match event {
        watcher::Event::Apply(obj) => watcher::Event::Apply(obj.to_source()),
        watcher::Event::Delete(obj) => watcher::Event::Delete(obj.to_source()),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(obj) => watcher::Event::InitApply(obj.to_source()),
        watcher::Event::InitDone => watcher::Event::InitDone,
    }
}

/// The outcome of comparing a resync listing with the watch state.
#[derive(Debug, PartialEq, Eq)]
pub enum Resync {
    /// The watch is current (or the difference has not been confirmed yet).
    Current,
    /// The watch missed an update; publish this listing and restart the watch.
    Stale(Snapshot),
}

/// Pure fold of watcher events into the current objects.
#[derive(Debug, Default)]
pub struct WatchState {
    objects: BTreeMap<String, SourceData>,
    relist: Option<BTreeMap<String, SourceData>>,
    ready: bool,
}

impl WatchState {
    /// Apply one event; `Some(snapshot)` when the visible set changed (never in the middle of a re-list).
    pub fn apply(&mut self, event: watcher::Event<SourceData>) -> Option<Snapshot> {
        match event {
            watcher::Event::Init => {
                self.relist = Some(BTreeMap::new());
                return None;
            }
            watcher::Event::InitApply(obj) => {
                self.relist
                    .get_or_insert_default()
                    .insert(obj.name.clone(), obj);
                return None;
            }
            watcher::Event::InitDone => {
                self.objects = self.relist.take().unwrap_or_default();
                self.ready = true;
            }
            watcher::Event::Apply(obj) => {
                self.objects.insert(obj.name.clone(), obj);
            }
            watcher::Event::Delete(obj) => {
                self.objects.remove(&obj.name);
            }
        }
        self.ready.then(|| self.objects.values().cloned().collect())
    }

    /// Compare a listing with the state; a difference seen twice in a row (same listing) is [`Resync::Stale`].
    pub fn check(&self, mut listed: Snapshot, suspect: &mut Option<Snapshot>) -> Resync {
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        let current: Snapshot = self.objects.values().cloned().collect();
        if !self.ready || listed == current {
            *suspect = None;
            return Resync::Current;
        }
        if suspect.as_ref() == Some(&listed) {
            *suspect = None;
            return Resync::Stale(listed);
        }
        *suspect = Some(listed);
        Resync::Current
    }
}

#[cfg(test)]
mod tests;
