//! ConfigSync rollouts against a cluster with controllers (the embedded one with its simulated controllers, or
//! the real control plane `CONFIGSYNC_REAL_K8S` names; see `support`): the overlap with
//! workload annotations (one rollout per change), deletion, `rollout.maxConcurrent`, `rollout.pause`
//! and `spec.debounce`.
#![allow(clippy::unwrap_used)]

mod support;

use configsync_crds::ConfigSync;
use configsync_operator::controller::Config;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::*;

const CRASH: &str = "configsync.dev/simulate-crash";

fn ready(status: &Value) -> bool {
    ready_with(status, "True", "Applied")
}

fn target_state(status: &Value, name: &str) -> String {
    status["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == name)
        .map(|t| t["state"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

fn rollout_second(status: &Value, name: &str) -> i64 {
    let targets = status["targets"].as_array().unwrap();
    let target = targets.iter().find(|t| t["name"] == name).unwrap();
    let text = target["lastRolloutTime"].as_str().unwrap();
    text.parse::<jiff::Timestamp>().unwrap().as_second()
}

/// Two Deployments, `a` and `b`, consuming ConfigMap `shared`; `a` crash-loops when `crash_a`.
async fn two_targets(client: &kube::Client, crash_a: bool) {
    install_crd(client).await;
    put_configmap(client, "shared", json!({"k": "1"})).await;
    let mut a = mk_deployment("a", json!({}), env_from("shared"));
    if crash_a {
        let template = a.spec.as_mut().unwrap().template.metadata.as_mut().unwrap();
        template.annotations = Some([(CRASH.to_owned(), "true".to_owned())].into());
    }
    create_deployment(client, &a).await;
    create_deployment(client, &mk_deployment("b", json!({}), env_from("shared"))).await;
}

/// [`two_targets`], then the history and the operator with `config`, then ConfigSync `both` with `spec`.
async fn start_both(
    client: &kube::Client,
    crash_a: bool,
    config: Config,
    spec: Value,
) -> (TemplateHistory, Operator) {
    two_targets(client, crash_a).await;
    let (history, operator) = TemplateHistory::watch_and_start(client, config).await;
    put_configsync(client, "both", spec).await;
    (history, operator)
}

fn both(rollout: Value) -> Value {
    json!({"sources": [{"kind": "ConfigMap", "name": "shared"}],
           "targets": [{"kind": "Deployment", "name": "a"}, {"kind": "Deployment", "name": "b"}],
           "rollout": rollout})
}

#[tokio::test]
async fn annotations_and_a_configsync_on_one_workload_roll_once_per_change() {
    let (cluster, client) = mk_cluster_with_controllers().await;
    install_crd(&client).await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    put_configmap(&client, "tuning", json!({"t": "1"})).await;
    create_deployment(&client, &mk_auto_deployment("web", env_from("app"))).await;
    let (history, _operator) =
        TemplateHistory::watch_and_start(&client, cluster.scope(Config::default())).await;
    wait_for_record(&client, "web", None).await;

    // The ConfigSync adds a source the pod spec does not name: the two paths would hash differently.
    put_configsync(
        &client,
        "web",
        json!({"sources": [{"kind": "ConfigMap", "name": "app"}, {"kind": "ConfigMap", "name": "tuning"}],
               "targets": [{"kind": "Deployment", "name": "web"}]}),
    )
    .await;
    wait_status(&client, "web", "claimed and Ready", ready).await;
    assert_eq!(
        history.rollouts("web"),
        0,
        "claiming a workload restarts nothing"
    );

    put_configmap(&client, "app", json!({"k": "2"})).await;
    history.wait_for_rollouts("web", 1).await;
    let rolled = wait_for_event(&client, "web", "ConfigRolled").await;
    assert_eq!(rolled.type_.as_deref(), Some("Normal"));
    put_configmap(&client, "tuning", json!({"t": "2"})).await;
    history.wait_for_rollouts("web", 2).await;
    let status = wait_status(&client, "web", "Ready after both edits", |s| {
        ready(s) && target_state(s, "web") == "Available"
    })
    .await;
    sync_point(&client, "settled").await;
    assert_eq!(
        history.rollouts("web"),
        2,
        "two changes, two rollouts, no flapping"
    );
    let deployment = get_deployment(&client, "web").await;
    assert_eq!(
        status["targets"][0]["appliedHash"],
        json!(observed_hash(&deployment))
    );

    // Deleting the ConfigSync leaves the workload as it is and hands it back to its annotations.
    let api: Api<ConfigSync> = Api::default_namespaced(client.clone());
    api.delete("web", &DeleteParams::default()).await.unwrap();
    sync_point(&client, "released").await;
    assert_eq!(
        history.rollouts("web"),
        2,
        "deleting a ConfigSync rolls nothing"
    );
    let deployment = get_deployment(&client, "web").await;
    assert!(deployment.metadata.finalizers.is_none());
    assert!(deployment.metadata.owner_references.is_none());
    let cm = Api::<ConfigMap>::default_namespaced(client.clone())
        .get("app")
        .await
        .unwrap();
    assert!(cm.metadata.finalizers.is_none() && cm.metadata.owner_references.is_none());
    put_configmap(&client, "app", json!({"k": "3"})).await;
    history.wait_for_rollouts("web", 3).await;
    sync_point(&client, "annotations-again").await;
    assert_eq!(history.rollouts("web"), 3);
}

#[tokio::test]
async fn max_concurrent_waits_for_each_target_to_become_available() {
    b_waits_until_a_is_available(Config::default(), json!({"maxConcurrent": 1})).await;
}

#[tokio::test]
async fn the_fleet_budget_also_holds_configsync_rollouts() {
    let config = Config {
        max_concurrent_rollouts: std::num::NonZeroUsize::new(1),
        ..Config::default()
    };
    b_waits_until_a_is_available(config, json!({})).await;
}

/// `a` crash-loops after the edit; `b` must not roll until `a` is healed and available.
async fn b_waits_until_a_is_available(config: Config, rollout: Value) {
    let (cluster, client) = mk_cluster_with_controllers().await;
    let (history, _operator) =
        start_both(&client, true, cluster.scope(config), both(rollout)).await;
    wait_status(&client, "both", "both adopted", |s| {
        s["targets"][1]["appliedHash"].is_string()
    })
    .await;

    put_configmap(&client, "shared", json!({"k": "2"})).await;
    history.wait_for_rollouts("a", 1).await;
    let held = wait_status(&client, "both", "b waits for a", |s| {
        target_state(s, "a") == "RollingOut" && target_state(s, "b") == "Pending"
    })
    .await;
    assert_eq!(condition(&held, "Progressing").0, "True");
    // a's new pods crash-loop: its rollout never completes, so b must keep waiting.
    wait_until("a's new pods crash", || async {
        let status = get_deployment(&client, "a")
            .await
            .status
            .unwrap_or_default();
        status.updated_replicas.unwrap_or(0) >= 1 && status.available_replicas.unwrap_or(0) == 0
    })
    .await;
    sync_point(&client, "stalled").await;
    assert_eq!(
        history.rollouts("b"),
        0,
        "b does not start while a is unavailable"
    );
    assert_eq!(
        target_state(&get_status(&client, "both").await, "b"),
        "Pending"
    );

    // Fix a: once it is available, b rolls.
    let heal = json!({"spec": {"template": {"metadata": {"annotations": {CRASH: null}}}}});
    Api::<Deployment>::default_namespaced(client.clone())
        .patch("a", &PatchParams::default(), &Patch::Merge(heal))
        .await
        .unwrap();
    history.wait_for_rollouts("b", 1).await;
    let done = wait_status(&client, "both", "both Available", |s| {
        ready(s) && target_state(s, "b") == "Available"
    })
    .await;
    assert!(rollout_second(&done, "b") >= rollout_second(&done, "a"));
    assert_eq!((history.rollouts("a"), history.rollouts("b")), (1, 1));
}

#[tokio::test]
async fn pause_spaces_the_rollouts_of_targets() {
    let (cluster, client) = mk_cluster_with_controllers().await;
    let spec = both(json!({"pause": "2s"}));
    let (history, _operator) =
        start_both(&client, false, cluster.scope(Config::default()), spec).await;
    wait_status(&client, "both", "both adopted", ready).await;

    put_configmap(&client, "shared", json!({"k": "2"})).await;
    history.wait_for_rollouts("a", 1).await;
    wait_status(&client, "both", "b waits for the pause", |s| {
        target_state(s, "b") == "Pending"
    })
    .await;
    history.wait_for_rollouts("b", 1).await;
    let done = wait_status(&client, "both", "both rolled and Ready", |s| {
        ready(s) && s["targets"][1]["lastRolloutTime"].is_string()
    })
    .await;
    let gap = rollout_second(&done, "b") - rollout_second(&done, "a");
    assert!(gap >= 2, "b rolled {gap}s after a, pause is 2s");
    assert_eq!((history.rollouts("a"), history.rollouts("b")), (1, 1));
}

/// Edit `shared` `edits` times back to back; returns the wall-clock second of the first edit.
async fn edit_shared(client: &kube::Client, edits: u32) -> i64 {
    let first = jiff::Timestamp::now().as_second();
    for round in 0..edits {
        put_configmap(client, "shared", json!({"k": format!("edit-{round}")})).await;
    }
    first
}

#[tokio::test]
async fn debounce_min_collapses_a_burst_into_one_rollout() {
    let (cluster, client) = mk_cluster_with_controllers().await;
    let mut spec = both(json!({}));
    spec["debounce"] = json!({"min": "2s", "max": "10s"});
    let (history, _operator) =
        start_both(&client, false, cluster.scope(Config::default()), spec).await;
    wait_status(&client, "both", "both adopted", ready).await;

    let first = edit_shared(&client, 5).await;
    history.wait_for_rollouts("a", 1).await;
    let done = wait_status(&client, "both", "Ready after the burst", |s| {
        ready(s) && s["targets"][1]["lastRolloutTime"].is_string()
    })
    .await;
    assert!(
        rollout_second(&done, "a") - first >= 1,
        "nothing rolls before min"
    );
    sync_point(&client, "after-burst").await;
    assert_eq!(
        (history.rollouts("a"), history.rollouts("b")),
        (1, 1),
        "one rollout per burst"
    );
    let deployment = get_deployment(&client, "a").await;
    assert_eq!(
        done["sourceHash"],
        json!(observed_hash(&deployment)),
        "the last edit landed"
    );
}

#[tokio::test]
async fn debounce_max_bounds_the_wait() {
    let (cluster, client) = mk_cluster_with_controllers().await;
    let mut spec = both(json!({}));
    spec["debounce"] = json!({"min": "1s", "max": "2s"});
    let (history, _operator) =
        start_both(&client, false, cluster.scope(Config::default()), spec).await;
    wait_status(&client, "both", "both adopted", ready).await;

    // Edits every 300ms never leave `min` quiet: only `max` can end the wait while they go on.
    let first = jiff::Timestamp::now().as_second();
    let started = std::time::Instant::now();
    let mut round = 0;
    while history.rollouts("a") == 0 {
        assert!(started.elapsed().as_secs() < 30, "max never ended the wait");
        put_configmap(&client, "shared", json!({"k": format!("edit-{round}")})).await;
        round += 1;
        // Pacing of the stimulus (an edit stream), not synchronisation.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let done = wait_status(&client, "both", "rolled", |s| {
        s["targets"][0]["lastRolloutTime"].is_string()
    })
    .await;
    assert!(
        rollout_second(&done, "a") - first >= 1,
        "not at once: after max"
    );
    assert!(
        round >= 4,
        "edits went on while the window stayed open ({round})"
    );
}
