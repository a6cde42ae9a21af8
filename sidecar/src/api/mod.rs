//! API-watch source: ConfigMaps or Secrets in one namespace or all of them, by name or by label selector, via
//! `kube::runtime::watcher` (or, in [`Refresh::Poll`] mode, by listing on an interval).
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
//! * Objects are keyed by `namespace/name`, so one source over all namespaces holds same-named objects apart.
//! * [`Refresh::Poll`] never opens a watch (k8s-sidecar's `METHOD=SLEEP`, or an RBAC Role without `watch`): it
//!   lists every interval and reports a snapshot only when the listing differs from the last one reported, a
//!   heartbeat otherwise, so an unchanged listing publishes nothing.
//! * An optional [`Reshape`] rewrites each object as it is projected (k8s-sidecar mode: the folder annotation and
//!   unique file names become the keys' paths); it sees the object's metadata, which the snapshot does not keep.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, ObjectMeta};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::source::{
    Snapshot, Source, SourceData, SourceError, SourceEvent, SourceKind, Value, share_unchanged,
};

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

/// Which kinds a label selector watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kinds {
    /// ConfigMaps only.
    ConfigMaps,
    /// Secrets only.
    Secrets,
    /// ConfigMaps and Secrets.
    #[default]
    Both,
}

impl std::str::FromStr for Kinds {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input.to_ascii_lowercase().as_str() {
            "configmap" | "configmaps" => Ok(Self::ConfigMaps),
            "secret" | "secrets" => Ok(Self::Secrets),
            "both" => Ok(Self::Both),
            _ => Err(format!(
                "invalid kind {input:?}: expected configmap, secret or both"
            )),
        }
    }
}

impl Kinds {
    /// The kinds, ConfigMaps first.
    pub fn kinds(self) -> &'static [SourceKind] {
        match self {
            Self::ConfigMaps => &[SourceKind::ConfigMap],
            Self::Secrets => &[SourceKind::Secret],
            Self::Both => &[SourceKind::ConfigMap, SourceKind::Secret],
        }
    }
}

/// Every (kind, selection) to watch: the named ConfigMaps and Secrets, then `selector` for each of `kinds`.
pub fn selections(
    configmaps: &[String],
    secrets: &[String],
    selector: Option<&str>,
    kinds: Kinds,
) -> Vec<(SourceKind, Selection)> {
    let named = |kind, names: &[String]| {
        names
            .iter()
            .map(move |name| (kind, Selection::Name(name.clone())))
            .collect::<Vec<_>>()
    };
    let mut all = named(SourceKind::ConfigMap, configmaps);
    all.extend(named(SourceKind::Secret, secrets));
    if let Some(labels) = selector {
        all.extend(
            kinds
                .kinds()
                .iter()
                .map(|kind| (*kind, Selection::Labels(labels.to_string()))),
        );
    }
    all
}

/// How a source keeps current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Watch, and re-list this often to catch a silent watch.
    Watch {
        /// The re-list interval.
        resync: Duration,
    },
    /// List this often, never watch.
    Poll {
        /// The interval.
        every: Duration,
    },
}

/// Rewrites an object as it is projected, with its metadata at hand (see the module docs).
pub type Reshape = Arc<dyn Fn(&ObjectMeta, SourceData) -> SourceData + Send + Sync>;

/// A client from kubectl's `--kubeconfig` and `--context` ([`configsync_core::kubeconfig::load`]); with
/// neither, `KUBECONFIG`/`~/.kube/config`, else the in-cluster service account. `insecure` skips the verification
/// of the server's certificate, as kubectl's `--insecure-skip-tls-verify` (the caller warns).
///
/// # Errors
/// [`SourceError::Api`] when no configuration is found or it is invalid.
pub async fn connect(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
    insecure: bool,
) -> Result<kube::Client, SourceError> {
    let failed = |reason: String| SourceError::Api {
        what: "cluster connection".into(),
        reason,
    };
    let mut config = configsync_core::kubeconfig::load(kubeconfig, context)
        .await
        .map_err(|error| failed(error.to_string()))?;
    config.accept_invalid_certs |= insecure;
    kube::Client::try_from(config).map_err(|error| failed(error.to_string()))
}

/// Objects of one kind in one namespace (or all), kept current through the API.
#[derive(Clone)]
pub struct ApiSource {
    client: kube::Client,
    kind: SourceKind,
    /// `None`: every namespace.
    namespace: Option<String>,
    selection: Selection,
    refresh: Refresh,
    reshape: Option<Reshape>,
    /// Set when the API refused the watch (RBAC without `watch`): later rounds poll instead.
    watch_refused: Arc<AtomicBool>,
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
            namespace: Some(namespace.to_string()),
            selection,
            refresh: Refresh::Watch { resync },
            reshape: None,
            watch_refused: Arc::default(),
            optional: false,
        }
    }

    /// Watch in every namespace instead (needs a ClusterRole).
    pub fn in_all_namespaces(mut self) -> Self {
        self.namespace = None;
        self
    }

    /// Keep current as `refresh` says (the default: watch, re-list every `resync`).
    pub fn with_refresh(mut self, refresh: Refresh) -> Self {
        self.refresh = refresh;
        self
    }

    /// Rewrite every object with `reshape` as it is projected.
    pub fn with_reshape(mut self, reshape: Reshape) -> Self {
        self.reshape = Some(reshape);
        self
    }

    fn api<K: Projectable>(&self) -> Api<K> {
        match &self.namespace {
            Some(namespace) => Api::namespaced(self.client.clone(), namespace),
            None => Api::all(self.client.clone()),
        }
    }

    /// The object as a source, reshaped.
    fn project_object<K: Projectable>(&self, object: &K) -> SourceData {
        let source = object.to_source();
        match &self.reshape {
            Some(reshape) => reshape(object.meta(), source),
            None => source,
        }
    }

    /// The same event with the object projected.
    fn project<K: Projectable>(&self, event: watcher::Event<K>) -> watcher::Event<SourceData> {
        match event {
            watcher::Event::Apply(obj) => watcher::Event::Apply(self.project_object(&obj)),
            watcher::Event::Delete(obj) => watcher::Event::Delete(self.project_object(&obj)),
            watcher::Event::Init => watcher::Event::Init,
            watcher::Event::InitApply(obj) => watcher::Event::InitApply(self.project_object(&obj)),
            watcher::Event::InitDone => watcher::Event::InitDone,
        }
    }

    /// One listing, projected and in key order.
    async fn list<K: Projectable>(
        &self,
        api: &Api<K>,
        what: &str,
    ) -> Result<Snapshot, SourceError> {
        let listed = api
            .list(&self.selection.list_params())
            .await
            .map_err(|error| SourceError::Api {
                what: what.to_string(),
                reason: error.to_string(),
            })?;
        let mut listed: Snapshot = listed
            .items
            .iter()
            .map(|o| Arc::new(self.project_object(o)))
            .collect();
        listed.sort_by_key(|s| object_key(s));
        Ok(listed)
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
        let namespace = self.namespace.as_deref().unwrap_or("all namespaces");
        match &self.selection {
            Selection::Name(name) => format!("{}/{namespace}/{name}", self.kind),
            Selection::Labels(labels) => {
                format!("{}s in {namespace} matching {labels:?}", self.kind)
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
        match self.refresh {
            Refresh::Watch { resync } if self.watch_refused.load(Ordering::Relaxed) => {
                self.poll::<K>(slot, tx, resync).await
            }
            Refresh::Watch { resync } => self.watch::<K>(slot, tx, resync).await,
            Refresh::Poll { every } => self.poll::<K>(slot, tx, every).await,
        }
    }

    /// List every `every`; report a snapshot when the listing changed, a heartbeat otherwise.
    async fn poll<K: Projectable>(
        self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
        every: Duration,
    ) -> Result<(), SourceError> {
        let what = self.describe();
        let api: Api<K> = self.api();
        let mut last: Option<Snapshot> = None;
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let listed = self.list(&api, &what).await?;
            let listed = share_unchanged(listed, last.as_deref().unwrap_or_default());
            let event = if last.as_ref() == Some(&listed) {
                SourceEvent::Heartbeat { slot }
            } else {
                last = Some(listed.clone());
                SourceEvent::Snapshot {
                    slot,
                    snapshot: listed,
                }
            };
            tx.send(event).await.map_err(|_| SourceError::Closed)?;
        }
    }

    async fn watch<K: Projectable>(
        self,
        slot: usize,
        tx: mpsc::Sender<SourceEvent>,
        resync_every: Duration,
    ) -> Result<(), SourceError> {
        let what = self.describe();
        let api: Api<K> = self.api();
        let mut events = watcher(api.clone(), self.selection.watcher_config()).boxed();
        let mut state = WatchState::default();
        let mut resync =
            tokio::time::interval_at(tokio::time::Instant::now() + resync_every, resync_every);
        let mut suspect: Option<Snapshot> = None;
        loop {
            tokio::select! {
                event = events.next() => {
                    let event = match event {
                        Some(Ok(event)) => event,
                        Some(Err(error)) if state.ready && is_forbidden(&error) => {
                            self.watch_refused.store(true, Ordering::Relaxed);
                            tracing::warn!(source = what, %error, every = ?resync_every, "the watch is forbidden; listing on an interval instead");
                            return Err(SourceError::Api { what, reason: error.to_string() });
                        }
                        Some(Err(error)) => return Err(SourceError::Api { what, reason: error.to_string() }),
                        None => return Err(SourceError::Api { what, reason: "watch stream ended".into() }),
                    };
                    if let Some(snapshot) = state.apply(self.project(event)) {
                        tx.send(SourceEvent::Snapshot { slot, snapshot }).await.map_err(|_| SourceError::Closed)?;
                    }
                }
                _ = resync.tick() => {
                    let listed = self.list(&api, &what).await?;
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

/// Whether the API refused to start a watch (the list before it succeeded): RBAC without `watch`.
fn is_forbidden(error: &watcher::Error) -> bool {
    match error {
        watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => status.is_forbidden(),
        watcher::Error::WatchError(status) => status.is_forbidden(),
        _ => false,
    }
}

/// `namespace/name`: an object's identity within one kind.
pub fn object_key(source: &SourceData) -> String {
    format!("{}/{}", source.namespace, source.name)
}

/// The outcome of comparing a resync listing with the watch state.
#[derive(Debug, PartialEq, Eq)]
pub enum Resync {
    /// The watch is current (or the difference has not been confirmed yet).
    Current,
    /// The watch missed an update; publish this listing and restart the watch.
    Stale(Snapshot),
}

/// Pure fold of watcher events into the current objects. An object that comes again unchanged (a re-list, a change
/// of metadata only) keeps its `Arc`, so the sync loop sees it as unchanged by pointer.
#[derive(Debug, Default)]
pub struct WatchState {
    objects: BTreeMap<String, Arc<SourceData>>,
    relist: Option<BTreeMap<String, Arc<SourceData>>>,
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
                let key = object_key(&obj);
                let obj = self.keep_if_unchanged(&key, obj);
                self.relist.get_or_insert_default().insert(key, obj);
                return None;
            }
            watcher::Event::InitDone => {
                self.objects = self.relist.take().unwrap_or_default();
                self.ready = true;
            }
            watcher::Event::Apply(obj) => {
                let key = object_key(&obj);
                let obj = self.keep_if_unchanged(&key, obj);
                self.objects.insert(key, obj);
            }
            watcher::Event::Delete(obj) => {
                self.objects.remove(&object_key(&obj));
            }
        }
        self.ready.then(|| self.objects.values().cloned().collect())
    }

    /// The object held under `key` when `obj` equals it, else `obj`.
    fn keep_if_unchanged(&self, key: &str, obj: SourceData) -> Arc<SourceData> {
        match self.objects.get(key) {
            Some(held) if **held == obj => Arc::clone(held),
            _ => Arc::new(obj),
        }
    }

    /// Compare a listing with the state; a difference seen twice in a row (same listing) is [`Resync::Stale`].
    pub fn check(&self, mut listed: Snapshot, suspect: &mut Option<Snapshot>) -> Resync {
        listed.sort_by_key(|s| object_key(s));
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
