//! Annotation rollouts end to end, on either backend (`CONFIGSYNC_REAL_K8S` chooses): `configsync operator` as a
//! process, workloads and sources applied with kubectl, rollouts counted as the workload controllers see them
//! (one new ReplicaSet per rollout).
//!
//! - Every reference kind (env `valueFrom`, `envFrom`, a volume with `items`, a projected volume, an init
//!   container) and the Reloader and wave opt-ins roll once per change of a key they consume, and never for a key
//!   they do not.
//! - An operator restart rolls nothing; a change made while it was down rolls exactly once when it is back.
//!
//! "Nothing rolled" is asserted at a synchronisation point, never after a sleep: the operator handles the changes
//! in order, so once a workload that consumes a later change has rolled, the earlier change has been handled too.
mod support;

use serde_json::{Value, json};
use support::{Cluster, start, start_operator, wait_until};

/// A Deployment `name` (label `app: <name>`) with `annotations` and `pod_spec`.
fn deployment(name: &str, annotations: Value, pod_spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        },
    })
}

fn container(extra: Value) -> Value {
    let mut container = json!({"name": "app", "image": "registry.invalid/app:1"});
    if let (Some(container), Some(extra)) = (container.as_object_mut(), extra.as_object()) {
        container.extend(extra.clone());
    }
    container
}

const AUTO: &str = "configsync.dev/auto";
const OBSERVED: &str = "/metadata/annotations/configsync.dev~1observed-hash";

/// The workloads of the reference-kind test: (name, opt-in annotations, pod spec).
fn fleet() -> Vec<(&'static str, Value, Value)> {
    let auto = json!({AUTO: "true"});
    vec![
        (
            "env-key",
            auto.clone(),
            json!({"containers": [container(json!({"env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}}]}))]}),
        ),
        (
            "env-from",
            auto.clone(),
            json!({"containers": [container(json!({"envFrom": [{"secretRef": {"name": "sec"}}]}))]}),
        ),
        (
            "volume-items",
            auto.clone(),
            json!({"containers": [container(json!({}))], "volumes": [
                {"name": "c", "configMap": {"name": "cfg", "items": [{"key": "b", "path": "b"}]}}]}),
        ),
        (
            "projected",
            auto.clone(),
            json!({"containers": [container(json!({}))], "volumes": [{"name": "p", "projected": {"sources": [
                {"configMap": {"name": "cfg", "items": [{"key": "a", "path": "a"}]}},
                {"secret": {"name": "sec"}}]}}]}),
        ),
        (
            "init",
            auto,
            json!({"initContainers": [container(json!({"name": "init", "env": [
                {"name": "S", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "s"}}}]}))],
                   "containers": [container(json!({}))]}),
        ),
        (
            "reloader",
            json!({"reloader.stakater.com/auto": "true"}),
            json!({"containers": [container(json!({"env": [
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}}]}))]}),
        ),
        (
            "wave",
            json!({"wave.pusher.com/update-on-config-change": "true"}),
            json!({"containers": [container(json!({}))], "volumes": [
                {"name": "c", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "a"}]}}]}),
        ),
    ]
}

/// How many ReplicaSets the Deployment `app` has: 1 + the rollouts of its template.
fn replicasets(cluster: &Cluster, app: &str) -> usize {
    let list = cluster.json(&["get", "replicasets", "-l", &format!("app={app}")]);
    list["items"].as_array().map_or(0, Vec::len)
}

/// Wait until every named Deployment has exactly the given number of ReplicaSets.
fn wait_for_replicasets(cluster: &Cluster, wanted: &[(&str, usize)]) {
    let mut seen = Vec::new();
    let settled = support::eventually(|| {
        seen = wanted
            .iter()
            .map(|(app, _)| (*app, replicasets(cluster, app)))
            .collect();
        seen == wanted
    });
    assert!(settled, "ReplicaSets: wanted {wanted:?}, saw {seen:?}");
}

fn adopted(cluster: &Cluster, name: &str) -> bool {
    let deployment = cluster.json(&["get", "deployment", name]);
    deployment.pointer(OBSERVED).is_some()
}

fn patch_data(cluster: &Cluster, kind: &str, name: &str, key: &str, value: &str) {
    let field = if kind == "secret" {
        "stringData"
    } else {
        "data"
    };
    cluster.merge_patch(kind, name, &json!({field: {key: value}}).to_string());
}

#[test]
fn every_reference_kind_rolls_once_per_consumed_change_and_never_for_others() {
    let Some(cluster) = start() else { return };
    cluster.apply_json(
        "cfg.json",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
            "data": {"a": "1", "b": "1", "unused": "1"}}),
    );
    cluster.apply_json(
        "sec.json",
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"},
            "stringData": {"s": "1"}}),
    );
    let fleet = fleet();
    for (name, annotations, spec) in &fleet {
        cluster.apply_json(
            &format!("{name}.json"),
            &deployment(name, annotations.clone(), spec.clone()),
        );
    }
    let names: Vec<&str> = fleet.iter().map(|(name, ..)| *name).collect();
    let initial: Vec<(&str, usize)> = names.iter().map(|name| (*name, 1)).collect();
    wait_for_replicasets(&cluster, &initial);
    let _operator = start_operator(&cluster, &[]);
    wait_until("every workload is adopted", || {
        names.iter().all(|name| adopted(&cluster, name))
    });

    // An unused key, then `a`: once a's consumers rolled, the unused change was handled and rolled nothing.
    patch_data(&cluster, "configmap", "cfg", "unused", "2");
    patch_data(&cluster, "configmap", "cfg", "a", "2");
    let after_a = [
        ("env-key", 2),
        ("projected", 2),
        ("reloader", 2),
        ("wave", 2),
        ("env-from", 1),
        ("volume-items", 1),
        ("init", 1),
    ];
    wait_for_replicasets(&cluster, &after_a);

    patch_data(&cluster, "configmap", "cfg", "b", "2");
    patch_data(&cluster, "secret", "sec", "s", "2");
    wait_for_replicasets(
        &cluster,
        &[
            ("env-key", 2),
            ("projected", 3),
            ("reloader", 2),
            ("wave", 2),
            ("env-from", 2),
            ("volume-items", 2),
            ("init", 2),
        ],
    );
    let events = cluster.ok(&["get", "events", "--field-selector", "reason=ConfigRolled"]);
    assert!(
        events.contains("ConfigMap cfg keys [a] changed"),
        "{events}"
    );
    for value in ["\"2\"", "MQ==", "Mg=="] {
        assert!(!events.contains(value), "Events carry no values: {events}");
    }
}

#[test]
fn a_restart_rolls_nothing_and_a_change_made_while_down_rolls_once() {
    let Some(cluster) = start() else { return };
    for (source, name) in [("web-config", "web"), ("canary-config", "canary")] {
        cluster.apply_json(
            &format!("{source}.json"),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": source},
                "data": {"k": "1"}}),
        );
        let spec = json!({"containers": [container(json!({"envFrom": [{"configMapRef": {"name": source}}]}))]});
        cluster.apply_json(
            &format!("{name}.json"),
            &deployment(name, json!({AUTO: "true"}), spec),
        );
    }
    wait_for_replicasets(&cluster, &[("web", 1), ("canary", 1)]);
    let operator = start_operator(&cluster, &[]);
    wait_until("both are adopted", || {
        adopted(&cluster, "web") && adopted(&cluster, "canary")
    });
    drop(operator);

    // Restart with nothing changed meanwhile except the canary's source: once the canary rolled, the catch-up
    // after the restart is done, and it must not have rolled web.
    patch_data(&cluster, "configmap", "canary-config", "k", "2");
    let operator = start_operator(&cluster, &[]);
    wait_for_replicasets(&cluster, &[("canary", 2), ("web", 1)]);
    drop(operator);

    // A change while it is down rolls web exactly once when it is back (the canary again marks the catch-up).
    patch_data(&cluster, "configmap", "web-config", "k", "2");
    patch_data(&cluster, "configmap", "canary-config", "k", "3");
    let _operator = start_operator(&cluster, &[]);
    wait_for_replicasets(&cluster, &[("canary", 3), ("web", 2)]);
    cluster.ok(&["rollout", "status", "deployment/web", "--timeout=30s"]);
}
