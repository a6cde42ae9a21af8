//! The controller against the embedded cluster: what rolls, what does not, and the Events it leaves.
#![allow(clippy::unwrap_used)]

mod support;

use configsync_operator::controller::Config;
use serde_json::json;
use support::*;

#[tokio::test]
async fn key_level_refs_in_init_containers_and_projected_volumes() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "shared", json!({"a": "1", "b": "1"})).await;
    put_secret(&client, "tls", json!({"crt": "c1", "key": "k1"})).await;
    let pod = json!({
        "initContainers": [{"name": "init", "image": "x", "env": [{"name": "A",
            "valueFrom": {"configMapKeyRef": {"name": "shared", "key": "a"}}}]}],
        "containers": [{"name": "app", "image": "x", "volumeMounts": [{"name": "p", "mountPath": "/p"}]}],
        "volumes": [{"name": "p", "projected": {"sources": [
            {"secret": {"name": "tls", "items": [{"key": "crt", "path": "tls.crt"}]}}]}}],
    });
    create_deployment(&client, &mk_auto_deployment("web", pod)).await;
    let (history, _operator) = TemplateHistory::watch_and_start(&client, Config::default()).await;

    let adopted = wait_for_record(&client, "web", None).await;
    assert_eq!(
        template_hash(&adopted),
        None,
        "adoption must not touch the template"
    );

    // Keys nobody consumes: no rollout. Then the consumed key: exactly one (same watch, so in order).
    put_configmap(&client, "shared", json!({"a": "1", "b": "2"})).await;
    put_configmap(&client, "shared", json!({"a": "2", "b": "2"})).await;
    history.wait_for_rollouts("web", 1).await;
    sync_point(&client, "after-configmap").await;
    let rolled = get_deployment(&client, "web").await;
    assert_eq!(template_hash(&rolled), observed_hash(&rolled));
    assert_ne!(observed_hash(&rolled), observed_hash(&adopted));
    assert_eq!(history.rollouts("web"), 1, "the change to key b rolled");

    let event = wait_for_event(&client, "web", "ConfigRolled").await;
    let note = event.note.unwrap_or_default();
    assert!(note.contains("ConfigMap shared keys [a] changed"), "{note}");

    // The projected Secret's consumed key rolls too; its other key does not.
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(client.clone(), NS);
    let merge = |k: &str, v: &str| kube::api::Patch::Merge(json!({"stringData": {k: v}}));
    let params = kube::api::PatchParams::default();
    secrets
        .patch("tls", &params, &merge("key", "k2"))
        .await
        .unwrap();
    secrets
        .patch("tls", &params, &merge("crt", "c2"))
        .await
        .unwrap();
    history.wait_for_rollouts("web", 2).await;
    sync_point(&client, "after-secret").await;
    assert_eq!(history.rollouts("web"), 2);
}

#[tokio::test]
async fn reloader_and_wave_annotations_are_followed() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    put_configmap(&client, "extra", json!({"k": "1"})).await;
    let cases = [
        ("reloader", json!({"reloader.stakater.com/auto": "true"})),
        (
            "wave",
            json!({"wave.pusher.com/update-on-config-change": "true"}),
        ),
        (
            "named",
            json!({"configmap.reloader.stakater.com/reload": "extra"}),
        ),
        (
            "wave-extra",
            json!({"wave.pusher.com/extra-configmaps": "extra"}),
        ),
        ("plain", json!({})),
    ];
    for (name, annotations) in &cases {
        create_deployment(
            &client,
            &mk_deployment(name, annotations.clone(), env_from("app")),
        )
        .await;
    }
    let (history, _operator) = TemplateHistory::watch_and_start(&client, Config::default()).await;
    for (name, _) in &cases[..4] {
        wait_for_record(&client, name, None).await;
    }
    put_configmap(&client, "app", json!({"k": "2"})).await;
    put_configmap(&client, "extra", json!({"k": "2"})).await;
    for name in ["reloader", "wave", "named", "wave-extra"] {
        history.wait_for_rollouts(name, 1).await;
    }
    sync_point(&client, "sentinel").await;
    for name in ["reloader", "wave", "named", "wave-extra"] {
        assert_eq!(history.rollouts(name), 1, "{name}");
    }
    let plain = get_deployment(&client, "plain").await;
    assert_eq!(
        observed_hash(&plain),
        None,
        "an unannotated workload is left alone"
    );
    assert_eq!(history.rollouts("plain"), 0);
}

#[tokio::test]
async fn auto_all_follows_everything_but_the_opt_out() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    create_deployment(&client, &mk_deployment("in", json!({}), env_from("app"))).await;
    let out = mk_deployment(
        "out",
        json!({"configsync.dev/auto": "false"}),
        env_from("app"),
    );
    create_deployment(&client, &out).await;
    let history = TemplateHistory::watch(&client).await;
    let config = Config {
        auto_all: true,
        ..Config::default()
    };
    let _operator = Operator::start(client.clone(), config).await;
    wait_for_record(&client, "in", None).await;
    put_configmap(&client, "app", json!({"k": "2"})).await;
    history.wait_for_rollouts("in", 1).await;
    sync_point(&client, "sentinel").await;
    assert_eq!(history.rollouts("out"), 0);
    assert_eq!(observed_hash(&get_deployment(&client, "out").await), None);
}

#[tokio::test]
async fn malformed_annotation_warns_and_the_operator_keeps_going() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    let bad = mk_deployment(
        "bad",
        json!({"configsync.dev/auto": "yes please"}),
        env_from("app"),
    );
    create_deployment(&client, &bad).await;
    let _operator = Operator::start(client.clone(), Config::default()).await;
    let event = wait_for_event(&client, "bad", "InvalidAnnotation").await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    let note = event.note.unwrap_or_default();
    assert!(note.contains("configsync.dev/auto"), "{note}");
    sync_point(&client, "sentinel").await;
    assert_eq!(observed_hash(&get_deployment(&client, "bad").await), None);
}

#[tokio::test]
async fn strategy_reload_records_and_reports_without_restart() {
    let (_cluster, client) = mk_cluster().await;
    put_configmap(&client, "app", json!({"k": "1"})).await;
    let annotations = json!({"configsync.dev/auto": "true", "configsync.dev/strategy": "reload"});
    create_deployment(&client, &mk_deployment("web", annotations, env_from("app"))).await;
    let (history, _operator) = TemplateHistory::watch_and_start(&client, Config::default()).await;
    let adopted = wait_for_record(&client, "web", None).await;
    put_configmap(&client, "app", json!({"k": "2"})).await;
    let recorded = wait_for_record(&client, "web", observed_hash(&adopted).as_deref()).await;
    let event = wait_for_event(&client, "web", "ConfigChanged").await;
    assert!(event.note.unwrap_or_default().contains("reload"));
    assert_eq!(template_hash(&recorded), None);
    assert_eq!(history.rollouts("web"), 0);
}

#[tokio::test]
async fn missing_sources_optional_rolls_on_creation_required_warns() {
    let (_cluster, client) = mk_cluster().await;
    let optional = json!({"containers": [{"name": "app", "image": "x",
        "envFrom": [{"secretRef": {"name": "later", "optional": true}}]}]});
    let required = json!({"containers": [{"name": "app", "image": "x",
        "envFrom": [{"secretRef": {"name": "absent"}}]}]});
    create_deployment(&client, &mk_auto_deployment("opt", optional)).await;
    create_deployment(&client, &mk_auto_deployment("req", required)).await;
    let (history, _operator) = TemplateHistory::watch_and_start(&client, Config::default()).await;
    wait_for_record(&client, "opt", None).await;
    let warning = wait_for_event(&client, "req", "SourceMissing").await;
    assert_eq!(warning.type_.as_deref(), Some("Warning"));
    assert!(warning.note.unwrap_or_default().contains("absent"));
    assert_eq!(observed_hash(&get_deployment(&client, "req").await), None);

    put_secret(&client, "later", json!({"token": "t"})).await;
    history.wait_for_rollouts("opt", 1).await;
    assert_eq!(history.rollouts("req"), 0);
}
