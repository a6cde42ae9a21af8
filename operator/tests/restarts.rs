//! Adoption, operator restarts and Secret delete/recreate: no missed and no spurious rollouts.
#![allow(clippy::unwrap_used)]

mod support;

use configsync_operator::controller::Config;
use serde_json::json;
use support::*;

#[tokio::test]
async fn downtime_changes_roll_once_and_plain_restarts_roll_nothing() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "changes", json!({"k": "1"})).await;
    put_configmap(&client, "stays", json!({"k": "1"})).await;
    create_deployment(&client, &mk_auto_deployment("changed", env_from("changes"))).await;
    create_deployment(&client, &mk_auto_deployment("steady", env_from("stays"))).await;
    let history = TemplateHistory::watch(&client).await;

    // Adoption: the record is written, the template is not.
    let first = Operator::start(client.clone(), Config::default()).await;
    let adopted = wait_for_record(&client, "changed", None).await;
    wait_for_record(&client, "steady", None).await;
    assert_eq!(template_hash(&adopted), None);
    wait_for_event(&client, "changed", "ConfigAdopted").await;
    first.stop().await;

    // A change while nobody watches rolls exactly once when the operator comes back.
    put_configmap(&client, "changes", json!({"k": "2"})).await;
    let second = Operator::start(client.clone(), Config::default()).await;
    history.wait_for_rollouts("changed", 1).await;
    sync_point(&client, "after-second-start").await;
    assert_eq!(history.rollouts("changed"), 1);
    assert_eq!(history.rollouts("steady"), 0);
    let rolled = get_deployment(&client, "changed").await;
    assert_eq!(template_hash(&rolled), observed_hash(&rolled));
    second.stop().await;

    // A plain restart rolls nothing.
    let _third = Operator::start(client.clone(), Config::default()).await;
    sync_point(&client, "after-third-start").await;
    assert_eq!(history.rollouts("changed"), 1);
    assert_eq!(history.rollouts("steady"), 0);
}

#[tokio::test]
async fn secret_recreated_with_new_content_rolls_with_same_content_does_not() {
    let (_cluster, client) = mk_cluster().await;
    put_secret(&client, "db", json!({"password": "one"})).await;
    let pod = json!({"containers": [{"name": "app", "image": "x",
        "volumeMounts": [{"name": "db", "mountPath": "/db"}]}],
        "volumes": [{"name": "db", "secret": {"secretName": "db"}}]});
    create_deployment(&client, &mk_auto_deployment("web", pod)).await;
    let (history, _operator) = TemplateHistory::watch_and_start(&client, Config::default()).await;
    let adopted = wait_for_record(&client, "web", None).await;

    // Gone: a required source is missing, so a Warning and no rollout.
    delete_secret(&client, "db").await;
    wait_for_event(&client, "web", "SourceMissing").await;
    // Back with the same content: nothing to do.
    put_secret(&client, "db", json!({"password": "one"})).await;
    sync_point(&client, "after-same").await;
    assert_eq!(history.rollouts("web"), 0);
    let unchanged = get_deployment(&client, "web").await;
    assert_eq!(observed_hash(&unchanged), observed_hash(&adopted));

    // Back with new content: one rollout.
    delete_secret(&client, "db").await;
    put_secret(&client, "db", json!({"password": "two"})).await;
    history.wait_for_rollouts("web", 1).await;
    sync_point(&client, "after-new").await;
    assert_eq!(history.rollouts("web"), 1);
    let events = events_for(&client, "web", "ConfigRolled").await;
    let note = events[0].note.clone().unwrap_or_default();
    assert!(!note.contains("two") && !note.contains("one"), "{note}");
}

#[tokio::test]
async fn conflicts_and_server_errors_are_retried() {
    let (cluster, client) = mk_cluster().await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    let annotations = json!({"configsync.dev/auto": "true", "configsync.dev/debounce": "200ms"});
    create_deployment(&client, &mk_deployment("web", annotations, env_from("app"))).await;
    let (history, operator) = TemplateHistory::watch_and_start(&client, Config::default()).await;
    wait_for_record(&client, "web", None).await;

    // The change is debounced, so the apply runs while half of all writes conflict or fail.
    put_configmap(&client, "app", json!({"k": "2"})).await;
    cluster.faults().set(configsync_cluster::FaultSettings {
        conflict_409_share: 0.3,
        error_500_share: 0.2,
        ..configsync_cluster::FaultSettings::default()
    });
    history.wait_for_rollouts("web", 1).await;
    cluster
        .faults()
        .set(configsync_cluster::FaultSettings::default());
    sync_point(&client, "after").await;
    assert_eq!(history.rollouts("web"), 1);
    drop(operator);
}
