//! `deploy/webhook.yaml` fits the rest of `deploy/`: its Service reaches the operator's webhook port in the
//! operator's namespace, which the webhook never intercepts; the webhook's read access is bound to the
//! operator's ServiceAccount; and the injected sidecar's RBAC is documented and shipped as a ClusterRole.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

fn manifests(file: &str) -> Vec<Value> {
    let path = format!("{}/../deploy/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_multiple(&text).unwrap()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn the_service_reaches_the_operator_webhook_port_in_its_namespace() {
    let webhook = manifests("webhook.yaml");
    let operator = &manifests("operator.yaml")[0];
    let namespace = operator["metadata"]["namespace"].as_str().unwrap();
    let service = find(&webhook, "Service", "configsync-webhook");
    assert_eq!(service["metadata"]["namespace"], namespace);
    let pod_labels = &operator["spec"]["template"]["metadata"]["labels"];
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(
            &pod_labels[key], value,
            "the Service selects the operator pods"
        );
    }
    let container = &operator["spec"]["template"]["spec"]["containers"][0];
    let env = container["env"].as_array().unwrap();
    let addr = env
        .iter()
        .find(|e| e["name"] == "CONFIGSYNC_WEBHOOK_ADDR")
        .unwrap();
    let port = addr["value"].as_str().unwrap().rsplit(':').next().unwrap();
    assert_eq!(service["spec"]["ports"][0]["targetPort"].to_string(), port);

    let config = find(
        &webhook,
        "MutatingWebhookConfiguration",
        "configsync-inject",
    );
    let hook = &config["webhooks"][0];
    assert_eq!(hook["clientConfig"]["service"]["namespace"], namespace);
    assert_eq!(
        hook["clientConfig"]["service"]["name"],
        "configsync-webhook"
    );
    let excluded = &hook["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(excluded["operator"], "NotIn");
    assert!(
        excluded["values"]
            .as_array()
            .unwrap()
            .contains(&json!(namespace))
    );
    assert_eq!(hook["failurePolicy"], "Ignore");
    assert_eq!(hook["reinvocationPolicy"], "IfNeeded");
    assert_eq!(hook["sideEffects"], "None");
}

#[test]
fn the_webhook_reads_as_the_operator_service_account() {
    let webhook = manifests("webhook.yaml");
    let account = find(
        &manifests("rbac.yaml"),
        "ServiceAccount",
        "configsync-operator",
    )
    .clone();
    let binding = find(&webhook, "ClusterRoleBinding", "configsync-webhook");
    assert_eq!(binding["roleRef"]["name"], "configsync-webhook");
    assert_eq!(binding["subjects"][0]["name"], account["metadata"]["name"]);
    assert_eq!(
        binding["subjects"][0]["namespace"],
        account["metadata"]["namespace"]
    );
    let role = find(&webhook, "ClusterRole", "configsync-webhook");
    assert_eq!(role["rules"][0]["resources"], json!(["namespaces"]));
}

#[test]
fn the_injected_sidecar_rbac_is_shipped_and_documented() {
    let text = std::fs::read_to_string(format!(
        "{}/../deploy/webhook.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(text.contains("RBAC of the INJECTED sidecar"));
    assert!(text.contains("kubectl -n NAMESPACE create rolebinding"));
    let webhook = manifests("webhook.yaml");
    let role = find(&webhook, "ClusterRole", "configsync-sidecar");
    let rule = &role["rules"][0];
    assert_eq!(rule["resources"], json!(["configmaps", "secrets"]));
    assert_eq!(rule["verbs"], json!(["list", "watch"]), "read-only");
    let namespaced = webhook
        .iter()
        .filter(|d| d["kind"] != "MutatingWebhookConfiguration")
        .filter(|d| !d["metadata"]["namespace"].is_null());
    for doc in namespaced {
        assert_eq!(
            doc["metadata"]["namespace"], "configsync-system",
            "deploy/ creates nothing in app namespaces: {doc}"
        );
    }
}
