use serde_json::json;

use super::*;

fn mk_pod_spec(value: serde_json::Value) -> PodSpec {
    serde_json::from_value(value).unwrap()
}

fn keys(ks: &[&str]) -> ConsumedKeys {
    ConsumedKeys::Keys(ks.iter().map(|k| (*k).to_owned()).collect())
}

fn find<'a>(refs: &'a [SourceRef], id: &SourceId) -> &'a SourceRef {
    refs.iter()
        .find(|r| &r.id == id)
        .unwrap_or_else(|| panic!("{id} not found in {refs:?}"))
}

#[test]
fn env_key_refs_consume_one_key_each() {
    let spec = mk_pod_spec(json!({"containers": [{"name": "app", "env": [
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "a"}}},
        {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "b"}}},
        {"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password", "optional": true}}},
        {"name": "PLAIN", "value": "x"},
        {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]}]}));
    let refs = source_refs(&spec);
    assert_eq!(refs.len(), 2);
    let cm = find(&refs, &SourceId::config_map("cm"));
    assert_eq!(cm.keys, keys(&["a", "b"]));
    assert!(!cm.optional);
    let db = find(&refs, &SourceId::secret("db"));
    assert_eq!(db.keys, keys(&["password"]));
    assert!(db.optional);
}

#[test]
fn env_from_consumes_all_keys_and_notes_the_prefix() {
    let spec = mk_pod_spec(json!({"containers": [{"name": "app", "envFrom": [
        {"configMapRef": {"name": "cm"}, "prefix": "APP_"},
        {"secretRef": {"name": "creds", "optional": true}},
    ]}]}));
    let refs = source_refs(&spec);
    let cm = find(&refs, &SourceId::config_map("cm"));
    assert_eq!(cm.keys, ConsumedKeys::All);
    assert_eq!(cm.env_prefixes, BTreeSet::from(["APP_".to_owned()]));
    let creds = find(&refs, &SourceId::secret("creds"));
    assert_eq!(creds.keys, ConsumedKeys::All);
    assert!(creds.optional);
    assert_eq!(creds.env_prefixes, BTreeSet::from([String::new()]));
}

#[test]
fn volumes_consume_all_keys_or_only_their_items() {
    let spec = mk_pod_spec(json!({"containers": [{"name": "app"}], "volumes": [
        {"name": "whole", "configMap": {"name": "whole-cm"}},
        {"name": "some", "configMap": {"name": "items-cm", "items": [{"key": "k1", "path": "p1"}]}},
        {"name": "empty-items", "configMap": {"name": "empty-cm", "items": []}},
        {"name": "tls", "secret": {"secretName": "tls", "items": [{"key": "tls.crt", "path": "c"}], "optional": true}},
        {"name": "unnamed", "secret": {}},
        {"name": "scratch", "emptyDir": {}},
    ]}));
    let refs = source_refs(&spec);
    assert_eq!(
        refs.len(),
        4,
        "unnamed secret and emptyDir are not sources: {refs:?}"
    );
    assert_eq!(
        find(&refs, &SourceId::config_map("whole-cm")).keys,
        ConsumedKeys::All
    );
    assert_eq!(
        find(&refs, &SourceId::config_map("items-cm")).keys,
        keys(&["k1"])
    );
    assert_eq!(
        find(&refs, &SourceId::config_map("empty-cm")).keys,
        ConsumedKeys::All
    );
    let tls = find(&refs, &SourceId::secret("tls"));
    assert_eq!(tls.keys, keys(&["tls.crt"]));
    assert!(tls.optional);
}

#[test]
fn projected_sources_count_like_volumes() {
    let spec = mk_pod_spec(
        json!({"containers": [{"name": "app"}], "volumes": [{"name": "all-in-one",
        "projected": {"sources": [
            {"configMap": {"name": "proj-cm", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"secret": {"name": "proj-secret", "optional": true}},
            {"serviceAccountToken": {"path": "token"}},
            {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        ]}}]}),
    );
    let refs = source_refs(&spec);
    assert_eq!(refs.len(), 2);
    assert_eq!(
        find(&refs, &SourceId::config_map("proj-cm")).keys,
        keys(&["ca.crt"])
    );
    let secret = find(&refs, &SourceId::secret("proj-secret"));
    assert_eq!(secret.keys, ConsumedKeys::All);
    assert!(secret.optional);
}

#[test]
fn init_and_ephemeral_containers_count() {
    let spec = mk_pod_spec(json!({
        "containers": [{"name": "app"}],
        "initContainers": [{"name": "migrate", "envFrom": [{"secretRef": {"name": "migrations"}}]}],
        "ephemeralContainers": [{"name": "debug", "env": [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "debug-cm", "key": "x"}}}]}],
    }));
    let refs = source_refs(&spec);
    assert_eq!(
        refs.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        [
            SourceId::config_map("debug-cm"),
            SourceId::secret("migrations")
        ]
    );
}

#[test]
fn all_dominates_when_refs_to_one_source_merge() {
    let spec = mk_pod_spec(json!({"containers": [{"name": "app",
        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "shared", "key": "a"}}}]}],
        "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "shared"}}]}],
        "volumes": [{"name": "v", "configMap": {"name": "shared", "items": [{"key": "b", "path": "b"}]}}],
    }));
    let refs = source_refs(&spec);
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].keys, ConsumedKeys::All);
}

#[test]
fn a_source_is_optional_only_if_every_reference_is() {
    let spec = mk_pod_spec(json!({"containers": [{"name": "app", "env": [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "a", "optional": true}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "b"}}},
        {"name": "C", "valueFrom": {"secretKeyRef": {"name": "o", "key": "c", "optional": true}}},
    ]}]}));
    let refs = source_refs(&spec);
    let s = find(&refs, &SourceId::secret("s"));
    assert!(!s.optional);
    assert_eq!(s.keys, keys(&["a", "b"]));
    assert!(find(&refs, &SourceId::secret("o")).optional);
}

#[test]
fn same_name_configmap_and_secret_stay_apart_and_sorted() {
    let spec = mk_pod_spec(json!({"containers": [{"name": "app", "envFrom": [
        {"secretRef": {"name": "app"}}, {"configMapRef": {"name": "app"}}, {"configMapRef": {"name": "aaa"}},
    ]}]}));
    let ids: Vec<_> = source_refs(&spec).into_iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [
            SourceId::config_map("aaa"),
            SourceId::config_map("app"),
            SourceId::secret("app")
        ]
    );
}

#[test]
fn empty_names_are_skipped() {
    let spec = mk_pod_spec(json!({"containers": [{"name": "app",
        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "", "key": "a"}}}]}]}));
    assert!(source_refs(&spec).is_empty());
}

#[test]
fn consumed_keys_intersection() {
    let changed = BTreeSet::from(["b".to_owned()]);
    assert!(ConsumedKeys::All.intersects(&changed));
    assert!(!ConsumedKeys::All.intersects(&BTreeSet::new()));
    assert!(keys(&["a", "b"]).intersects(&changed));
    assert!(!keys(&["a"]).intersects(&changed));
}

/// The volume kube-apiserver's ServiceAccount admission adds to every pod (as a real v1.37 apiserver writes it)
/// is not the app's config; the same ConfigMap mounted by the user is.
#[test]
fn the_service_account_token_volume_is_not_a_source() {
    let admission_volume = json!({"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}});
    let spec = mk_pod_spec(json!({"containers": [{"name": "app"}], "volumes": [
        admission_volume,
        {"name": "conf", "configMap": {"name": "app"}},
    ]}));
    let refs = source_refs(&spec);
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0].id, SourceId::config_map("app"));

    let user_mount = mk_pod_spec(json!({"containers": [{"name": "app"}], "volumes": [
        {"name": "ca", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}},
    ]}));
    assert_eq!(
        source_refs(&user_mount)[0].id,
        SourceId::config_map("kube-root-ca.crt")
    );
}
