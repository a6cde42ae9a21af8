//! In process: the embedded cluster calls the injection webhook on Pod CREATE over caBundle-verified HTTPS
//! and stores the patched pod; failurePolicy and a wrong caBundle behave as in kube-apiserver.
use std::path::Path;

use base64::Engine as _;
use configsync_cluster::{Config, EmbeddedCluster};
use configsync_operator::webhook::certs::DevCerts;
use configsync_operator::webhook::{ReviewPolicy, Webhook, WebhookConfig};
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

async fn start_webhook(dir: &Path, client: kube::Client) -> (String, String) {
    let certs = DevCerts::generate(&["127.0.0.1".to_owned()]).expect("certs");
    certs.write(dir).expect("write certs");
    let config = WebhookConfig {
        addr: "127.0.0.1:0".parse().expect("addr"),
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
        policy: ReviewPolicy::default(),
    };
    let webhook = Webhook::bind(config, client).await.expect("bind");
    let url = format!("https://{}/mutate", webhook.local_addr().expect("addr"));
    tokio::spawn(webhook.run());
    let ca = base64::engine::general_purpose::STANDARD.encode(certs.ca_cert_pem);
    (url, ca)
}

fn webhook_config(
    name: &str,
    url: &str,
    ca: &str,
    failure_policy: &str,
) -> MutatingWebhookConfiguration {
    serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [{
            "name": format!("{name}.configsync.dev"),
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"url": url, "caBundle": ca},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "objectSelector": {"matchExpressions": [{"key": "webhook", "operator": "In", "values": [name]}]},
            "failurePolicy": failure_policy,
            "reinvocationPolicy": "IfNeeded",
            "sideEffects": "None",
            "timeoutSeconds": 5
        }]
    }))
    .expect("config")
}

fn pod(name: &str, selector_label: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": {"webhook": selector_label},
            "annotations": {"configsync.dev/inject": "true", "configsync.dev/inject-configmaps": "app-config"}
        },
        "spec": {"containers": [{"name": "app", "image": "app"}]}
    }))
    .expect("pod")
}

#[tokio::test]
async fn pods_are_injected_through_the_webhook_and_failure_policy_applies() {
    let cluster = EmbeddedCluster::start(Config::default()).await;
    let client = cluster.client();
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, ca) = start_webhook(dir.path(), client.clone()).await;
    let configs = Api::<MutatingWebhookConfiguration>::all(client.clone());
    let pods = Api::<Pod>::namespaced(client.clone(), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "app-config"}, "data": {"k": "v"}}))
            .expect("cm");
    Api::<ConfigMap>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &cm)
        .await
        .expect("cm");
    let post = PostParams::default();

    configs
        .create(&post, &webhook_config("inject", &url, &ca, "Fail"))
        .await
        .expect("config");
    let created = pods
        .create(&post, &pod("web", "inject"))
        .await
        .expect("pod");
    let spec = created.spec.expect("spec");
    let sidecar = &spec.init_containers.expect("init containers")[0];
    assert_eq!(sidecar.name, "configsync");
    assert_eq!(sidecar.restart_policy.as_deref(), Some("Always"));
    let annotations = created.metadata.annotations.expect("annotations");
    assert_eq!(
        annotations
            .get("configsync.dev/injected")
            .map(String::as_str),
        Some("true")
    );
    assert!(annotations["configsync.dev/config-hash"].starts_with("v1:"));

    // A pod the objectSelector does not match is not sent to the webhook.
    let untouched = pods
        .create(&post, &pod("other", "none"))
        .await
        .expect("pod");
    assert!(untouched.spec.expect("spec").init_containers.is_none());

    // A webhook whose certificate does not verify against caBundle: Fail refuses, Ignore admits unchanged.
    let other_ca = base64::engine::general_purpose::STANDARD.encode(
        DevCerts::generate(&["127.0.0.1".to_owned()])
            .expect("certs")
            .ca_cert_pem,
    );
    configs
        .create(&post, &webhook_config("strict", &url, &other_ca, "Fail"))
        .await
        .expect("config");
    let error = pods
        .create(&post, &pod("refused", "strict"))
        .await
        .expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("failed calling webhook \"strict.configsync.dev\""),
        "{error}"
    );
    configs
        .create(&post, &webhook_config("lenient", &url, &other_ca, "Ignore"))
        .await
        .expect("config");
    let admitted = pods
        .create(&post, &pod("admitted", "lenient"))
        .await
        .expect("admitted");
    assert!(admitted.spec.expect("spec").init_containers.is_none());
}
