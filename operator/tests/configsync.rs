//! The ConfigSync reconciler against a cluster with controllers (the embedded one, or the real control plane
//! `CONFIGSYNC_REAL_K8S` names; see `support`): status and conditions, suspend and resume, missing sources and
//! targets, overlapping claims and restarts.
#![allow(clippy::unwrap_used)]

mod support;

use configsync_operator::controller::Config;
use serde_json::{Value, json};
use support::*;

/// A ConfigSync spec from ConfigMap `source` to Deployment `target`.
fn spec(source: &str, target: &str) -> Value {
    json!({"sources": [{"kind": "ConfigMap", "name": source}],
           "targets": [{"kind": "Deployment", "name": target}]})
}

fn redis_spec() -> Value {
    spec("redis-config", "redis")
}

/// A cluster with its controllers, the ConfigSync CRD, ConfigMap `redis-config` and Deployment `redis`.
async fn mk_redis_cluster() -> (TestCluster, kube::Client) {
    let (cluster, client) = mk_cluster_with_controllers().await;
    install_crd(&client).await;
    put_configmap(
        &client,
        "redis-config",
        json!({"redis.conf": "maxmemory 2mb"}),
    )
    .await;
    create_deployment(
        &client,
        &mk_deployment("redis", json!({}), env_from("redis-config")),
    )
    .await;
    (cluster, client)
}

/// Apply ConfigSync `name` with [`redis_spec`] and wait until it is Ready; returns its status.
async fn adopt_redis(client: &kube::Client, name: &str) -> Value {
    put_configsync(client, name, redis_spec()).await;
    wait_status(client, name, &format!("{name} is adopted and Ready"), |s| {
        ready_with(s, "True", "Applied")
    })
    .await
}

#[tokio::test]
async fn a_source_edit_rolls_once_and_status_records_it() {
    let (cluster, client) = mk_redis_cluster().await;
    let (history, _operator) =
        TemplateHistory::watch_and_start(&client, cluster.scope(Config::default())).await;
    let adopted = adopt_redis(&client, "redis").await;
    assert_eq!(adopted["sourceCount"], 1);
    assert_eq!(adopted["targetCount"], 1);
    assert_eq!(adopted["observedGeneration"], 1);
    let first_hash = adopted["sourceHash"].as_str().unwrap().to_owned();
    assert!(first_hash.starts_with("v1:"));
    assert_eq!(adopted["shortHash"].as_str().unwrap(), &first_hash[3..15]);
    assert_eq!(history.rollouts("redis"), 0, "adoption must not roll");

    put_configmap(
        &client,
        "redis-config",
        json!({"redis.conf": "maxmemory 4mb"}),
    )
    .await;
    history.wait_for_rollouts("redis", 1).await;
    let rolled = wait_status(&client, "redis", "the new hash is applied and Ready", |s| {
        s["sourceHash"] != first_hash.as_str() && ready_with(s, "True", "Applied")
    })
    .await;
    let deployment = get_deployment(&client, "redis").await;
    assert_eq!(
        rolled["targets"][0]["appliedHash"],
        json!(observed_hash(&deployment))
    );
    assert_eq!(rolled["targets"][0]["appliedHash"], rolled["sourceHash"]);
    assert_eq!(rolled["targets"][0]["state"], "Available");
    assert!(rolled["lastRolloutTime"].is_string());
    assert_eq!(
        rolled["targets"][0]["lastRolloutTime"],
        rolled["lastRolloutTime"]
    );
    assert!(rolled["sources"][0]["resourceVersion"].is_string());
    assert!(
        rolled["sources"][0]["hash"]
            .as_str()
            .unwrap()
            .starts_with("v1:")
    );
    assert_eq!(condition(&rolled, "Degraded").0, "False");
    assert_eq!(condition(&rolled, "Progressing").0, "False");
    assert_ne!(rolled["conditions"][0]["lastTransitionTime"], Value::Null);
    assert_eq!(history.rollouts("redis"), 1, "one edit, one rollout");
}

#[tokio::test]
async fn missing_sources_and_targets_are_conditions() {
    let (cluster, client) = mk_redis_cluster().await;
    let _operator = Operator::start(client.clone(), cluster.scope(Config::default())).await;
    put_configsync(&client, "no-source", spec("gone", "redis")).await;
    put_configsync(&client, "no-target", spec("redis-config", "nope")).await;
    let s = wait_status(&client, "no-source", "SourceMissing", |s| {
        ready_with(s, "False", "SourceMissing")
    })
    .await;
    assert_eq!(
        condition(&s, "Degraded"),
        ("True".to_owned(), "SourceMissing".to_owned())
    );
    assert!(
        observed_hash(&get_deployment(&client, "redis").await).is_none(),
        "nothing applied"
    );
    let t = wait_status(&client, "no-target", "TargetMissing", |s| {
        ready_with(s, "False", "TargetMissing")
    })
    .await;
    assert_eq!(t["targets"][0]["state"], "Missing");
    assert_eq!(t["targetCount"], 0);

    // Creating the source clears the condition.
    put_configmap(&client, "gone", json!({"a": "1"})).await;
    wait_status(
        &client,
        "no-source",
        "Ready after the source appears",
        |s| ready_with(s, "True", "Applied"),
    )
    .await;
}

#[tokio::test]
async fn suspend_holds_changes_and_resume_rolls_them_once() {
    let (cluster, client) = mk_redis_cluster().await;
    let (history, _operator) =
        TemplateHistory::watch_and_start(&client, cluster.scope(Config::default())).await;
    adopt_redis(&client, "redis").await;

    let mut suspended = redis_spec();
    suspended["suspend"] = json!(true);
    put_configsync(&client, "redis", suspended).await;
    wait_status(&client, "redis", "Suspended", |s| {
        ready_with(s, "False", "Suspended")
    })
    .await;
    put_configmap(&client, "redis-config", json!({"redis.conf": "a"})).await;
    put_configmap(&client, "redis-config", json!({"redis.conf": "b"})).await;
    let held = wait_status(&client, "redis", "the change is held", |s| {
        s["targets"][0]["state"] == "Suspended"
    })
    .await;
    assert_eq!(
        condition(&held, "Progressing"),
        ("False".to_owned(), "Suspended".to_owned())
    );
    assert_eq!(
        history.rollouts("redis"),
        0,
        "nothing rolls while suspended"
    );

    put_configsync(&client, "redis", redis_spec()).await;
    history.wait_for_rollouts("redis", 1).await;
    wait_status(&client, "redis", "Ready after resume", |s| {
        s["observedGeneration"] == 3 && ready_with(s, "True", "Applied")
    })
    .await;
    assert_eq!(
        history.rollouts("redis"),
        1,
        "resume rolls what changed, once"
    );
}

#[tokio::test]
async fn the_older_configsync_wins_a_shared_target() {
    let (cluster, client) = mk_redis_cluster().await;
    let _operator = Operator::start(client.clone(), cluster.scope(Config::default())).await;
    adopt_redis(&client, "first").await;
    put_configmap(&client, "other", json!({"x": "1"})).await;
    put_configsync(&client, "second", spec("other", "redis")).await;
    let warning = wait_for_event(&client, "second", "TargetClaimed").await;
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    assert!(
        warning.note.unwrap_or_default().contains("first"),
        "the Event names the winner"
    );
    let second = wait_status(&client, "second", "second reconciled", |s| {
        s["targetCount"] == 0
    })
    .await;
    assert_eq!(second["targets"], Value::Null, "the loser drives nothing");
    let first = get_status(&client, "first").await;
    assert_eq!(first["targetCount"], 1);
    let deployment = get_deployment(&client, "redis").await;
    assert_eq!(json!(observed_hash(&deployment)), first["sourceHash"]);
}

#[tokio::test]
async fn a_restart_rolls_only_what_changed_while_down() {
    let (cluster, client) = mk_redis_cluster().await;
    let (history, operator) =
        TemplateHistory::watch_and_start(&client, cluster.scope(Config::default())).await;
    let before = adopt_redis(&client, "redis").await;
    operator.stop().await;

    // No change: a restart rolls nothing and keeps the status (and its transition times).
    let operator = Operator::start(client.clone(), cluster.scope(Config::default())).await;
    sync_point(&client, "sync-1").await;
    put_configsync(&client, "redis", redis_spec()).await;
    assert_eq!(history.rollouts("redis"), 0);
    let kept = get_status(&client, "redis").await;
    assert_eq!(kept["sourceHash"], before["sourceHash"]);
    assert_eq!(
        kept["targets"], before["targets"],
        "the persisted record stands"
    );
    assert_eq!(kept["conditions"], before["conditions"]);
    operator.stop().await;

    // A change while down rolls once after the restart.
    put_configmap(&client, "redis-config", json!({"redis.conf": "changed"})).await;
    let _operator = Operator::start(client.clone(), cluster.scope(Config::default())).await;
    history.wait_for_rollouts("redis", 1).await;
    let after = wait_status(&client, "redis", "Ready with the new hash", |s| {
        s["sourceHash"] != before["sourceHash"] && ready_with(s, "True", "Applied")
    })
    .await;
    assert_eq!(after["targets"][0]["appliedHash"], after["sourceHash"]);
    sync_point(&client, "sync-2").await;
    assert_eq!(history.rollouts("redis"), 1, "the change rolled once");
}
