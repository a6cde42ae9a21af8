//! Debounce and the fleet budget: several changes make one rollout, and a shared ConfigMap does not
//! restart every consumer at once.
#![allow(clippy::unwrap_used)]

mod support;

use std::num::NonZeroUsize;
use std::time::Duration;

use configsync_operator::annotations::Debounce;
use configsync_operator::controller::Config;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use support::*;

fn two_configmaps() -> serde_json::Value {
    json!({"containers": [{"name": "app", "image": "x",
        "envFrom": [{"configMapRef": {"name": "one"}}, {"configMapRef": {"name": "two"}}]}]})
}

async fn debounced_changes_make_one_rollout(annotations: serde_json::Value, config: Config) {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "one", json!({"k": "1"})).await;
    put_configmap(&client, "two", json!({"k": "1"})).await;
    create_deployment(
        &client,
        &mk_deployment("web", annotations, two_configmaps()),
    )
    .await;
    let (history, _operator) = TemplateHistory::watch_and_start(&client, config).await;
    wait_for_record(&client, "web", None).await;

    for round in 2..5 {
        put_configmap(&client, "one", json!({"k": round.to_string()})).await;
        put_configmap(&client, "two", json!({"k": round.to_string()})).await;
    }
    history.wait_for_rollouts("web", 1).await;
    let event = wait_for_event(&client, "web", "ConfigRolled").await;
    let note = event.note.unwrap_or_default();
    assert!(
        note.contains("ConfigMap one") && note.contains("ConfigMap two"),
        "one rollout names both sources: {note}"
    );
    sync_point(&client, "after").await;
    assert_eq!(history.rollouts("web"), 1);
}

#[tokio::test]
async fn debounce_annotation_collapses_changes() {
    let annotations = json!({"configsync.dev/auto": "true", "configsync.dev/debounce": "300ms,2s"});
    debounced_changes_make_one_rollout(annotations, Config::default()).await;
}

#[tokio::test]
async fn debounce_flag_collapses_changes() {
    let config = Config {
        debounce: Some(Debounce::new(Duration::from_millis(300), None)),
        ..Config::default()
    };
    debounced_changes_make_one_rollout(json!({"configsync.dev/auto": "true"}), config).await;
}

/// Mark `name`'s rollout complete, as its controller would once every replica is updated and available.
async fn complete_rollout(client: &kube::Client, name: &str) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let generation = api.get(name).await.unwrap().metadata.generation.unwrap();
    let status = json!({"status": {"observedGeneration": generation, "replicas": 1,
        "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
}

/// ConfigMap `shared` and one auto Deployment per name reading it; then the history and the operator
/// with `config`, once every Deployment is adopted, and a change to `shared`.
async fn edit_shared_fleet(
    client: &kube::Client,
    names: &[&str],
    config: Config,
) -> (TemplateHistory, Operator) {
    put_configmap(client, "shared", json!({"k": "1"})).await;
    for name in names {
        create_deployment(client, &mk_auto_deployment(name, env_from("shared"))).await;
    }
    let (history, operator) = TemplateHistory::watch_and_start(client, config).await;
    for name in names {
        wait_for_record(client, name, None).await;
    }
    put_configmap(client, "shared", json!({"k": "2"})).await;
    (history, operator)
}

fn rolled(history: &TemplateHistory, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter(|n| history.rollouts(n) > 0)
        .map(|n| (*n).to_owned())
        .collect()
}

#[tokio::test]
async fn budget_allows_one_rollout_at_a_time() {
    let (_cluster, client) = mk_cluster().await;
    let names = ["a", "b", "c"];
    let config = Config {
        max_concurrent_rollouts: NonZeroUsize::new(1),
        ..Config::default()
    };
    let (history, _operator) = edit_shared_fleet(&client, &names, config).await;
    let mut done = Vec::new();
    for step in 1..=names.len() {
        wait_until(&format!("{step} workload(s) rolled"), || async {
            rolled(&history, &names).len() >= step
        })
        .await;
        sync_point(&client, &format!("step-{step}")).await;
        let now_rolled = rolled(&history, &names);
        assert_eq!(now_rolled.len(), step, "one slot: {now_rolled:?}");
        let started = now_rolled.into_iter().find(|n| !done.contains(n)).unwrap();
        complete_rollout(&client, &started).await;
        done.push(started);
    }
    for name in names {
        assert_eq!(history.rollouts(name), 1, "{name}");
    }
}

#[tokio::test]
async fn rate_limit_spaces_rollouts() {
    let (_cluster, client) = mk_cluster().await;
    let names = ["a", "b"];
    let config = Config {
        rollouts_per_second: Some(0.5),
        ..Config::default()
    };
    let (history, _operator) = edit_shared_fleet(&client, &names, config).await;
    wait_until("the first rollout", || async {
        !rolled(&history, &names).is_empty()
    })
    .await;
    sync_point(&client, "after-first").await;
    assert_eq!(
        rolled(&history, &names).len(),
        1,
        "the second waits for a token"
    );
    wait_until("both rolled", || async {
        rolled(&history, &names).len() == 2
    })
    .await;
}

#[tokio::test]
async fn budget_frees_slots_as_the_controllers_complete_rollouts() {
    let (cluster, client) = mk_cluster_with_controllers().await;
    let names = ["a", "b", "c", "d"];
    let config = cluster.scope(Config {
        max_concurrent_rollouts: NonZeroUsize::new(1),
        ..Config::default()
    });
    let (history, _operator) = edit_shared_fleet(&client, &names, config).await;
    wait_until("every workload rolled, one after another", || async {
        rolled(&history, &names).len() == names.len()
    })
    .await;
    for name in names {
        assert_eq!(history.rollouts(name), 1, "{name}");
    }
}
