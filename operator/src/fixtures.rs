//! Test builders shared by the unit tests (`mk_*`).
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::{Value, json};

use crate::hash::{ConfigHash, source_hash};
use crate::refs::{ConsumedKeys, SourceId};

/// A real, distinct hash per seed.
pub fn mk_hash(seed: &str) -> ConfigHash {
    source_hash(&SourceId::config_map(seed), &ConsumedKeys::All, None)
}

/// A Deployment with metadata annotations and a pod spec given as JSON.
pub fn mk_deployment(
    ns: &str,
    name: &str,
    annotations: &[(&str, &str)],
    pod_spec: Value,
) -> Deployment {
    let annotations: serde_json::Map<String, Value> = annotations
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}}, "spec": pod_spec}},
    }))
    .unwrap()
}

/// A k8s-openapi object decoded the way the watches decode it (a [`crate::lean`] view).
pub fn mk_view<V: serde::de::DeserializeOwned>(object: &impl serde::Serialize) -> V {
    serde_json::from_value(serde_json::to_value(object).unwrap()).unwrap()
}

/// A pod spec with one container that reads `env_from` ConfigMaps whole and `key_refs` (ConfigMap, key) pairs.
pub fn mk_pod_spec(env_from: &[&str], key_refs: &[(&str, &str)]) -> Value {
    let env_from: Vec<Value> = env_from
        .iter()
        .map(|n| json!({"configMapRef": {"name": n}}))
        .collect();
    let env: Vec<Value> = key_refs
        .iter()
        .enumerate()
        .map(|(i, (n, k))| json!({"name": format!("V{i}"), "valueFrom": {"configMapKeyRef": {"name": n, "key": k}}}))
        .collect();
    json!({"containers": [{"name": "app", "image": "app", "envFrom": env_from, "env": env}]})
}
