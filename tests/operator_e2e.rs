//! End to end: `configsync cluster` and `configsync operator` as processes, driven by the real `kubectl`.
//!
//! kubectl must be on PATH (see `support::kubectl_available`). Every wait polls against a deadline.
mod support;

use support::{Cluster, path_str, start, start_operator, wait_until};

const MANIFEST: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
  annotations:
    configsync.dev/auto: \"true\"
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        envFrom:
        - configMapRef: {name: app}
";

fn annotation(cluster: &Cluster, path: &str) -> Option<String> {
    let deployment = cluster.json(&["get", "deployment", "web"]);
    let value = deployment.pointer(path)?;
    value.as_str().map(str::to_owned)
}

const OBSERVED: &str = "/metadata/annotations/configsync.dev~1observed-hash";
const TEMPLATE: &str = "/spec/template/metadata/annotations/configsync.dev~1config-hash";

/// Apply the manifest, let the operator adopt the Deployment, edit the ConfigMap: the template rolls.
fn edit_rolls_the_deployment(cluster: &Cluster) {
    let _operator = start_operator(cluster, &[]);
    let manifest = cluster.file("app.yaml", MANIFEST);
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    wait_until("the operator records the Deployment's config", || {
        annotation(cluster, OBSERVED).is_some()
    });
    let adopted = annotation(cluster, OBSERVED);
    assert_eq!(
        annotation(cluster, TEMPLATE),
        None,
        "adoption restarts nothing"
    );

    cluster.merge_patch("configmap", "app", r#"{"data":{"greeting":"bonjour"}}"#);
    wait_until("the pod template carries the new hash", || {
        annotation(cluster, TEMPLATE).is_some()
    });
    let template = annotation(cluster, TEMPLATE);
    assert_eq!(template, annotation(cluster, OBSERVED));
    assert_ne!(template, adopted);
    let events = cluster.ok(&["get", "events", "--field-selector", "reason=ConfigRolled"]);
    assert!(
        events.contains("ConfigMap app keys [greeting] changed"),
        "{events}"
    );
    assert!(
        !events.contains("bonjour"),
        "Events never carry values: {events}"
    );
}

#[test]
fn kubectl_edit_of_a_configmap_rolls_the_deployment_to_completion() {
    let Some(cluster) = start() else {
        return;
    };
    edit_rolls_the_deployment(&cluster);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=20s"]);
    let replicasets = cluster.json(&["get", "replicasets", "-l", "app=web"]);
    let items = replicasets["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "the edit made exactly one new ReplicaSet");
}
