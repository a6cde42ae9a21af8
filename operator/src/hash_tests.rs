use k8s_openapi::ByteString;
use serde_json::json;

use super::*;

fn digests(entries: &[(&str, &str)]) -> KeyDigests {
    KeyDigests::from_entries(entries.iter().map(|(k, v)| (*k, v.as_bytes())))
}

fn all(id: SourceId) -> SourceRef {
    SourceRef {
        id,
        keys: ConsumedKeys::All,
        optional: false,
        env_prefixes: BTreeSet::new(),
    }
}

fn some(id: SourceId, keys: &[&str]) -> SourceRef {
    let keys = ConsumedKeys::Keys(keys.iter().map(|k| (*k).to_owned()).collect());
    SourceRef {
        id,
        keys,
        optional: false,
        env_prefixes: BTreeSet::new(),
    }
}

fn optional(mut r: SourceRef) -> SourceRef {
    r.optional = true;
    r
}

fn store(entries: Vec<(SourceId, KeyDigests)>) -> BTreeMap<SourceId, KeyDigests> {
    entries.into_iter().collect()
}

fn hash(refs: &[SourceRef], lookup: &BTreeMap<SourceId, KeyDigests>) -> ConfigHash {
    workload_hash(refs, lookup).unwrap()
}

// The golden values below were computed by an independent implementation of the documented encoding
// (Python: struct.pack('>Q', len) prefixes, hashlib.sha256). A change here is a format change.

#[test]
fn golden_encoding_bytes() {
    let id = SourceId::config_map("cm");
    let d = digests(&[("k", "v")]);
    let mut bytes = Vec::new();
    encode(&mut bytes, [(&id, &ConsumedKeys::All, Some(&d))]);
    let expected = concat!(
        "000000000000001a",
        "636f6e66696773796e632e6465762f636f6e6669672d68617368", // lp(domain tag)
        "0000000000000002",
        "7631",             // lp("v1")
        "0000000000000001", // one source
        "0000000000000009",
        "436f6e6669674d6170",
        "0000000000000002",
        "636d", // lp(kind) lp(name)
        "01",
        "0000000000000001", // present, one key
        "0000000000000001",
        "6b", // lp("k")
        "01",
        "0000000000000020", // present, lp(digest)
        "4c94485e0c21ae6c41ce1dfe7b6bfaceea5ab68e40a2476f50208e526f506080", // sha256("v")
    );
    assert_eq!(to_hex(&bytes), expected);
}

#[test]
fn golden_hashes() {
    let lookup = store(vec![
        (
            SourceId::config_map("app"),
            digests(&[("a", "1"), ("b", "2")]),
        ),
        (
            SourceId::secret("db"),
            digests(&[("password", "hunter2"), ("other", "x")]),
        ),
    ]);
    let refs = [
        some(SourceId::secret("db"), &["password", "missing"]),
        optional(all(SourceId::config_map("opt"))),
        all(SourceId::config_map("app")),
    ];
    assert_eq!(
        hash(&refs, &lookup).as_str(),
        "v1:481acfc83848f51699d16e49401ca969b5c1fad3d9edc492e9b41012e6038939"
    );
    assert_eq!(
        hash(&[], &lookup).as_str(),
        "v1:165dd1301bec8a917f31f6375cb2ad5211d4590eb35d1a46b8f37cbb42b3f578"
    );
    let single = store(vec![(SourceId::config_map("cm"), digests(&[("k", "v")]))]);
    assert_eq!(
        source_hash(
            &SourceId::config_map("cm"),
            &ConsumedKeys::All,
            single.get(&SourceId::config_map("cm"))
        )
        .as_str(),
        "v1:3b192dec93ea5c4cfcd7b8b1808ce89bb8e83f502b6620aa434bf5e09af45c3f"
    );
}

#[test]
fn reloader_join_collision_does_not_collide_here() {
    // Reloader joins sorted "k=v" with ';': both of these become "a=1;b=2".
    let id = SourceId::config_map("cm");
    let one_key = store(vec![(id.clone(), digests(&[("a", "1;b=2")]))]);
    let two_keys = store(vec![(id.clone(), digests(&[("a", "1"), ("b", "2")]))]);
    assert_ne!(
        hash(&[all(id.clone())], &one_key),
        hash(&[all(id.clone())], &two_keys)
    );
    // Shifting bytes between key and value, or between name and key, changes the hash too.
    let shifted = store(vec![(id.clone(), digests(&[("a=1;b", "2")]))]);
    assert_ne!(
        hash(&[all(id.clone())], &shifted),
        hash(&[all(id)], &two_keys)
    );
}

#[test]
fn unconsumed_key_change_leaves_the_workload_hash_alone() {
    let id = SourceId::config_map("jumbo");
    let before = store(vec![(
        id.clone(),
        digests(&[("mine", "1"), ("theirs", "a")]),
    )]);
    let after = store(vec![(
        id.clone(),
        digests(&[("mine", "1"), ("theirs", "b"), ("new", "c")]),
    )]);
    let refs = [some(id.clone(), &["mine"])];
    assert_eq!(hash(&refs, &before), hash(&refs, &after));
    let changed = store(vec![(
        id.clone(),
        digests(&[("mine", "2"), ("theirs", "a")]),
    )]);
    assert_ne!(hash(&refs, &before), hash(&refs, &changed));
    // A workload that consumes all keys sees every change.
    assert_ne!(hash(&[all(id.clone())], &before), hash(&[all(id)], &after));
}

#[test]
fn binary_data_counts() {
    let mk = |bytes: &[u8]| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": "cm"}, "data": {"t": "text"}}))
            .map(|mut cm: ConfigMap| {
                cm.binary_data = Some(BTreeMap::from([(
                    "bin".to_owned(),
                    ByteString(bytes.to_vec()),
                )]));
                cm
            })
            .unwrap()
    };
    let (before, after) = (
        KeyDigests::from_config_map(&mk(&[0, 1])),
        KeyDigests::from_config_map(&mk(&[0, 2])),
    );
    assert_eq!(before.keys().collect::<Vec<_>>(), ["bin", "t"]);
    let id = SourceId::config_map("cm");
    assert_ne!(
        hash(&[all(id.clone())], &store(vec![(id.clone(), before)])),
        { hash(&[all(id.clone())], &store(vec![(id, after)])) }
    );
}

#[test]
fn missing_optional_source_hashes_as_absent_and_its_creation_changes_the_hash() {
    let id = SourceId::secret("later");
    let refs = [optional(all(id.clone()))];
    let absent = hash(&refs, &store(vec![]));
    let created_empty = hash(&refs, &store(vec![(id.clone(), KeyDigests::default())]));
    let created = hash(&refs, &store(vec![(id, digests(&[("k", "v")]))]));
    assert_ne!(absent, created_empty);
    assert_ne!(absent, created);
    assert_ne!(created_empty, created);
}

#[test]
fn missing_required_sources_are_an_error_naming_them() {
    let refs = [
        all(SourceId::secret("db")),
        all(SourceId::config_map("app")),
        all(SourceId::config_map("ok")),
    ];
    let lookup = store(vec![(SourceId::config_map("ok"), KeyDigests::default())]);
    let err = workload_hash(&refs, &lookup).unwrap_err();
    assert_eq!(
        err,
        Error::HashWorkload {
            missing: vec![SourceId::config_map("app"), SourceId::secret("db")]
        }
    );
    assert_eq!(
        err.to_string(),
        "required sources are missing: ConfigMap app, Secret db"
    );
}

#[test]
fn key_absent_and_key_empty_differ() {
    let id = SourceId::config_map("cm");
    let refs = [some(id.clone(), &["k"])];
    let absent = hash(&refs, &store(vec![(id.clone(), digests(&[]))]));
    let empty = hash(&refs, &store(vec![(id, digests(&[("k", "")]))]));
    assert_ne!(absent, empty);
}

#[test]
fn delete_and_recreate_with_same_content_gives_same_hash() {
    let secret = |v: &str| -> Secret {
        serde_json::from_value(
            json!({"metadata": {"name": "db", "uid": "u1", "resourceVersion": "1"},
            "data": {"password": ByteString(v.as_bytes().to_vec())}}),
        )
        .unwrap()
    };
    let original = KeyDigests::from_secret(&secret("s3cret"));
    let mut recreated_obj = secret("s3cret");
    recreated_obj.metadata.uid = Some("u2".into());
    recreated_obj.metadata.resource_version = Some("99".into());
    let recreated = KeyDigests::from_secret(&recreated_obj);
    let rotated = KeyDigests::from_secret(&secret("n3w"));
    let id = SourceId::secret("db");
    let refs = [all(id.clone())];
    let h = |d: KeyDigests| hash(&refs, &store(vec![(id.clone(), d)]));
    assert_eq!(h(original.clone()), h(recreated));
    assert_ne!(h(original), h(rotated));
}

#[test]
fn secret_string_data_overlays_data() {
    let secret: Secret = serde_json::from_value(json!({"metadata": {"name": "s"},
        "data": {"a": "b2xk", "b": "Yg=="}, "stringData": {"a": "new"}}))
    .unwrap();
    assert_eq!(
        KeyDigests::from_secret(&secret),
        digests(&[("a", "new"), ("b", "b")])
    );
}

#[test]
fn order_of_refs_does_not_matter_and_kinds_stay_apart() {
    let lookup = store(vec![
        (SourceId::config_map("x"), digests(&[("k", "v")])),
        (SourceId::secret("x"), digests(&[("k", "v")])),
    ]);
    let (cm, secret) = (all(SourceId::config_map("x")), all(SourceId::secret("x")));
    assert_eq!(
        hash(&[cm.clone(), secret.clone()], &lookup),
        hash(&[secret.clone(), cm.clone()], &lookup)
    );
    assert_ne!(hash(&[cm], &lookup), hash(&[secret], &lookup));
}

#[test]
fn ignored_sources_count_for_nothing() {
    struct IgnoreNoisy(BTreeMap<SourceId, KeyDigests>);
    impl DigestLookup for IgnoreNoisy {
        fn content(&self, id: &SourceId) -> SourceContent<'_> {
            if id.name == "noisy" {
                SourceContent::Ignored
            } else {
                self.0.content(id)
            }
        }
    }
    let base = store(vec![(SourceId::config_map("app"), digests(&[("k", "v")]))]);
    let with_noisy = [
        all(SourceId::config_map("app")),
        all(SourceId::config_map("noisy")),
    ];
    let without = [all(SourceId::config_map("app"))];
    assert_eq!(
        workload_hash(&with_noisy, &IgnoreNoisy(base.clone())),
        workload_hash(&without, &base)
    );
}

#[test]
fn changed_keys_lists_added_removed_and_modified() {
    let old = digests(&[("same", "1"), ("mod", "a"), ("gone", "x")]);
    let new = digests(&[("same", "1"), ("mod", "b"), ("added", "y")]);
    let changed: Vec<_> = changed_keys(Some(&old), Some(&new)).into_iter().collect();
    assert_eq!(changed, ["added", "gone", "mod"]);
    let created: Vec<_> = changed_keys(None, Some(&new)).into_iter().collect();
    assert_eq!(created, ["added", "mod", "same"]);
    assert!(changed_keys(Some(&old), Some(&old)).is_empty());
}

#[test]
fn short_hash_and_debug_reveal_little() {
    let h = ConfigHash("v1:0123456789abcdef".into());
    assert_eq!(h.short(), "0123456789ab");
    let debug = format!("{:?}", Digest::of(b"hunter2"));
    assert_eq!(debug.len(), "Digest(01234567…)".len(), "{debug}");
}

#[test]
fn duplicate_refs_are_merged_before_hashing() {
    let id = SourceId::config_map("cm");
    let lookup = store(vec![(id.clone(), digests(&[("a", "1"), ("b", "2")]))]);
    let split = [some(id.clone(), &["a"]), some(id.clone(), &["b"])];
    assert_eq!(
        hash(&split, &lookup),
        hash(&[some(id, &["a", "b"])], &lookup)
    );
}

#[test]
fn encoding_is_injective_over_small_tricky_contents() {
    // Every map with up to two keys from a tricky alphabet, and values from the same alphabet, consumed
    // whole or by key: distinct contents must give distinct encodings (and so distinct hashes).
    let alphabet = ["", "a", "b", "=", ";", "a=b", "a;b", "\0"];
    let mut contents: Vec<Vec<(&str, &str)>> = vec![vec![]];
    for k in alphabet {
        for v in alphabet {
            contents.push(vec![(k, v)]);
            for k2 in alphabet.iter().filter(|k2| **k2 > k) {
                for v2 in alphabet {
                    contents.push(vec![(k, v), (*k2, v2)]);
                }
            }
        }
    }
    let id = SourceId::config_map("cm");
    let mut seen = std::collections::HashMap::new();
    for content in &contents {
        let d = digests(content);
        let mut bytes = Vec::new();
        encode(&mut bytes, [(&id, &ConsumedKeys::All, Some(&d))]);
        if let Some(previous) = seen.insert(bytes, content) {
            panic!("{previous:?} and {content:?} encode alike");
        }
    }
    assert_eq!(seen.len(), contents.len());
    assert!(contents.len() > 1500, "{}", contents.len());
    // Control: Reloader's sorted "k=v" joined with ';' does collide on the same set.
    let reloader = |content: &Vec<(&str, &str)>| {
        let mut pairs: Vec<String> = content.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.sort();
        pairs.join(";")
    };
    let distinct: std::collections::HashSet<String> = contents.iter().map(reloader).collect();
    assert!(
        distinct.len() < contents.len(),
        "the control should collide"
    );
}

#[test]
fn source_hash_counts_only_the_given_keys() {
    let id = SourceId::config_map("cm");
    let before = digests(&[("a", "1"), ("b", "2")]);
    let after = digests(&[("a", "1"), ("b", "3")]);
    let only_a = ConsumedKeys::one("a");
    assert_eq!(
        source_hash(&id, &only_a, Some(&before)),
        source_hash(&id, &only_a, Some(&after))
    );
    assert_ne!(
        source_hash(&id, &ConsumedKeys::All, Some(&before)),
        source_hash(&id, &ConsumedKeys::All, Some(&after))
    );
    // One source's hash equals the workload hash of a workload reading just that source.
    let lookup = store(vec![(id.clone(), before.clone())]);
    assert_eq!(
        source_hash(&id, &ConsumedKeys::All, Some(&before)),
        hash(&[all(id)], &lookup)
    );
}

#[test]
fn buffered_hashing_equals_hashing_the_whole_encoding() {
    // Long keys (past the 512-byte buffer), many short ones, and a key subset with absent keys in between.
    let long = "k".repeat(700);
    let mut entries: Vec<(String, String)> = (0..300)
        .map(|i| (format!("key-{i:03}"), i.to_string()))
        .collect();
    entries.push((long.clone(), "long".into()));
    let d = KeyDigests::from_entries(entries.iter().map(|(k, v)| (k.as_str(), v.as_bytes())));
    let id = SourceId::config_map("cm");
    let subset = ConsumedKeys::Keys(
        [
            "absent",
            "key-000",
            "key-150",
            "key-1500",
            long.as_str(),
            "zzz",
        ]
        .iter()
        .map(|k| (*k).to_owned())
        .collect(),
    );
    for keys in [ConsumedKeys::All, subset] {
        let mut bytes = Vec::new();
        encode(&mut bytes, [(&id, &keys, Some(&d))]);
        let expected = format!("v1:{}", to_hex(&Sha256::digest(&bytes)));
        assert_eq!(source_hash(&id, &keys, Some(&d)).as_str(), expected);
    }
}

#[test]
fn later_entries_win_and_keys_come_out_sorted() {
    let d = KeyDigests::from_entries([
        ("b", b"1".as_slice()),
        ("a", b"2".as_slice()),
        ("b", b"3".as_slice()),
    ]);
    assert_eq!(d.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(d.get("b"), Some(&Digest::of(b"3")));
    assert_eq!(d.get("a"), Some(&Digest::of(b"2")));
    assert_eq!(d.get("c"), None);
    assert_eq!(d.len(), 2);
}

#[test]
fn template_fingerprint_ignores_only_the_config_hash_stamp() {
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    let template = |annotations: serde_json::Value| -> PodTemplateSpec {
        serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "web"}, "annotations": annotations},
            "spec": {"containers": [{"name": "c", "image": "i:1"}]},
        }))
        .unwrap()
    };
    let bare = template_fingerprint(&template(serde_json::json!({})));
    let stamped = template_fingerprint(&template(
        serde_json::json!({configsync_crds::annotations::CONFIG_HASH: "v1:aa"}),
    ));
    let checksum = template_fingerprint(&template(serde_json::json!({"checksum/config": "x"})));
    assert!(bare.starts_with("t1:") && bare.len() == 35, "{bare}");
    assert_eq!(
        bare, stamped,
        "configsync's own stamp is not someone else's change"
    );
    assert_ne!(bare, checksum, "Helm's checksum/config is");
}
