use super::*;
use crate::controllers::testutil::{mk_pod, ready_pod};
use serde_json::json;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn mk_ds(strategy: serde_json::Value) -> DaemonSet {
    serde_json::from_value(json!({
        "metadata": {"name": "agent", "namespace": "ns", "uid": "uid-agent", "generation": 3},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": strategy,
            "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent"}]}}
        }
    }))
    .unwrap_or_default()
}

fn ds_pod(name: &str, hash: &str, ready: bool) -> Pod {
    let mut pod = if ready {
        ready_pod(name, "uid-agent", at(1))
    } else {
        mk_pod(name, "uid-agent")
    };
    pod.labels_mut()
        .insert(CONTROLLER_REVISION_HASH.into(), hash.into());
    pod
}

/// `kubectl rollout status ds/x` for a RollingUpdate DaemonSet.
fn kubectl_rollout_done(ds: &DaemonSet, status: &DaemonSetStatus) -> bool {
    ds.metadata.generation <= status.observed_generation
        && status.updated_number_scheduled.unwrap_or(0) >= status.desired_number_scheduled
        && status.number_available.unwrap_or(0) >= status.desired_number_scheduled
}

#[test]
fn a_new_daemonset_gets_one_pod() {
    let ds = mk_ds(json!({}));
    let step = plan(&ds, &[], "h1", at(10));
    assert!(step.create);
    assert_eq!(step.status.desired_number_scheduled, 1);
    assert_eq!(step.status.current_number_scheduled, 0);
    assert!(!kubectl_rollout_done(&ds, &step.status));
    let step = plan(&ds, &[ds_pod("agent-x", "h1", true)], "h1", at(10));
    assert!(!step.create && step.delete.is_empty());
    assert!(kubectl_rollout_done(&ds, &step.status));
    assert_eq!(
        (
            step.status.number_ready,
            step.status.number_unavailable,
            step.status.observed_generation
        ),
        (1, Some(0), Some(3))
    );
}

#[test]
fn rolling_update_without_surge_deletes_then_creates() {
    let ds = mk_ds(json!({"type": "RollingUpdate"}));
    let step = plan(&ds, &[ds_pod("agent-old", "h1", true)], "h2", at(10));
    assert_eq!(
        (step.create, step.delete),
        (false, vec!["agent-old".to_string()])
    );
    assert!(!kubectl_rollout_done(&ds, &step.status));
    let mut leaving = ds_pod("agent-old", "h1", true);
    leaving.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(9)));
    assert!(
        !plan(&ds, &[leaving], "h2", at(10)).create,
        "waits for the old pod to go"
    );
    assert!(plan(&ds, &[], "h2", at(10)).create);
}

#[test]
fn rolling_update_with_surge_creates_then_deletes_when_available() {
    let ds = mk_ds(
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
    );
    let step = plan(&ds, &[ds_pod("agent-old", "h1", true)], "h2", at(10));
    assert_eq!((step.create, step.delete.len()), (true, 0));
    let both_unready = [
        ds_pod("agent-old", "h1", true),
        ds_pod("agent-new", "h2", false),
    ];
    let step = plan(&ds, &both_unready, "h2", at(10));
    assert_eq!((step.create, step.delete.len()), (false, 0));
    let both_ready = [
        ds_pod("agent-old", "h1", true),
        ds_pod("agent-new", "h2", true),
    ];
    assert_eq!(
        plan(&ds, &both_ready, "h2", at(10)).delete,
        vec!["agent-old".to_string()]
    );
}

#[test]
fn on_delete_keeps_the_old_pod() {
    let ds = mk_ds(json!({"type": "OnDelete"}));
    let step = plan(&ds, &[ds_pod("agent-old", "h1", true)], "h2", at(10));
    assert!(!step.create && step.delete.is_empty());
    assert_eq!(step.status.updated_number_scheduled, Some(0));
}
