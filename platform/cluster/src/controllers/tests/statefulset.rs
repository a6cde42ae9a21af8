use super::*;
use crate::controllers::testutil::{mk_pod, ready_pod};
use serde_json::json;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn mk_sts(replicas: i32, extra_spec: serde_json::Value) -> StatefulSet {
    let mut spec = json!({
        "replicas": replicas,
        "serviceName": "db",
        "selector": {"matchLabels": {"app": "db"}},
        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres"}]}}
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra_spec.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({"metadata": {"name": "db", "namespace": "ns", "uid": "uid-db", "generation": 2}, "spec": spec}))
        .unwrap_or_default()
}

fn sts_pod(ordinal: i32, revision: &str, ready: bool) -> Pod {
    let name = format!("db-{ordinal}");
    let mut pod = if ready {
        ready_pod(&name, "uid-db", at(1))
    } else {
        mk_pod(&name, "uid-db")
    };
    pod.labels_mut()
        .insert(CONTROLLER_REVISION_HASH.into(), revision.into());
    pod
}

fn revisions(current: &str, update: &str) -> RevisionNames {
    RevisionNames {
        current: current.into(),
        update: update.into(),
    }
}

/// `kubectl rollout status sts/x` for a RollingUpdate StatefulSet without partition.
fn kubectl_rollout_done(sts: &StatefulSet, status: &StatefulSetStatus) -> bool {
    let replicas = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    status.observed_generation.unwrap_or(0) >= sts.metadata.generation.unwrap_or(0)
        && status.ready_replicas.unwrap_or(0) >= replicas
        && status.update_revision == status.current_revision
}

#[test]
fn ordinals_parse_only_for_this_set() {
    assert_eq!(ordinal("db", "db-0"), Some(0));
    assert_eq!(ordinal("db", "db-12"), Some(12));
    assert_eq!(ordinal("db", "dbx-1"), None);
    assert_eq!(ordinal("db", "db-x"), None);
    assert_eq!(ordinal("db", "db--1"), None);
}

#[test]
fn ordered_ready_creates_one_pod_at_a_time() {
    let sts = mk_sts(3, json!({}));
    let r = revisions("db-v1", "db-v1");
    assert_eq!(
        plan(&sts, &[], &r, at(10)).create,
        vec![(0, "db-v1".to_string())]
    );
    assert!(
        plan(&sts, &[sts_pod(0, "db-v1", false)], &r, at(10))
            .create
            .is_empty()
    );
    assert_eq!(
        plan(&sts, &[sts_pod(0, "db-v1", true)], &r, at(10)).create,
        vec![(1, "db-v1".to_string())]
    );
}

#[test]
fn parallel_creates_all_pods_at_once() {
    let sts = mk_sts(3, json!({"podManagementPolicy": "Parallel"}));
    let created = plan(&sts, &[], &revisions("v", "v"), at(10)).create;
    assert_eq!(
        created.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}

#[test]
fn rolling_update_replaces_pods_in_reverse_ordinal_order() {
    let sts = mk_sts(3, json!({}));
    let r = revisions("db-v1", "db-v2");
    let old = [
        sts_pod(0, "db-v1", true),
        sts_pod(1, "db-v1", true),
        sts_pod(2, "db-v1", true),
    ];
    assert_eq!(
        plan(&sts, &old, &r, at(10)).delete,
        vec!["db-2".to_string()]
    );
    let recreating = [sts_pod(0, "db-v1", true), sts_pod(1, "db-v1", true)];
    let step = plan(&sts, &recreating, &r, at(10));
    assert_eq!(
        (step.create, step.delete),
        (vec![(2, "db-v2".to_string())], vec![])
    );
    let unready = [
        sts_pod(0, "db-v1", true),
        sts_pod(1, "db-v1", true),
        sts_pod(2, "db-v2", false),
    ];
    assert!(
        plan(&sts, &unready, &r, at(10)).delete.is_empty(),
        "waits for the updated pod to be ready"
    );
    let next = [
        sts_pod(0, "db-v1", true),
        sts_pod(1, "db-v1", true),
        sts_pod(2, "db-v2", true),
    ];
    let step = plan(&sts, &next, &r, at(10));
    assert_eq!(step.delete, vec!["db-1".to_string()]);
    assert_eq!(
        (step.status.current_replicas, step.status.updated_replicas),
        (Some(2), Some(1))
    );
    assert!(!kubectl_rollout_done(&sts, &step.status));
}

#[test]
fn finished_rollout_promotes_the_update_revision() {
    let sts = mk_sts(2, json!({}));
    let pods = [sts_pod(0, "db-v2", true), sts_pod(1, "db-v2", true)];
    let step = plan(&sts, &pods, &revisions("db-v1", "db-v2"), at(10));
    assert!(step.create.is_empty() && step.delete.is_empty());
    let status = &step.status;
    assert_eq!(status.current_revision.as_deref(), Some("db-v2"));
    assert_eq!(status.update_revision.as_deref(), Some("db-v2"));
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.current_replicas
        ),
        (2, Some(2), Some(2))
    );
    assert_eq!(
        (
            status.updated_replicas,
            status.available_replicas,
            status.observed_generation
        ),
        (Some(2), Some(2), Some(2))
    );
    assert!(kubectl_rollout_done(&sts, status));
}

#[test]
fn partition_keeps_lower_ordinals_on_the_current_revision() {
    let sts = mk_sts(
        3,
        json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
    );
    let r = revisions("db-v1", "db-v2");
    let pods = [
        sts_pod(0, "db-v1", true),
        sts_pod(1, "db-v1", true),
        sts_pod(2, "db-v2", true),
    ];
    assert!(plan(&sts, &pods, &r, at(10)).delete.is_empty());
    let missing_low = [sts_pod(1, "db-v1", true), sts_pod(2, "db-v2", true)];
    assert_eq!(
        plan(&sts, &missing_low, &r, at(10)).create,
        vec![(0, "db-v1".to_string())]
    );
}

#[test]
fn on_delete_never_replaces_pods() {
    let sts = mk_sts(1, json!({"updateStrategy": {"type": "OnDelete"}}));
    assert!(
        plan(
            &sts,
            &[sts_pod(0, "db-v1", true)],
            &revisions("db-v1", "db-v2"),
            at(10)
        )
        .delete
        .is_empty()
    );
}

#[test]
fn scale_down_removes_the_highest_ordinal_first() {
    let sts = mk_sts(1, json!({}));
    let pods = [
        sts_pod(0, "v", true),
        sts_pod(1, "v", true),
        sts_pod(2, "v", true),
    ];
    assert_eq!(
        plan(&sts, &pods, &revisions("v", "v"), at(10)).delete,
        vec!["db-2".to_string()]
    );
}
