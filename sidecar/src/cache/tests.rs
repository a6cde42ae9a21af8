use std::collections::BTreeMap;

use configsync_envelope::KeyRing;

use super::*;

fn mk_source(kind: SourceKind, name: &str, data: &[(&str, &str)]) -> Arc<SourceData> {
    Arc::new(SourceData {
        kind,
        namespace: "default".into(),
        name: name.into(),
        data: data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect(),
    })
}

fn mk_cache(dir: &Path) -> SourceCache {
    SourceCache::new(dir, KeyRing::generate(None))
}

fn outcomes(items: &[ItemLoad]) -> BTreeMap<String, Option<LoadOutcome>> {
    items
        .iter()
        .map(|i| {
            (
                format!("{}:{}", i.kind, i.id),
                i.value.as_ref().err().copied(),
            )
        })
        .collect()
}

#[test]
fn decide_groups_loaded_items_and_drops_rejected_ones() {
    let id = |name: &str, key: &str| ItemId::new("default", name, key).expect("valid id");
    let items = vec![
        ItemLoad {
            kind: SourceKind::Secret,
            id: id("db", "user"),
            value: Ok(Value::from("admin")),
        },
        ItemLoad {
            kind: SourceKind::Secret,
            id: id("db", "password"),
            value: Err(LoadOutcome::Tampered),
        },
        ItemLoad {
            kind: SourceKind::ConfigMap,
            id: id("db", "port"),
            value: Ok(Value::from("5432")),
        },
    ];
    let CacheDecision::Serve(sources) = decide(items) else {
        panic!("usable items must be served");
    };
    assert_eq!(
        sources,
        vec![
            mk_source(SourceKind::ConfigMap, "db", &[("port", "5432")]),
            mk_source(SourceKind::Secret, "db", &[("user", "admin")]),
        ]
    );
}

#[test]
fn decide_with_no_usable_item_publishes_nothing() {
    let id = ItemId::new("default", "db", "password").expect("valid id");
    let items = vec![ItemLoad {
        kind: SourceKind::Secret,
        id,
        value: Err(LoadOutcome::Corrupt),
    }];
    assert_eq!(decide(items), CacheDecision::Nothing);
    assert_eq!(decide(Vec::new()), CacheDecision::Nothing);
}

#[test]
fn save_then_load_round_trips_and_prunes_removed_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = mk_cache(dir.path());
    let secret = mk_source(
        SourceKind::Secret,
        "mysecret",
        &[("username", "admin"), ("password", "1f2d1e2e67df")],
    );
    let config = mk_source(
        SourceKind::ConfigMap,
        "redis-config",
        &[("redis.properties", "maxmemory 2mb\n")],
    );
    cache.save(&[secret.clone(), config.clone()]).expect("save");
    let shrunk = mk_source(SourceKind::Secret, "mysecret", &[("username", "admin")]);
    cache
        .save(&[shrunk.clone(), config.clone()])
        .expect("save again");
    let items = cache.load().expect("load");
    assert!(cache.age(&items).is_some_and(|age| age.as_secs() < 60));
    assert_eq!(decide(items), CacheDecision::Serve(vec![config, shrunk]));
    assert!(
        dir.path()
            .join("secrets/default/mysecret/username.sealed")
            .exists()
    );
    assert!(
        !dir.path()
            .join("secrets/default/mysecret/password.sealed")
            .exists()
    );
}

#[test]
fn a_later_save_seals_only_what_changed_and_removes_what_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = mk_cache(dir.path());
    let kept = mk_source(SourceKind::ConfigMap, "kept", &[("k", "1")]);
    let changed = mk_source(
        SourceKind::ConfigMap,
        "changed",
        &[("k", "1"), ("gone", "x")],
    );
    let left = mk_source(SourceKind::Secret, "left", &[("k", "1")]);
    cache.save(&[kept.clone(), changed, left]).expect("save");
    let item = |kind: &str, name: &str, key: &str| {
        dir.path()
            .join(format!("{kind}/default/{name}/{key}.sealed"))
    };
    // Taken away behind the cache's back: a save that rewrote everything would bring it back.
    std::fs::remove_file(item("configmaps", "kept", "k")).expect("remove");
    let changed = mk_source(SourceKind::ConfigMap, "changed", &[("k", "2")]);
    cache
        .save(&[kept.clone(), changed.clone()])
        .expect("save again");
    assert!(
        !item("configmaps", "kept", "k").exists(),
        "the unchanged object (the same Arc) was not sealed again"
    );
    assert!(
        !item("configmaps", "changed", "gone").exists(),
        "a key that left"
    );
    assert!(
        !item("secrets", "left", "k").exists(),
        "an object that left"
    );
    assert_eq!(
        decide(cache.load().expect("load")),
        CacheDecision::Serve(vec![changed.clone()])
    );
    // Another process (no memory) writes everything again.
    let restarted = SourceCache {
        saved: Arc::default(),
        ..cache.clone()
    };
    restarted
        .save(&[kept.clone(), changed.clone()])
        .expect("save");
    assert_eq!(
        decide(restarted.load().expect("load")),
        CacheDecision::Serve(vec![changed, kept])
    );
}

#[test]
fn mounted_sources_without_namespace_are_not_cached() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = mk_cache(dir.path());
    let mut mounted = mk_source(SourceKind::ConfigMap, "config", &[("a", "b")]);
    Arc::make_mut(&mut mounted).namespace.clear();
    cache.save(&[mounted]).expect("save");
    assert_eq!(decide(cache.load().expect("load")), CacheDecision::Nothing);
}

#[test]
fn bad_items_are_reported_by_outcome_and_never_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = mk_cache(dir.path());
    let secret = mk_source(
        SourceKind::Secret,
        "mysecret",
        &[
            ("good", "ok"),
            ("flipped", "xxxx"),
            ("truncated", "yyyy"),
            ("foreign", "zzzz"),
            ("moved", "wwww"),
        ],
    );
    cache.save(&[secret]).expect("save");
    let path = |key: &str| {
        dir.path()
            .join(format!("secrets/default/mysecret/{key}.sealed"))
    };
    let mut flipped = std::fs::read(path("flipped")).expect("read");
    if let Some(last) = flipped.last_mut() {
        *last ^= 1;
    }
    std::fs::write(path("flipped"), flipped).expect("write");
    std::fs::write(path("truncated"), b"csen\x01").expect("write");
    std::fs::write(path("foreign"), b"plain text, not sealed").expect("write");
    std::fs::copy(path("good"), path("moved")).expect("copy");
    let items = cache.load().expect("load");
    let seen = outcomes(&items);
    let expect = |key: &str| {
        seen.get(&format!("secret:default/mysecret/{key}"))
            .copied()
            .flatten()
    };
    assert_eq!(expect("good"), None);
    assert_eq!(expect("flipped"), Some(LoadOutcome::Tampered));
    assert_eq!(expect("truncated"), Some(LoadOutcome::Corrupt));
    assert_eq!(expect("foreign"), Some(LoadOutcome::Corrupt));
    assert_eq!(expect("moved"), Some(LoadOutcome::Tampered));
    assert_eq!(
        decide(items),
        CacheDecision::Serve(vec![mk_source(
            SourceKind::Secret,
            "mysecret",
            &[("good", "ok")]
        )])
    );
}

#[test]
fn items_under_an_unknown_key_are_reported_and_not_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = mk_source(
        SourceKind::Secret,
        "mysecret",
        &[("password", "1f2d1e2e67df")],
    );
    mk_cache(dir.path()).save(&[secret]).expect("save");
    let other_ring = KeyRing::generate(Some(configsync_envelope::KeyId::new("other").expect("id")));
    let items = SourceCache::new(dir.path(), other_ring)
        .load()
        .expect("load");
    assert_eq!(
        outcomes(&items).into_values().collect::<Vec<_>>(),
        vec![Some(LoadOutcome::UnknownKey)]
    );
    assert_eq!(decide(items), CacheDecision::Nothing);
}

#[test]
fn nothing_on_disk_contains_the_plaintext() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = mk_source(
        SourceKind::Secret,
        "mysecret",
        &[("password", "1f2d1e2e67df")],
    );
    mk_cache(dir.path()).save(&[secret]).expect("save");
    let sealed =
        std::fs::read(dir.path().join("secrets/default/mysecret/password.sealed")).expect("read");
    assert!(!sealed.windows(12).any(|w| w == b"1f2d1e2e67df"));
}
