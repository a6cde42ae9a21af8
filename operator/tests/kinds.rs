//! StatefulSets and DaemonSets roll like Deployments; ignored sources and out-of-scope namespaces do not.
#![allow(clippy::unwrap_used)]

mod support;

use configsync_operator::controller::Config;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::*;

fn workload_body(name: &str) -> Value {
    json!({
        "metadata": {"name": name, "namespace": NS, "annotations": {"configsync.dev/auto": "true"}},
        "spec": {"selector": {"matchLabels": {"app": name}}, "serviceName": name,
            "template": {"metadata": {"labels": {"app": name}}, "spec": env_from("app")}},
    })
}

#[tokio::test]
async fn statefulsets_and_daemonsets_roll() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    let ds: Api<DaemonSet> = Api::namespaced(client.clone(), NS);
    let pp = PostParams::default();
    sts.create(&pp, &serde_json::from_value(workload_body("db")).unwrap())
        .await
        .unwrap();
    ds.create(
        &pp,
        &serde_json::from_value(workload_body("agent")).unwrap(),
    )
    .await
    .unwrap();
    let _operator = Operator::start(client.clone(), Config::default()).await;
    let recorded = |annotations: Option<&std::collections::BTreeMap<String, String>>| {
        annotations.and_then(|a| a.get(OBSERVED_HASH)).is_some()
    };
    wait_until("both are adopted", || async {
        recorded(sts.get("db").await.unwrap().metadata.annotations.as_ref())
            && recorded(ds.get("agent").await.unwrap().metadata.annotations.as_ref())
    })
    .await;
    assert_eq!(
        pod_template_hash(
            sts.get("db")
                .await
                .unwrap()
                .spec
                .as_ref()
                .map(|s| &s.template)
        ),
        None
    );
    put_configmap(&client, "app", json!({"k": "2"})).await;
    wait_until("both roll", || async {
        let s = sts.get("db").await.unwrap();
        let d = ds.get("agent").await.unwrap();
        pod_template_hash(s.spec.as_ref().map(|s| &s.template)).is_some()
            && pod_template_hash(d.spec.as_ref().map(|s| &s.template)).is_some()
    })
    .await;
    wait_for_event(&client, "db", "ConfigRolled").await;
    wait_for_event(&client, "agent", "ConfigRolled").await;
}

#[tokio::test]
async fn ignored_sources_never_trigger() {
    let (_cluster, client) = mk_cluster().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let ignored = |value: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": NS,
            "annotations": {"configsync.dev/ignore": "true"}}, "data": {"k": value}})
    };
    let apply = PatchParams::apply("test").force();
    cms.patch("app", &apply, &Patch::Apply(ignored("1")))
        .await
        .unwrap();
    create_deployment(&client, &mk_auto_deployment("web", env_from("app"))).await;
    let (history, _operator) = TemplateHistory::watch_and_start(&client, Config::default()).await;
    wait_for_record(&client, "web", None).await;
    cms.patch("app", &apply, &Patch::Apply(ignored("2")))
        .await
        .unwrap();
    cms.patch("app", &apply, &Patch::Apply(ignored("3")))
        .await
        .unwrap();
    sync_point(&client, "after").await;
    assert_eq!(history.rollouts("web"), 0);
}

#[tokio::test]
async fn workloads_outside_the_namespaces_are_left_alone() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    create_deployment(&client, &mk_auto_deployment("web", env_from("app"))).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let elsewhere = serde_json::from_value(json!({"metadata": {"name": "elsewhere"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &elsewhere)
        .await
        .unwrap();
    let config = Config {
        namespaces: vec!["elsewhere".to_owned()],
        ..Config::default()
    };
    let _scoped = Operator::start(client.clone(), config).await;
    // A workload in scope is adopted after the catch-up pass, which would have adopted `web` if it were.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "elsewhere");
    let cm =
        serde_json::from_value(json!({"metadata": {"name": "app"}, "data": {"k": "1"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "elsewhere");
    let mut inside = mk_auto_deployment("inside", env_from("app"));
    inside.metadata.namespace = Some("elsewhere".to_owned());
    deployments
        .create(&PostParams::default(), &inside)
        .await
        .unwrap();
    wait_until("the in-scope workload is adopted", || async {
        observed_hash(&deployments.get("inside").await.unwrap()).is_some()
    })
    .await;
    assert_eq!(observed_hash(&get_deployment(&client, "web").await), None);
}
