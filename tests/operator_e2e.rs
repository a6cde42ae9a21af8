//! End to end: `configsync cluster` and `configsync operator` as processes, driven by the real `kubectl`.
//!
//! kubectl must be on PATH (see `support::kubectl_available`). Every wait polls against a deadline.
mod support;

use support::{Cluster, path_str, start, start_operator, wait_until};

/// The ConfigMap `app` and the Deployment `web` that follows it.
fn manifest() -> String {
    support::app_and_web_manifest(&[("configsync.dev/auto", "true")])
}

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
    let manifest = cluster.file("app.yaml", &manifest());
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

/// `status.conditions[type=ConfigSyncApplied]` of Deployment `name`: (status, reason, message).
fn config_sync_applied(cluster: &Cluster, name: &str) -> Option<(String, String, String)> {
    let deployment = cluster.json(&["get", "deployment", name]);
    let conditions = deployment.pointer("/status/conditions")?.as_array()?;
    let condition = conditions
        .iter()
        .find(|c| c["type"] == "ConfigSyncApplied")?;
    let text = |field: &str| condition[field].as_str().unwrap_or_default().to_owned();
    Some((text("status"), text("reason"), text("message")))
}

/// Annotations may hold 256 KiB in all (keys and values); this filler leaves 60 bytes, room for the workload
/// controller's own revision annotation but not for configsync's observed-hash.
fn filler(annotations: &[(&str, &str)]) -> String {
    const LIMIT: usize = 262_144;
    let taken: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    "x".repeat(LIMIT - taken - "example.com/filler".len() - 60)
}

#[test]
fn a_refused_apply_sets_a_condition_until_an_apply_succeeds() {
    let Some(cluster) = start() else {
        return;
    };
    let _operator = start_operator(&cluster, &[]);
    let auto = ("configsync.dev/auto", "true");
    let deployment = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "full", "annotations": {
            auto.0: auto.1, "example.com/filler": filler(&[auto])}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "full"}},
            "template": {"metadata": {"labels": {"app": "full"}}, "spec": {"containers": [{"name": "app",
                "image": "nginx:1.25", "envFrom": [{"configMapRef": {"name": "full-config"}}]}]}}}});
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: full-config}\ndata: {secret-ish: s3cr3t-value}\n";
    cluster.ok(&[
        "create",
        "-f",
        path_str(&cluster.file("full-config.yaml", config)),
    ]);
    // `create`, not `apply`: apply would copy the filler into its last-applied annotation.
    let path = cluster.file("full.json", &deployment.to_string());
    cluster.ok(&["create", "-f", path_str(&path)]);

    wait_until("the refused apply sets ConfigSyncApplied False", || {
        config_sync_applied(&cluster, "full").is_some_and(|(status, _, _)| status == "False")
    });
    let (_, reason, message) = config_sync_applied(&cluster, "full").unwrap_or_default();
    assert_eq!(reason, "ApplyFailed");
    assert!(message.contains("(invalid)"), "{message}");
    assert!(!message.contains("s3cr3t-value"), "{message}");
    let events = cluster.ok(&["get", "events", "--field-selector", "reason=ApplyFailed"]);
    assert!(events.contains("full"), "the Warning Event too: {events}");
    let described = cluster.ok(&["describe", "deployment", "full"]);
    assert!(described.contains("ConfigSyncApplied"), "{described}");

    cluster.merge_patch(
        "deployment",
        "full",
        r#"{"metadata":{"annotations":{"example.com/filler":"small"}}}"#,
    );
    wait_until(
        "the next apply goes through and sets ConfigSyncApplied True",
        || config_sync_applied(&cluster, "full").is_some_and(|(status, _, _)| status == "True"),
    );
    let observed = cluster.json(&["get", "deployment", "full"]);
    assert!(observed.pointer(OBSERVED).is_some(), "adopted at last");
    assert_eq!(
        config_sync_applied(&cluster, "full").map(|(_, reason, _)| reason),
        Some("Applied".to_owned())
    );
}

/// The design rests on this: a workload controller that rewrites status keeps a condition type it does not
/// know (the deployment controller copies `status.conditions`, and writes with the resourceVersion it read),
/// on both backends.
#[test]
fn the_deployment_controller_keeps_configsyncs_condition_when_it_writes_status() {
    let Some(cluster) = start() else {
        return;
    };
    let manifest = cluster.file("app.yaml", &manifest());
    cluster.ok(&["apply", "-f", path_str(&manifest)]);
    // Written while the controller may still be rolling the new Deployment out: its status write computed
    // before the condition gets 409 Conflict (on both backends) and is computed again from the fresh object.
    let condition = r#"{"status":{"conditions":[{"type":"ConfigSyncApplied","status":"False",
        "reason":"ApplyFailed","message":"refused","lastTransitionTime":"2026-12-07T08:00:00Z"}]}}"#;
    cluster.ok(&[
        "patch",
        "deployment",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        condition,
    ]);
    cluster.ok(&["scale", "deployment", "web", "--replicas=2"]);
    wait_until(
        "the deployment controller writes status for 2 replicas",
        || {
            let status = cluster.json(&["get", "deployment", "web"])["status"].clone();
            status["replicas"] == 2
                && status["updatedReplicas"] == 2
                && status["availableReplicas"] == 2
        },
    );
    assert_eq!(
        config_sync_applied(&cluster, "web"),
        Some((
            "False".to_owned(),
            "ApplyFailed".to_owned(),
            "refused".to_owned()
        )),
        "the controller kept the foreign condition"
    );
}
