//! Which ConfigMaps and Secrets a pod template consumes, and which of their keys.
//!
//! ```text
//!  PodSpec ─┬─ containers / initContainers / ephemeralContainers
//!           │     ├─ env[].valueFrom.{configMap,secret}KeyRef   → one key
//!           │     └─ envFrom[].{configMap,secret}Ref (+prefix)  → all keys
//!           └─ volumes[]
//!                 ├─ configMap / secret (items?)                → all keys, or the `items` keys
//!                 └─ projected.sources[].{configMap,secret}     → same
//! ```
//!
//! The projected `kube-api-access-*` volume that kube-apiserver's ServiceAccount admission adds to every pod
//! (a token, the ConfigMap `kube-root-ca.crt` and the namespace) is the platform's, not the app's config: it is
//! skipped ([`is_service_account_token_volume`]). Mutating webhooks run after that admission plugin, so the
//! injection webhook sees it on every pod of a real cluster.
//!
//! [`source_refs`] walks all of them and merges the references to one source into one [`SourceRef`]: the union
//! of the consumed keys ([`ConsumedKeys::All`] dominates), and `optional` only if every reference is optional.
//! Only consumed keys count towards a workload's hash, so a change to another key of a shared ConfigMap rolls
//! nothing.
use std::collections::{BTreeMap, BTreeSet};

use configsync_crds::SourceKind;
use k8s_openapi::api::core::v1::{
    EnvFromSource, EnvVar, KeyToPath, PodSpec, Volume, VolumeProjection,
};

/// One ConfigMap or Secret, by kind and name (the namespace is the workload's).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId {
    /// ConfigMap or Secret.
    pub kind: SourceKind,
    /// The object's name.
    pub name: String,
}

impl SourceId {
    /// A ConfigMap reference.
    pub fn config_map(name: impl Into<String>) -> Self {
        Self {
            kind: SourceKind::ConfigMap,
            name: name.into(),
        }
    }

    /// A Secret reference.
    pub fn secret(name: impl Into<String>) -> Self {
        Self {
            kind: SourceKind::Secret,
            name: name.into(),
        }
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// The keys of a source that a workload consumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumedKeys {
    /// Every key (envFrom, or a volume without `items`).
    All,
    /// Only these keys (keyRefs, or volume `items`).
    Keys(BTreeSet<String>),
}

impl ConsumedKeys {
    /// Exactly one key.
    pub fn one(key: impl Into<String>) -> Self {
        Self::Keys(BTreeSet::from([key.into()]))
    }

    /// The union of both sets; `All` dominates.
    pub fn merge(&mut self, other: ConsumedKeys) {
        match (&mut *self, other) {
            (Self::All, _) => {}
            (this @ Self::Keys(_), Self::All) => *this = Self::All,
            (Self::Keys(mine), Self::Keys(theirs)) => mine.extend(theirs),
        }
    }

    /// Whether a change to any of `keys` matters to the consumer.
    pub fn intersects(&self, keys: &BTreeSet<String>) -> bool {
        match self {
            Self::All => !keys.is_empty(),
            Self::Keys(mine) => mine.iter().any(|k| keys.contains(k)),
        }
    }
}

/// A workload's use of one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRef {
    /// The source.
    pub id: SourceId,
    /// The keys that count.
    pub keys: ConsumedKeys,
    /// A missing optional source hashes as absent; a missing required one blocks the rollout.
    pub optional: bool,
    /// Prefixes under which `envFrom` exposes the keys (`""` when there is none).
    pub env_prefixes: BTreeSet<String>,
}

impl SourceRef {
    fn new(id: SourceId, keys: ConsumedKeys, optional: Option<bool>) -> Self {
        let optional = optional.unwrap_or(false);
        Self {
            id,
            keys,
            optional,
            env_prefixes: BTreeSet::new(),
        }
    }

    /// Fold another reference to the same source into this one.
    pub fn merge(&mut self, other: SourceRef) {
        self.keys.merge(other.keys);
        self.optional &= other.optional;
        self.env_prefixes.extend(other.env_prefixes);
    }
}

/// Every source the pod spec consumes, one [`SourceRef`] per source, sorted by kind and name.
pub fn source_refs(spec: &PodSpec) -> Vec<SourceRef> {
    merge_refs(raw_refs(spec))
}

/// Merge references to the same source (keys united, `optional` only if all are), sorted by kind and name.
pub fn merge_refs(refs: impl IntoIterator<Item = SourceRef>) -> Vec<SourceRef> {
    let mut merged: BTreeMap<SourceId, SourceRef> = BTreeMap::new();
    for r in refs {
        match merged.get_mut(&r.id) {
            Some(existing) => existing.merge(r),
            None => {
                merged.insert(r.id.clone(), r);
            }
        }
    }
    merged.into_values().collect()
}

/// Every reference in the pod spec, unmerged, in spec order. Empty names are skipped.
pub fn raw_refs(spec: &PodSpec) -> Vec<SourceRef> {
    refs_via(spec).into_iter().map(|(_, r)| r).collect()
}

/// How a pod spec references a source (what `configsync explain` shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Via {
    /// `env[].valueFrom.{configMap,secret}KeyRef`.
    EnvValueFrom,
    /// `envFrom[].{configMap,secret}Ref`.
    EnvFrom,
    /// A `configMap` or `secret` volume.
    Volume,
    /// A `projected` volume source.
    Projected,
}

impl Via {
    /// The pod-spec field, as a user reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnvValueFrom => "env valueFrom",
            Self::EnvFrom => "envFrom",
            Self::Volume => "volume",
            Self::Projected => "projected volume",
        }
    }
}

/// [`raw_refs`], each with the field that makes it.
pub fn refs_via(spec: &PodSpec) -> Vec<(Via, SourceRef)> {
    let mut out = Vec::new();
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    for c in containers {
        env_refs(c.env.as_deref(), c.env_from.as_deref(), &mut out);
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        env_refs(c.env.as_deref(), c.env_from.as_deref(), &mut out);
    }
    for volume in spec.volumes.iter().flatten() {
        volume_refs(volume, &mut out);
    }
    out.retain(|(_, r)| !r.id.name.is_empty());
    out
}

fn env_refs(
    env: Option<&[EnvVar]>,
    env_from: Option<&[EnvFromSource]>,
    out: &mut Vec<(Via, SourceRef)>,
) {
    for source in env
        .into_iter()
        .flatten()
        .filter_map(|e| e.value_from.as_ref())
    {
        if let Some(r) = &source.config_map_key_ref {
            let id = SourceId::config_map(&r.name);
            let r = SourceRef::new(id, ConsumedKeys::one(&r.key), r.optional);
            out.push((Via::EnvValueFrom, r));
        }
        if let Some(r) = &source.secret_key_ref {
            let id = SourceId::secret(&r.name);
            let r = SourceRef::new(id, ConsumedKeys::one(&r.key), r.optional);
            out.push((Via::EnvValueFrom, r));
        }
    }
    for source in env_from.into_iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        let mut push = |id, optional| {
            let mut r = SourceRef::new(id, ConsumedKeys::All, optional);
            r.env_prefixes.insert(prefix.clone());
            out.push((Via::EnvFrom, r));
        };
        if let Some(r) = &source.config_map_ref {
            push(SourceId::config_map(&r.name), r.optional);
        }
        if let Some(r) = &source.secret_ref {
            push(SourceId::secret(&r.name), r.optional);
        }
    }
}

/// Whether `volume` is the service-account token volume kube-apiserver's ServiceAccount admission plugin adds:
/// named `kube-api-access-<suffix>`, projected, with a `serviceAccountToken` source.
pub fn is_service_account_token_volume(volume: &Volume) -> bool {
    volume.name.starts_with("kube-api-access-")
        && volume.projected.as_ref().is_some_and(|projected| {
            projected
                .sources
                .iter()
                .flatten()
                .any(|source| source.service_account_token.is_some())
        })
}

fn volume_refs(volume: &Volume, out: &mut Vec<(Via, SourceRef)>) {
    if is_service_account_token_volume(volume) {
        return;
    }
    if let Some(cm) = &volume.config_map {
        let id = SourceId::config_map(&cm.name);
        out.push((
            Via::Volume,
            SourceRef::new(id, item_keys(cm.items.as_deref()), cm.optional),
        ));
    }
    if let Some(secret) = &volume.secret
        && let Some(name) = &secret.secret_name
    {
        let id = SourceId::secret(name);
        out.push((
            Via::Volume,
            SourceRef::new(id, item_keys(secret.items.as_deref()), secret.optional),
        ));
    }
    let projections = volume
        .projected
        .iter()
        .flat_map(|p| p.sources.iter().flatten());
    for projection in projections {
        projection_refs(projection, out);
    }
}

fn projection_refs(projection: &VolumeProjection, out: &mut Vec<(Via, SourceRef)>) {
    if let Some(cm) = &projection.config_map {
        let id = SourceId::config_map(&cm.name);
        out.push((
            Via::Projected,
            SourceRef::new(id, item_keys(cm.items.as_deref()), cm.optional),
        ));
    }
    if let Some(secret) = &projection.secret {
        let id = SourceId::secret(&secret.name);
        out.push((
            Via::Projected,
            SourceRef::new(id, item_keys(secret.items.as_deref()), secret.optional),
        ));
    }
}

/// Volume `items` select keys; without items (or with an empty list) the kubelet projects every key.
fn item_keys(items: Option<&[KeyToPath]>) -> ConsumedKeys {
    match items {
        Some(items) if !items.is_empty() => {
            ConsumedKeys::Keys(items.iter().map(|i| i.key.clone()).collect())
        }
        _ => ConsumedKeys::All,
    }
}

#[cfg(test)]
#[path = "refs_tests.rs"]
mod tests;
