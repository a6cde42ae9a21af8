use configsync_crds::WorkloadKind;
use configsync_crds::annotations as keys;
use k8s_openapi::ByteString;
use serde_json::json;

use super::*;
use crate::fixtures::{mk_deployment, mk_pod_spec};
use crate::hash::workload_hash;
use crate::workload::{Workload, follow};

fn mk_config_map(name: &str, data: &[(&str, &str)], annotations: &[(&str, &str)]) -> ConfigMap {
    let data: serde_json::Map<_, _> = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let annotations: serde_json::Map<_, _> = annotations
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    serde_json::from_value(
        json!({"metadata": {"name": name, "namespace": "ns", "resourceVersion": "7",
        "labels": {"team": "a"}, "annotations": annotations}, "data": data}),
    )
    .unwrap()
}

fn keys_of(change: &Change) -> Vec<&str> {
    match change {
        Change::Keys(keys) => keys.iter().map(String::as_str).collect(),
        other => panic!("expected key changes, got {other:?}"),
    }
}

#[test]
fn updates_report_exactly_the_changed_keys() {
    let mut cache = SourceCache::default();
    let created = cache.apply_config_map(&mk_config_map("cm", &[("a", "1"), ("b", "2")], &[]));
    assert_eq!(
        (created.trigger, created.change),
        (Trigger::Content, Change::Created)
    );
    let modified = cache.apply_config_map(&mk_config_map(
        "cm",
        &[("a", "1"), ("b", "3"), ("c", "4")],
        &[],
    ));
    assert_eq!(modified.trigger, Trigger::Content);
    assert_eq!(keys_of(&modified.change), ["b", "c"]);
    let entry = cache.get("ns", &SourceId::config_map("cm")).unwrap();
    assert_eq!(entry.resource_version.as_deref(), Some("7"));
    assert_eq!(entry.labels.get("team").map(String::as_str), Some("a"));
}

#[test]
fn metadata_only_updates_trigger_nothing() {
    let mut cache = SourceCache::default();
    let _ = cache.apply_config_map(&mk_config_map("cm", &[("a", "1")], &[]));
    let relabelled = cache.apply_config_map(&mk_config_map("cm", &[("a", "1")], &[("note", "x")]));
    assert_eq!(relabelled.trigger, Trigger::None);
    assert!(relabelled.affected(&RefIndex::default()).is_empty());
}

#[test]
fn ignored_sources_never_trigger_and_toggles_rebaseline() {
    let mut cache = SourceCache::default();
    let ignore = [(keys::IGNORE, "true")];
    assert_eq!(
        cache
            .apply_config_map(&mk_config_map("cm", &[("a", "1")], &ignore))
            .trigger,
        Trigger::Rebaseline
    );
    assert_eq!(
        cache
            .apply_config_map(&mk_config_map("cm", &[("a", "2")], &ignore))
            .trigger,
        Trigger::None
    );
    assert!(matches!(
        cache.namespace("ns").content(&SourceId::config_map("cm")),
        SourceContent::Ignored
    ));
    assert_eq!(
        cache
            .apply_config_map(&mk_config_map("cm", &[("a", "3")], &[]))
            .trigger,
        Trigger::Rebaseline
    );
    assert_eq!(
        cache
            .apply_config_map(&mk_config_map("cm", &[("a", "4")], &[]))
            .trigger,
        Trigger::Content
    );
    let _ = cache.apply_config_map(&mk_config_map("cm", &[("a", "4")], &ignore));
    assert_eq!(
        cache.delete("ns", &SourceId::config_map("cm")).trigger,
        Trigger::Rebaseline
    );
}

#[test]
fn secret_values_are_reduced_to_digests() {
    let mut cache = SourceCache::default();
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "db", "namespace": "ns"},
        "data": {"password": ByteString(b"hunter2".to_vec())}}))
        .unwrap();
    let _ = cache.apply_secret(&secret);
    let entry = cache.get("ns", &SourceId::secret("db")).unwrap();
    assert!(!format!("{entry:?}").contains("hunter2"));
    assert_eq!(
        entry.digests,
        KeyDigests::from_entries([("password", b"hunter2".as_slice())])
    );
}

#[test]
fn delete_and_recreate_flow_reaches_consumers_and_hashes_back_to_the_same_value() {
    let mut cache = SourceCache::default();
    let mut index = RefIndex::default();
    let web = mk_deployment(
        "ns",
        "web",
        &[(keys::AUTO, "true")],
        mk_pod_spec(&[], &[("cm", "a")]),
    );
    let followed = follow(&web, false).unwrap().unwrap();
    index.apply_workload(web.workload_ref(), &followed.sources);
    let _ = cache.apply_config_map(&mk_config_map("cm", &[("a", "1"), ("other", "x")], &[]));
    let before = workload_hash(&followed.sources, &cache.namespace("ns")).unwrap();

    let only_other =
        cache.apply_config_map(&mk_config_map("cm", &[("a", "1"), ("other", "y")], &[]));
    assert!(
        only_other.affected(&index).is_empty(),
        "unconsumed key: nobody reconciled"
    );

    let deleted = cache.delete("ns", &SourceId::config_map("cm"));
    assert_eq!(
        deleted.affected(&index),
        BTreeSet::from([WorkloadRef::new(WorkloadKind::Deployment, "ns", "web")])
    );
    assert!(
        workload_hash(&followed.sources, &cache.namespace("ns")).is_err(),
        "required and missing"
    );
    assert!(cache.is_empty());

    let recreated =
        cache.apply_config_map(&mk_config_map("cm", &[("a", "1"), ("other", "z")], &[]));
    assert_eq!(recreated.affected(&index).len(), 1);
    assert_eq!(
        workload_hash(&followed.sources, &cache.namespace("ns")).unwrap(),
        before
    );
}

#[test]
fn namespaces_are_separate_and_catalog_lists_labels() {
    let mut cache = SourceCache::default();
    let _ = cache.apply_config_map(&mk_config_map("cm", &[("a", "1")], &[]));
    assert!(matches!(
        cache
            .namespace("other")
            .content(&SourceId::config_map("cm")),
        SourceContent::Missing
    ));
    let catalog: Vec<_> = cache
        .namespace("ns")
        .catalog()
        .map(|(id, labels)| (id.clone(), labels.len()))
        .collect();
    assert_eq!(catalog, [(SourceId::config_map("cm"), 1)]);
    assert_eq!(cache.len(), 1);
    let gone = cache.delete("ns", &SourceId::config_map("never-seen"));
    assert_eq!(gone.trigger, Trigger::None);
}

#[test]
fn reloader_search_counts_only_matched_sources() {
    let mut cache = SourceCache::default();
    let matched = [(keys::reloader::MATCH, "true")];
    let _ = cache.apply_config_map(&mk_config_map("on", &[("a", "1")], &matched));
    let _ = cache.apply_config_map(&mk_config_map("off", &[("a", "1")], &[]));
    let spec = mk_pod_spec(&["on", "off"], &[]);
    let search = mk_deployment("ns", "s", &[(keys::reloader::SEARCH, "true")], spec.clone());
    let auto = mk_deployment("ns", "a", &[(keys::reloader::AUTO, "true")], spec);
    let hashes = |cache: &SourceCache| {
        [&search, &auto].map(|w| {
            let followed = follow(w, false).unwrap().unwrap();
            let lookup = cache.namespace("ns").for_policy(&followed.policy);
            workload_hash(&followed.sources, &lookup).unwrap()
        })
    };
    let [search_before, auto_before] = hashes(&cache);

    // A source without `match` counts for nothing under `search`, and fully under `auto`.
    let _ = cache.apply_config_map(&mk_config_map("off", &[("a", "2")], &[]));
    let [search_now, auto_now] = hashes(&cache);
    assert_eq!(search_now, search_before);
    assert_ne!(auto_now, auto_before);

    // A matched source counts under both.
    let _ = cache.apply_config_map(&mk_config_map("on", &[("a", "2")], &matched));
    let [search_later, auto_later] = hashes(&cache);
    assert_ne!(search_later, search_now);
    assert_ne!(auto_later, auto_now);

    // Adding or removing `match` alone rebaselines (records, never rolls), as Reloader hashes data only.
    let flipped = cache.apply_config_map(&mk_config_map("off", &[("a", "2")], &matched));
    assert_eq!(flipped.trigger, Trigger::Rebaseline);
    let changed = cache.apply_config_map(&mk_config_map("off", &[("a", "3")], &matched));
    assert_eq!(changed.trigger, Trigger::Content);
}
