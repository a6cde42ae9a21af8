//! The ConfigSync reconciler against the embedded cluster: status and conditions, suspend and resume,
//! missing sources and targets, overlapping claims and restarts.
#![allow(clippy::unwrap_used)]

mod support;

use configsync_crds::ConfigSync;
use configsync_operator::controller::Config;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::*;

async fn install_crd(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.create(&PostParams::default(), &ConfigSync::crd())
        .await
        .unwrap();
    let cs: Api<ConfigSync> = Api::namespaced(client.clone(), NS);
    wait_until("the ConfigSync resource is served", || async {
        cs.list(&Default::default()).await.is_ok()
    })
    .await;
}

async fn put_configsync(client: &kube::Client, name: &str, spec: Value) {
    let api: Api<ConfigSync> = Api::namespaced(client.clone(), NS);
    let body = json!({"apiVersion": "configsync.dev/v1alpha1", "kind": "ConfigSync",
        "metadata": {"name": name, "namespace": NS}, "spec": spec});
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(body),
    )
    .await
    .unwrap();
}

async fn get_status(client: &kube::Client, name: &str) -> Value {
    let api: Api<ConfigSync> = Api::namespaced(client.clone(), NS);
    let cs = api.get(name).await.unwrap();
    serde_json::to_value(cs.status).unwrap()
}

fn condition(status: &Value, type_: &str) -> (String, String) {
    let found = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_);
    match found {
        Some(c) => (
            c["status"].as_str().unwrap_or_default().to_owned(),
            c["reason"].as_str().unwrap_or_default().to_owned(),
        ),
        None => (String::new(), String::new()),
    }
}

/// Wait until `name`'s status satisfies `check`; returns it.
async fn wait_status(
    client: &kube::Client,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    wait_until(what, || async { check(&get_status(client, name).await) }).await;
    get_status(client, name).await
}

fn ready_with(status: &Value, ready: &str, reason: &str) -> bool {
    condition(status, "Ready") == (ready.to_owned(), reason.to_owned())
}

fn redis_spec() -> Value {
    json!({"sources": [{"kind": "ConfigMap", "name": "redis-config"}],
           "targets": [{"kind": "Deployment", "name": "redis"}]})
}

async fn setup(client: &kube::Client) {
    install_crd(client).await;
    put_configmap(
        client,
        "redis-config",
        json!({"redis.conf": "maxmemory 2mb"}),
    )
    .await;
    create_deployment(
        client,
        &mk_deployment("redis", json!({}), env_from("redis-config")),
    )
    .await;
}

#[tokio::test]
async fn a_source_edit_rolls_once_and_status_records_it() {
    let cluster = mk_cluster_with_controllers().await;
    let client = cluster.client();
    setup(&client).await;
    let history = TemplateHistory::watch(&client).await;
    let _operator = Operator::start(client.clone(), Config::default()).await;
    put_configsync(&client, "redis", redis_spec()).await;
    let adopted = wait_status(&client, "redis", "adopted and Ready", |s| {
        ready_with(s, "True", "Applied")
    })
    .await;
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
    let cluster = mk_cluster_with_controllers().await;
    let client = cluster.client();
    setup(&client).await;
    let _operator = Operator::start(client.clone(), Config::default()).await;
    put_configsync(
        &client,
        "no-source",
        json!({
        "sources": [{"kind": "ConfigMap", "name": "gone"}],
        "targets": [{"kind": "Deployment", "name": "redis"}]}),
    )
    .await;
    put_configsync(
        &client,
        "no-target",
        json!({
        "sources": [{"kind": "ConfigMap", "name": "redis-config"}],
        "targets": [{"kind": "Deployment", "name": "nope"}]}),
    )
    .await;
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
    let cluster = mk_cluster_with_controllers().await;
    let client = cluster.client();
    setup(&client).await;
    let history = TemplateHistory::watch(&client).await;
    let _operator = Operator::start(client.clone(), Config::default()).await;
    put_configsync(&client, "redis", redis_spec()).await;
    wait_status(&client, "redis", "Ready", |s| {
        ready_with(s, "True", "Applied")
    })
    .await;

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
    let cluster = mk_cluster_with_controllers().await;
    let client = cluster.client();
    setup(&client).await;
    let _operator = Operator::start(client.clone(), Config::default()).await;
    put_configsync(&client, "first", redis_spec()).await;
    wait_status(&client, "first", "first is Ready", |s| {
        ready_with(s, "True", "Applied")
    })
    .await;
    put_configmap(&client, "other", json!({"x": "1"})).await;
    put_configsync(
        &client,
        "second",
        json!({
        "sources": [{"kind": "ConfigMap", "name": "other"}],
        "targets": [{"kind": "Deployment", "name": "redis"}]}),
    )
    .await;
    wait_for_event(&client, "second", "TargetClaimed").await;
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
    let cluster = mk_cluster_with_controllers().await;
    let client = cluster.client();
    setup(&client).await;
    let history = TemplateHistory::watch(&client).await;
    let operator = Operator::start(client.clone(), Config::default()).await;
    put_configsync(&client, "redis", redis_spec()).await;
    let before = wait_status(&client, "redis", "Ready", |s| {
        ready_with(s, "True", "Applied")
    })
    .await;
    operator.stop().await;

    // No change: a restart rolls nothing and keeps the status (and its transition times).
    let operator = Operator::start(client.clone(), Config::default()).await;
    sync_point(&client, "sync-1").await;
    put_configsync(&client, "redis", redis_spec()).await;
    assert_eq!(history.rollouts("redis"), 0);
    operator.stop().await;

    // A change while down rolls once after the restart.
    put_configmap(&client, "redis-config", json!({"redis.conf": "changed"})).await;
    let _operator = Operator::start(client.clone(), Config::default()).await;
    history.wait_for_rollouts("redis", 1).await;
    let after = wait_status(&client, "redis", "Ready with the new hash", |s| {
        s["sourceHash"] != before["sourceHash"] && ready_with(s, "True", "Applied")
    })
    .await;
    assert_eq!(after["targets"][0]["appliedHash"], after["sourceHash"]);
    sync_point(&client, "sync-2").await;
    assert_eq!(history.rollouts("redis"), 1, "the change rolled once");
}
