//! A seeded random fleet and its source updates, as a pure model.
//!
//! ```text
//!  sources   cm-0..cm-7, sec-0..sec-3  read whole or by key     keys a b c d
//!            cm-k0..cm-k2, sec-k0      read only by keys a, b   (c, d: nobody consumes them)
//!            cm-orphan, sec-orphan     read by nobody
//!            cm-fan                    key a read by three workloads in four (the fan-out)
//!  workloads w-NN, Deployment / StatefulSet / DaemonSet in turn, 1..=3 references each of eight kinds
//!            (envFrom, env keyRef, volume, volume items, projected; ConfigMap and Secret; init containers)
//! ```
//! Expected hashes come from the operator's own pure functions (`workload::follow`, `hash::workload_hash`)
//! over the modelled data, so "recomputed from scratch" means no API and no operator state. A batch never
//! changes one workload's hash twice, so each workload owes at most one rollout per batch. The model has no
//! namespace: the bodies written to the API are placed in the one the caller names.
use std::collections::{BTreeMap, BTreeSet};

use configsync_crds::{SourceKind, WorkloadKind};
use configsync_operator::hash::{KeyDigests, workload_hash};
use configsync_operator::refs::SourceId;
use configsync_operator::workload::{Workload, follow};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

const KEYS: [&str; 4] = ["a", "b", "c", "d"];
const CONSUMED_BY_KEY: [&str; 2] = ["a", "b"];

/// One workload: its kind, name and pod spec.
#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    /// Deployment, StatefulSet or DaemonSet.
    pub kind: WorkloadKind,
    /// Unique across kinds.
    pub name: String,
    /// The pod spec, as JSON.
    pub pod_spec: Value,
}

impl WorkloadSpec {
    /// The whole object in `namespace`, opted in with `configsync.dev/auto`.
    pub fn body(&self, namespace: &str) -> Value {
        let mut body = self.manifest();
        body["metadata"]["namespace"] = json!(namespace);
        body
    }

    /// The object without a namespace: what the hash depends on. Only the fields its kind declares (a real
    /// apiserver refuses an apply with others: `serviceName` is a StatefulSet's, a DaemonSet has no `replicas`).
    fn manifest(&self) -> Value {
        let mut spec = json!({"selector": {"matchLabels": {"app": self.name}},
            "template": {"metadata": {"labels": {"app": self.name}}, "spec": self.pod_spec}});
        if self.kind != WorkloadKind::DaemonSet {
            spec["replicas"] = json!(1);
        }
        if self.kind == WorkloadKind::StatefulSet {
            spec["serviceName"] = json!(self.name);
        }
        json!({
            "apiVersion": "apps/v1", "kind": self.kind.as_str(),
            "metadata": {"name": self.name, "annotations": {"configsync.dev/auto": "true"}},
            "spec": spec,
        })
    }

    /// The hash the operator must record, from the modelled sources.
    pub fn expected_hash(&self, sources: &BTreeMap<SourceId, KeyDigests>) -> String {
        let body = self.manifest();
        let followed = match self.kind {
            WorkloadKind::Deployment => follow_body::<Deployment>(body),
            WorkloadKind::StatefulSet => follow_body::<StatefulSet>(body),
            WorkloadKind::DaemonSet => follow_body::<DaemonSet>(body),
            other => panic!("the invariant fleet models apps/v1 kinds only, not {other}"),
        };
        workload_hash(&followed, sources)
            .expect("every referenced source exists")
            .to_string()
    }
}

fn follow_body<W: Workload + k8s_openapi::serde::de::DeserializeOwned>(
    body: Value,
) -> Vec<configsync_operator::refs::SourceRef> {
    let workload: W = serde_json::from_value(body).expect("a valid workload");
    follow(&workload, false)
        .expect("valid annotations")
        .expect("opted in")
        .sources
}

/// The digests of one source's data, as the operator computes them.
pub fn digests(id: &SourceId, data: &BTreeMap<String, String>) -> KeyDigests {
    match id.kind {
        SourceKind::ConfigMap => KeyDigests::from_config_map(&ConfigMap {
            data: Some(data.clone()),
            ..ConfigMap::default()
        }),
        SourceKind::Secret => KeyDigests::from_secret(&secret(id, data, None)),
    }
}

fn secret(id: &SourceId, data: &BTreeMap<String, String>, namespace: Option<&str>) -> Secret {
    let data = data
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
        .collect();
    Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(id.name.clone()),
            namespace: namespace.map(str::to_owned),
            ..Default::default()
        },
        data: Some(data),
        ..Secret::default()
    }
}

/// The server-side-apply body that sets the data of a source in `namespace`.
pub fn source_body(id: &SourceId, data: &BTreeMap<String, String>, namespace: &str) -> Value {
    match id.kind {
        SourceKind::ConfigMap => json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": id.name, "namespace": namespace}, "data": data}),
        SourceKind::Secret => {
            let secret = secret(id, data, Some(namespace));
            let mut body = serde_json::to_value(secret).expect("a Secret serializes");
            body["apiVersion"] = json!("v1");
            body["kind"] = json!("Secret");
            body
        }
    }
}

/// One write: a source's full new data.
#[derive(Clone, Debug)]
pub struct Update {
    /// The source.
    pub source: SourceId,
    /// Its data after the write.
    pub data: BTreeMap<String, String>,
}

/// The modelled cluster: source data and workloads, plus the seeded generator.
pub struct Fleet {
    /// Every source's data.
    pub sources: BTreeMap<SourceId, BTreeMap<String, String>>,
    /// Every workload.
    pub workloads: Vec<WorkloadSpec>,
    rng: StdRng,
    next_value: u64,
}

impl Fleet {
    /// A fleet of `workloads` workloads drawn from `seed`.
    pub fn new(seed: u64, workloads: usize) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut sources = BTreeMap::new();
        let mut next_value = 0;
        for id in whole_pool()
            .into_iter()
            .chain(keyed_pool())
            .chain(orphans())
            .chain([fan_out_source()])
        {
            let data = KEYS
                .iter()
                .map(|k| {
                    next_value += 1;
                    ((*k).to_owned(), format!("v{next_value}"))
                })
                .collect();
            sources.insert(id, data);
        }
        let kinds = [
            WorkloadKind::Deployment,
            WorkloadKind::StatefulSet,
            WorkloadKind::DaemonSet,
        ];
        let workloads = (0..workloads)
            .map(|i| WorkloadSpec {
                kind: kinds[i % kinds.len()],
                name: format!("w-{i:02}"),
                pod_spec: random_pod_spec(&mut rng, i % 4 != 0),
            })
            .collect();
        Self {
            sources,
            workloads,
            rng,
            next_value,
        }
    }

    /// Every workload's expected hash now.
    pub fn expected_hashes(&self) -> BTreeMap<String, String> {
        hashes(&self.workloads, &self.sources)
    }

    /// Draw up to `size` updates that change no workload's hash twice; apply them to the model.
    pub fn next_batch(&mut self, size: usize) -> Vec<Update> {
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut batch = Vec::new();
        let ids: Vec<SourceId> = self.sources.keys().cloned().collect();
        for _ in 0..size * 8 {
            if batch.len() == size {
                break;
            }
            let before = self.expected_hashes();
            let id = ids.choose(&mut self.rng).expect("sources").clone();
            let old = self.sources[&id].clone();
            let mut data = old.clone();
            for _ in 0..self.rng.random_range(1..=2) {
                let key = KEYS.choose(&mut self.rng).expect("keys");
                self.next_value += 1;
                data.insert((*key).to_owned(), format!("v{}", self.next_value));
            }
            self.sources.insert(id.clone(), data.clone());
            let after = self.expected_hashes();
            let changed: BTreeSet<String> = after
                .iter()
                .filter(|(name, hash)| before.get(*name) != Some(hash))
                .map(|(name, _)| name.clone())
                .collect();
            if changed.is_disjoint(&touched) {
                touched.extend(changed);
                batch.push(Update { source: id, data });
            } else {
                self.sources.insert(id, old);
            }
        }
        batch
    }

    /// Give `key` of `source` a new value, in the model; returns the write.
    pub fn update(&mut self, source: &SourceId, key: &str) -> Update {
        self.next_value += 1;
        let data = self.sources.entry(source.clone()).or_default();
        data.insert(key.to_owned(), format!("v{}", self.next_value));
        Update {
            source: source.clone(),
            data: data.clone(),
        }
    }

    /// A draw in `0..1` from the fleet's generator (for fault timing).
    pub fn draw(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
}

/// Every workload's hash over `sources`, recomputed from scratch.
pub fn hashes(
    workloads: &[WorkloadSpec],
    sources: &BTreeMap<SourceId, BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let digests: BTreeMap<SourceId, KeyDigests> = sources
        .iter()
        .map(|(id, data)| (id.clone(), digests(id, data)))
        .collect();
    workloads
        .iter()
        .map(|w| (w.name.clone(), w.expected_hash(&digests)))
        .collect()
}

fn whole_pool() -> Vec<SourceId> {
    let cms = (0..8).map(|i| SourceId::config_map(format!("cm-{i}")));
    cms.chain((0..4).map(|i| SourceId::secret(format!("sec-{i}"))))
        .collect()
}

fn keyed_pool() -> Vec<SourceId> {
    let cms = (0..3).map(|i| SourceId::config_map(format!("cm-k{i}")));
    cms.chain([SourceId::secret("sec-k0")]).collect()
}

fn orphans() -> Vec<SourceId> {
    vec![
        SourceId::config_map("cm-orphan"),
        SourceId::secret("sec-orphan"),
    ]
}

/// The ConfigMap most workloads read (key `a`): updating that key fans out to three workloads in four.
pub fn fan_out_source() -> SourceId {
    SourceId::config_map("cm-fan")
}

fn pick(rng: &mut StdRng, pool: &[SourceId], kind: SourceKind) -> String {
    let of_kind: Vec<&SourceId> = pool.iter().filter(|id| id.kind == kind).collect();
    of_kind
        .choose(rng)
        .expect("a source of each kind")
        .name
        .clone()
}

/// A pod spec with 1..=3 references of random kinds (plus key `a` of the fan-out source when `fan`);
/// keyed references only read keys `a` and `b`.
fn random_pod_spec(rng: &mut StdRng, fan: bool) -> Value {
    let (whole, keyed) = (whole_pool(), keyed_pool());
    let all: Vec<SourceId> = whole.iter().chain(&keyed).cloned().collect();
    let (mut env_from, mut env, mut init_env, mut volumes) = (vec![], vec![], vec![], vec![]);
    if fan {
        let name = fan_out_source().name;
        env.push(
            json!({"name": "FAN", "valueFrom": {"configMapKeyRef": {"name": name, "key": "a"}}}),
        );
    }
    for i in 0..rng.random_range(1..=3) {
        let key = *CONSUMED_BY_KEY.choose(rng).expect("keys");
        let volume = format!("v{i}");
        match rng.random_range(0..8) {
            0 => env_from.push(
                json!({"configMapRef": {"name": pick(rng, &whole, SourceKind::ConfigMap)}}),
            ),
            1 => env_from.push(
                json!({"prefix": "S_", "secretRef": {"name": pick(rng, &whole, SourceKind::Secret)}}),
            ),
            2 => env.push(json!({"name": format!("E{i}"), "valueFrom": {"configMapKeyRef":
                {"name": pick(rng, &all, SourceKind::ConfigMap), "key": key}}})),
            3 => init_env.push(json!({"name": format!("E{i}"), "valueFrom": {"secretKeyRef":
                {"name": pick(rng, &all, SourceKind::Secret), "key": key}}})),
            4 => volumes.push(json!({"name": volume,
                "configMap": {"name": pick(rng, &whole, SourceKind::ConfigMap)}})),
            5 => volumes.push(json!({"name": volume, "configMap": {
                "name": pick(rng, &all, SourceKind::ConfigMap), "items": [{"key": key, "path": key}]}})),
            6 => volumes.push(json!({"name": volume,
                "secret": {"secretName": pick(rng, &whole, SourceKind::Secret)}})),
            _ => volumes.push(json!({"name": volume, "projected": {"sources": [
                {"configMap": {"name": pick(rng, &all, SourceKind::ConfigMap),
                    "items": [{"key": key, "path": format!("c-{key}")}]}},
                {"secret": {"name": pick(rng, &whole, SourceKind::Secret)}}]}})),
        }
    }
    let mounts: Vec<Value> = volumes
        .iter()
        .map(|v| json!({"name": v["name"], "mountPath": format!("/{}", v["name"].as_str().unwrap_or("v"))}))
        .collect();
    json!({
        "initContainers": [{"name": "init", "image": "init", "env": init_env}],
        "containers": [{"name": "app", "image": "app", "envFrom": env_from, "env": env,
            "volumeMounts": mounts}],
        "volumes": volumes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_fleet_and_batches() {
        let (mut one, mut two) = (Fleet::new(7, 12), Fleet::new(7, 12));
        assert_eq!(one.expected_hashes(), two.expected_hashes());
        let (a, b) = (one.next_batch(5), two.next_batch(5));
        let names = |batch: &[Update]| batch.iter().map(|u| u.source.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
    }

    #[test]
    fn batches_change_each_workload_at_most_once() {
        let mut fleet = Fleet::new(11, 24);
        let (mut changes, mut noise) = (0, 0);
        for _ in 0..20 {
            let mut sources = fleet.sources.clone();
            let mut previous = hashes(&fleet.workloads, &sources);
            let mut touched = BTreeSet::new();
            for update in fleet.next_batch(6) {
                sources.insert(update.source, update.data);
                let now = hashes(&fleet.workloads, &sources);
                let changed: Vec<&String> = now
                    .iter()
                    .filter(|(n, h)| previous.get(*n) != Some(h))
                    .map(|(n, _)| n)
                    .collect();
                noise += usize::from(changed.is_empty());
                changes += changed.len();
                for name in changed {
                    assert!(touched.insert(name.clone()), "{name} changed twice");
                }
                previous = now;
            }
            assert_eq!(
                previous,
                fleet.expected_hashes(),
                "the model holds the batch"
            );
        }
        assert!(changes > 20 && noise > 5, "changes={changes} noise={noise}");
    }

    #[test]
    fn keys_nobody_consumes_change_no_hash() {
        let mut fleet = Fleet::new(3, 24);
        let before = fleet.expected_hashes();
        for (source, key) in [
            (SourceId::config_map("cm-orphan"), "a"),
            (SourceId::config_map("cm-k0"), "c"),
            (SourceId::secret("sec-k0"), "d"),
        ] {
            fleet
                .sources
                .get_mut(&source)
                .unwrap()
                .insert(key.into(), "new".into());
        }
        assert_eq!(fleet.expected_hashes(), before);
        fleet
            .sources
            .get_mut(&SourceId::config_map("cm-0"))
            .unwrap()
            .insert("c".into(), "new".into());
        let consumers = fleet
            .workloads
            .iter()
            .filter(|w| w.pod_spec.to_string().contains("\"cm-0\""))
            .count();
        let changed = fleet
            .expected_hashes()
            .iter()
            .filter(|(n, h)| before.get(*n) != Some(h))
            .count();
        assert!(changed <= consumers, "only consumers of cm-0 change");
    }
}
