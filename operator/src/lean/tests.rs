use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::*;
use crate::hash::{Digest, KeyDigests};
use crate::workload::Workload;

/// Both decodings of the same text: the lean one, and k8s-openapi's followed by `KeyDigests::from_*`.
fn both_config_map(text: &str) -> (KeyDigests, KeyDigests) {
    let lean: ConfigMapDigests = serde_json::from_str(text).unwrap();
    let full: ConfigMap = serde_json::from_str(text).unwrap();
    (lean.digests, KeyDigests::from_config_map(&full))
}

fn both_secret(text: &str) -> (KeyDigests, KeyDigests) {
    let lean: SecretDigests = serde_json::from_str(text).unwrap();
    let full: Secret = serde_json::from_str(text).unwrap();
    (lean.digests, KeyDigests::from_secret(&full))
}

#[test]
fn config_map_digests_equal_the_full_decoding() {
    let binary: Vec<u8> = (0..=255).collect();
    // Escapes, unicode, empty values; binaryData before data, and a key in both (binaryData wins).
    let text = json!({
        "binaryData": {"bin": STANDARD.encode(&binary), "empty-bin": "", "both": STANDARD.encode(b"B")},
        "data": {"z": "last", "esc": "quote \" backslash \\ newline \n tab \t nul \u{0} é 😀",
                 "ünï": "ключ", "empty": "", "both": "D", "a": "first"},
        "metadata": {"name": "app", "namespace": "prod"}
    })
    .to_string();
    let (lean, full) = both_config_map(&text);
    assert_eq!(lean, full);
    assert_eq!(lean.len(), 8);
    assert_eq!(lean.get("both"), Some(&Digest::of(b"B")));
    assert_eq!(lean.get("bin"), Some(&Digest::of(&binary)));
    // Escapes spelled out by hand (serde_json's writer would not use \u for é).
    let escaped = r#"{"data": {"k\u00e9\"": "line\nnext \u00e9 \ud83d\ude00 \/ \\"}}"#;
    let (lean, full) = both_config_map(escaped);
    assert_eq!(lean, full);
    assert_eq!(
        lean.get("ké\""),
        Some(&Digest::of("line\nnext é 😀 / \\".as_bytes()))
    );
}

#[test]
fn secret_digests_equal_the_full_decoding() {
    let text = json!({
        "metadata": {"name": "db"},
        "type": "Opaque",
        "stringData": {"over": "from stringData", "plain": "p"},
        "data": {"pw": STANDARD.encode(b"s3cr3t\xff\x00"), "empty": "", "null": null,
                 "over": STANDARD.encode(b"from data")},
    })
    .to_string();
    let (lean, full) = both_secret(&text);
    assert_eq!(lean, full);
    assert_eq!(lean.get("null"), Some(&Digest::of(b"")));
    assert_eq!(lean.get("over"), Some(&Digest::of(b"from stringData")));
}

#[test]
fn random_sources_digest_alike_both_ways() {
    let mut rng = StdRng::seed_from_u64(9);
    let alphabet: Vec<char> = "ab\"\\\n\t\u{0}\u{1f}é€😀 /zZ09".chars().collect();
    let text = |rng: &mut StdRng, max: usize| -> String {
        (0..rng.random_range(0..=max))
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect()
    };
    for _ in 0..200 {
        let (mut data, mut binary) = (serde_json::Map::new(), serde_json::Map::new());
        for _ in 0..rng.random_range(0..6) {
            data.insert(text(&mut rng, 4), json!(text(&mut rng, 40)));
            let bytes: Vec<u8> = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
            binary.insert(text(&mut rng, 4), json!(STANDARD.encode(bytes)));
        }
        let cm = json!({"data": data, "binaryData": binary}).to_string();
        let (lean, full) = both_config_map(&cm);
        assert_eq!(lean, full, "{cm}");
        let secret = json!({"data": binary, "stringData": data}).to_string();
        let (lean, full) = both_secret(&secret);
        assert_eq!(lean, full, "{secret}");
    }
}

#[test]
fn absent_or_null_maps_have_no_keys() {
    for text in [r#"{}"#, r#"{"data": null, "binaryData": null}"#] {
        let (lean, full) = both_config_map(text);
        assert!(lean.is_empty());
        assert_eq!(lean, full);
    }
}

#[test]
fn bad_values_fail_without_quoting_them() {
    let error = serde_json::from_str::<SecretDigests>(r#"{"data": {"pw": "s3cr3t!!"}}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not valid base64"), "{error}");
    assert!(!error.contains("s3cr3t"), "{error}");
    assert!(serde_json::from_str::<ConfigMapDigests>(r#"{"data": {"k": 1}}"#).is_err());
}

#[test]
fn metadata_drops_managed_fields_and_last_applied() {
    let text = json!({
        "metadata": {
            "name": "db", "namespace": "prod", "uid": "u-1", "resourceVersion": "42", "generation": 3,
            "labels": {"app": "web"},
            "annotations": {LAST_APPLIED: "{\"data\":{\"pw\":\"czNjcjN0\"}}", "configsync.dev/ignore": "true"},
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:pw": {}}}}],
            "creationTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["x"]
        },
        "data": {"pw": "czNjcjN0"}
    });
    let secret: SecretDigests = serde_json::from_value(text).unwrap();
    let meta = &secret.metadata;
    assert_eq!(meta.name.as_deref(), Some("db"));
    assert_eq!(meta.namespace.as_deref(), Some("prod"));
    assert_eq!(meta.uid.as_deref(), Some("u-1"));
    assert_eq!(meta.resource_version.as_deref(), Some("42"));
    assert_eq!(meta.generation, Some(3));
    assert_eq!(meta.labels.as_ref().unwrap()["app"], "web");
    let annotations: Vec<_> = meta.annotations.iter().flatten().collect();
    assert_eq!(annotations.len(), 1);
    assert_eq!(annotations[0].0, "configsync.dev/ignore");
    assert!(meta.managed_fields.is_none() && meta.finalizers.is_none());
    let rendered = format!("{secret:?}");
    assert!(
        !rendered.contains("czNjcjN0") && !rendered.contains("s3cr3t"),
        "{rendered}"
    );
}

fn workload_json(status: Value) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "prod", "generation": 2, "labels": {"tier": "a"},
            "annotations": {"configsync.dev/observed-hash": "v1:aa", LAST_APPLIED: "{}"},
            "managedFields": [{"manager": "configsync"}]},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}, "annotations": {"configsync.dev/config-hash": "v1:bb"}},
            "spec": {
                "containers": [{"name": "c", "image": "i",
                    "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
                            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "p", "optional": true}}}],
                    "envFrom": [{"prefix": "X_", "configMapRef": {"name": "env"}}]}],
                "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "init"}}]}],
                "volumes": [
                    {"name": "v1", "configMap": {"name": "vol", "items": [{"key": "a", "path": "a"}]}},
                    {"name": "v2", "secret": {"secretName": "tls"}},
                    {"name": "v3", "projected": {"sources": [{"configMap": {"name": "proj"}},
                                                             {"secret": {"name": "s", "items": [{"key": "q", "path": "q"}]}}]}}]}}},
        "status": status
    })
}

/// Every `Workload` reading of a view equals the reading of the full k8s-openapi object.
fn assert_same_reading<V, F>(view: &V, full: &F)
where
    V: Workload,
    F: Workload,
{
    assert_eq!(view.workload_ref(), full.workload_ref());
    assert_eq!(view.template_hash(), full.template_hash());
    assert_eq!(view.observed_hash(), full.observed_hash());
    assert_eq!(view.source_refs(), full.source_refs());
    assert!(view.template_fingerprint().is_some());
    assert_eq!(view.template_fingerprint(), full.template_fingerprint());
    assert_eq!(view.observed_template(), full.observed_template());
    assert_eq!(view.record_label(), full.record_label());
    assert_eq!(
        crate::workload::follow(view, true),
        crate::workload::follow(full, true)
    );
}

#[test]
fn workload_views_read_like_the_full_objects() {
    let status = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3});
    let body = workload_json(status);
    let view: DeploymentView = serde_json::from_value(body.clone()).unwrap();
    let full: Deployment = serde_json::from_value(body.clone()).unwrap();
    assert_same_reading(&view, &full);
    assert_eq!(view.source_refs().len(), 7);
    assert_eq!(view.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(view.status.unwrap().updated_replicas, Some(3));
    assert!(
        view.metadata
            .annotations
            .as_ref()
            .unwrap()
            .get(LAST_APPLIED)
            .is_none()
    );
    let view: StatefulSetView = serde_json::from_value(body.clone()).unwrap();
    let full: StatefulSet = serde_json::from_value(body.clone()).unwrap();
    assert_same_reading(&view, &full);
    let daemon = json!({"observedGeneration": 2, "desiredNumberScheduled": 4, "currentNumberScheduled": 4,
                        "updatedNumberScheduled": 4, "numberAvailable": 3, "numberReady": 3});
    let mut body = workload_json(daemon);
    body["spec"].as_object_mut().unwrap().remove("replicas");
    let view: DaemonSetView = serde_json::from_value(body.clone()).unwrap();
    let full: DaemonSet = serde_json::from_value(body).unwrap();
    assert_same_reading(&view, &full);
    assert_eq!(view.status.unwrap().number_available, Some(3));
}

#[test]
fn a_bare_workload_view_has_nothing() {
    let view: DeploymentView = serde_json::from_str(r#"{"metadata": {"name": "w"}}"#).unwrap();
    assert_eq!(view.template_hash(), None);
    assert!(view.source_refs().is_empty());
    let view: DaemonSetView =
        serde_json::from_str(r#"{"spec": {"template": null}, "status": null}"#).unwrap();
    assert!(view.source_refs().is_empty());
}
