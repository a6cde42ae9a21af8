use k8s_openapi::ByteString;
use kube::api::ObjectMeta;

use super::*;
use crate::source::snapshot;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some("prod".into()),
        ..ObjectMeta::default()
    }
}

fn mk_source(name: &str, value: &str) -> SourceData {
    let data = BTreeMap::from([("k".to_string(), Value::from(value))]);
    SourceData {
        kind: SourceKind::ConfigMap,
        namespace: "prod".into(),
        name: name.into(),
        data,
    }
}

#[test]
fn configmaps_and_secrets_become_raw_bytes() {
    let cm = ConfigMap {
        metadata: meta("redis-config"),
        data: Some(BTreeMap::from([(
            "redis.properties".to_string(),
            "maxmemory 2mb".to_string(),
        )])),
        binary_data: Some(BTreeMap::from([(
            "blob".to_string(),
            ByteString(vec![0, 255]),
        )])),
        ..ConfigMap::default()
    };
    let source = cm.to_source();
    assert_eq!(
        (source.kind, source.describe()),
        (
            SourceKind::ConfigMap,
            "configmap/prod/redis-config".to_string()
        )
    );
    assert_eq!(
        source.data.get("redis.properties").map(Value::as_bytes),
        Some(&b"maxmemory 2mb"[..])
    );
    assert_eq!(
        source.data.get("blob").map(Value::as_bytes),
        Some(&[0u8, 255][..])
    );
    let secret = Secret {
        metadata: meta("db"),
        data: Some(BTreeMap::from([(
            "password".to_string(),
            ByteString(b"pw".to_vec()),
        )])),
        ..Secret::default()
    };
    let source = secret.to_source();
    assert_eq!(source.kind, SourceKind::Secret);
    assert_eq!(
        source.data.get("password").map(Value::as_bytes),
        Some(&b"pw"[..])
    );
}

#[test]
fn selections_use_least_privilege_selectors() {
    let by_name = Selection::Name("redis-config".into());
    assert_eq!(
        by_name.watcher_config().field_selector.as_deref(),
        Some("metadata.name=redis-config")
    );
    assert_eq!(
        by_name.list_params().field_selector.as_deref(),
        Some("metadata.name=redis-config")
    );
    let by_labels = Selection::Labels("app=web".into());
    assert_eq!(
        by_labels.watcher_config().label_selector.as_deref(),
        Some("app=web")
    );
    assert_eq!(by_labels.watcher_config().field_selector, None);
}

#[test]
fn snapshots_only_after_a_complete_list() {
    let mut state = WatchState::default();
    assert_eq!(state.apply(watcher::Event::Init), None);
    assert_eq!(
        state.apply(watcher::Event::InitApply(mk_source("a", "1"))),
        None
    );
    assert_eq!(
        state.apply(watcher::Event::InitApply(mk_source("b", "1"))),
        None
    );
    assert_eq!(
        state.apply(watcher::Event::InitDone),
        Some(snapshot([mk_source("a", "1"), mk_source("b", "1")]))
    );
    assert_eq!(
        state.apply(watcher::Event::Apply(mk_source("a", "2"))),
        Some(snapshot([mk_source("a", "2"), mk_source("b", "1")]))
    );
    assert_eq!(
        state.apply(watcher::Event::Delete(mk_source("b", "1"))),
        Some(snapshot([mk_source("a", "2")]))
    );
    // A re-list replaces the set at once: nothing is published half-way, deletions during the outage are seen.
    assert_eq!(state.apply(watcher::Event::Init), None);
    assert_eq!(
        state.apply(watcher::Event::InitApply(mk_source("c", "1"))),
        None
    );
    assert_eq!(
        state.apply(watcher::Event::InitDone),
        Some(snapshot([mk_source("c", "1")]))
    );
}

#[test]
fn a_watch_that_missed_an_update_is_detected_on_the_second_resync() {
    let mut state = WatchState::default();
    state.apply(watcher::Event::Init);
    state.apply(watcher::Event::InitApply(mk_source("a", "1")));
    state.apply(watcher::Event::InitDone);
    let mut suspect = None;
    assert_eq!(
        state.check(snapshot([mk_source("a", "1")]), &mut suspect),
        Resync::Current
    );
    assert_eq!(
        state.check(snapshot([mk_source("a", "2")]), &mut suspect),
        Resync::Current,
        "may be an event in flight"
    );
    assert_eq!(
        state.check(snapshot([mk_source("a", "2")]), &mut suspect),
        Resync::Stale(snapshot([mk_source("a", "2")]))
    );
    state.apply(watcher::Event::Apply(mk_source("a", "3")));
    assert_eq!(
        state.check(snapshot([mk_source("a", "4")]), &mut suspect),
        Resync::Current
    );
    assert_eq!(
        state.check(snapshot([mk_source("a", "3")]), &mut suspect),
        Resync::Current,
        "caught up: suspicion cleared"
    );
    assert_eq!(
        state.check(snapshot([mk_source("a", "4")]), &mut suspect),
        Resync::Current
    );
}

#[test]
fn same_named_objects_of_two_namespaces_are_held_apart() {
    let in_namespace = |namespace: &str, value: &str| SourceData {
        namespace: namespace.into(),
        ..mk_source("dashboards", value)
    };
    let mut state = WatchState::default();
    state.apply(watcher::Event::Init);
    state.apply(watcher::Event::InitApply(in_namespace("team-b", "b")));
    state.apply(watcher::Event::InitApply(in_namespace("team-a", "a")));
    assert_eq!(
        state.apply(watcher::Event::InitDone),
        Some(snapshot([
            in_namespace("team-a", "a"),
            in_namespace("team-b", "b")
        ]))
    );
    assert_eq!(
        state.apply(watcher::Event::Delete(in_namespace("team-a", "a"))),
        Some(snapshot([in_namespace("team-b", "b")])),
        "deleting team-a's object leaves team-b's"
    );
    let mut suspect = None;
    assert_eq!(
        state.check(snapshot([in_namespace("team-b", "b")]), &mut suspect),
        Resync::Current
    );
}

#[test]
fn the_selector_watches_the_chosen_kinds() {
    let labels = Selection::Labels("grafana_dashboard=1".into());
    let kinds = |choice: &str| {
        let choice: Kinds = choice.parse().expect("valid");
        selections(&[], &[], Some("grafana_dashboard=1"), choice)
    };
    assert_eq!(
        kinds("configmap"),
        vec![(SourceKind::ConfigMap, labels.clone())]
    );
    assert_eq!(kinds("Secrets"), vec![(SourceKind::Secret, labels.clone())]);
    assert_eq!(
        kinds("both"),
        vec![
            (SourceKind::ConfigMap, labels.clone()),
            (SourceKind::Secret, labels)
        ]
    );
    assert!("pods".parse::<Kinds>().is_err());
    let named = selections(&["app".into()], &["db".into()], None, Kinds::Secrets);
    assert_eq!(
        named,
        vec![
            (SourceKind::ConfigMap, Selection::Name("app".into())),
            (SourceKind::Secret, Selection::Name("db".into()))
        ],
        "the kind choice applies to the selector only"
    );
}

#[test]
fn an_object_that_comes_again_unchanged_keeps_its_arc() {
    let mut state = WatchState::default();
    state.apply(watcher::Event::Init);
    state.apply(watcher::Event::InitApply(mk_source("a", "1")));
    state.apply(watcher::Event::InitApply(mk_source("b", "1")));
    let first = state.apply(watcher::Event::InitDone).expect("a snapshot");
    let changed = state
        .apply(watcher::Event::Apply(mk_source("b", "2")))
        .expect("a snapshot");
    assert!(Arc::ptr_eq(&first[0], &changed[0]), "a is untouched");
    assert!(!Arc::ptr_eq(&first[1], &changed[1]), "b changed");
    state.apply(watcher::Event::Init);
    state.apply(watcher::Event::InitApply(mk_source("a", "1")));
    state.apply(watcher::Event::InitApply(mk_source("b", "3")));
    let relisted = state.apply(watcher::Event::InitDone).expect("a snapshot");
    assert!(
        Arc::ptr_eq(&first[0], &relisted[0]),
        "a re-list of the same content keeps the object"
    );
    assert_eq!(relisted[1], Arc::new(mk_source("b", "3")));
}
