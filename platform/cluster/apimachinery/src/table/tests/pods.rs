//! Pod READY / STATUS / RESTARTS edge cases, following printPod.
use super::{ago, columns, meta, only_row, table_of};
use serde_json::{Value, json};

fn pod(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta("web-1", 600), "spec": spec, "status": status})
}

fn containers(names: &[&str]) -> Value {
    json!(
        names
            .iter()
            .map(|n| json!({"name": n, "image": "nginx"}))
            .collect::<Vec<_>>()
    )
}

fn running(name: &str, ready: bool, restarts: i64) -> Value {
    json!({"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": ago(60)}}})
}

fn waiting(name: &str, reason: &str) -> Value {
    json!({"name": name, "ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason}}})
}

fn terminated(name: &str, exit_code: i64, reason: &str, signal: i64) -> Value {
    json!({"name": name, "ready": false, "restartCount": 0,
           "state": {"terminated": {"exitCode": exit_code, "reason": reason, "signal": signal}}})
}

/// READY, STATUS, RESTARTS of the pod.
fn summary(pod: &Value) -> (String, String, String) {
    let cells = only_row(&table_of("", "pods", std::slice::from_ref(pod)));
    let text = |i: usize| {
        cells
            .get(i)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    (text(1), text(2), text(3))
}

fn expect(pod: &Value, ready: &str, status: &str, restarts: &str) {
    assert_eq!(
        summary(pod),
        (ready.to_string(), status.to_string(), restarts.to_string()),
        "{pod}"
    );
}

#[test]
fn pod_columns_match_kube_apiserver() {
    let table = table_of("", "pods", &[]);
    let expected = [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ];
    assert_eq!(
        columns(&table),
        expected.map(|(n, p)| (n.to_string(), p)).to_vec()
    );
    assert_eq!(table["columnDefinitions"][3]["type"], "string");
}

#[test]
fn running_pod_full_row_including_wide_cells() {
    let p = pod(
        json!({"containers": containers(&["app", "sidecar"]), "nodeName": "node-1",
                       "readinessGates": [{"conditionType": "a"}, {"conditionType": "b"}]}),
        json!({"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}],
               "conditions": [{"type": "a", "status": "True"}, {"type": "b", "status": "False"}],
               "containerStatuses": [running("app", true, 0), running("sidecar", true, 0)]}),
    );
    let table = table_of("", "pods", &[p]);
    assert_eq!(
        only_row(&table),
        vec![
            json!("web-1"),
            json!("2/2"),
            json!("Running"),
            json!("0"),
            json!("10m"),
            json!("10.0.0.5"),
            json!("node-1"),
            json!("<none>"),
            json!("1/2")
        ]
    );
    assert_eq!(table["rows"][0].get("conditions"), None);
}

#[test]
fn crash_loop_shows_reason_and_last_restart_age() {
    let mut crashing = waiting("app", "CrashLoopBackOff");
    crashing["restartCount"] = json!(5);
    crashing["lastState"] =
        json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(300)}});
    let p = pod(
        json!({"containers": containers(&["app", "side"])}),
        json!({"phase": "Running", "containerStatuses": [crashing, running("side", true, 1)]}),
    );
    expect(&p, "1/2", "CrashLoopBackOff", "6 (5m ago)");
}

#[test]
fn pending_pod_without_statuses_shows_phase_and_wide_none() {
    let p = pod(
        json!({"containers": containers(&["app"])}),
        json!({"phase": "Pending"}),
    );
    let cells = only_row(&table_of("", "pods", std::slice::from_ref(&p)));
    assert_eq!(
        cells[1..],
        [
            json!("0/1"),
            json!("Pending"),
            json!("0"),
            json!("10m"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
    expect(
        &pod(
            json!({"containers": containers(&["app"])}),
            json!({"phase": "Failed", "reason": "Evicted"}),
        ),
        "0/1",
        "Evicted",
        "0",
    );
}

#[test]
fn terminated_containers_give_reason_exit_code_or_signal() {
    let spec = json!({"containers": containers(&["app"])});
    expect(
        &pod(
            spec.clone(),
            json!({"phase": "Running", "containerStatuses": [terminated("app", 1, "Error", 0)]}),
        ),
        "0/1",
        "Error",
        "0",
    );
    expect(
        &pod(
            spec.clone(),
            json!({"phase": "Running", "containerStatuses": [terminated("app", 137, "", 0)]}),
        ),
        "0/1",
        "ExitCode:137",
        "0",
    );
    expect(
        &pod(
            spec.clone(),
            json!({"phase": "Running", "containerStatuses": [terminated("app", 0, "", 9)]}),
        ),
        "0/1",
        "Signal:9",
        "0",
    );
    expect(
        &pod(
            spec,
            json!({"phase": "Running", "containerStatuses": [waiting("app", "ContainerCreating")]}),
        ),
        "0/1",
        "ContainerCreating",
        "0",
    );
}

#[test]
fn completed_container_next_to_a_running_one() {
    let spec = json!({"containers": containers(&["job", "proxy"])});
    let statuses = json!([
        terminated("job", 0, "Completed", 0),
        running("proxy", true, 0)
    ]);
    let ready = json!([{"type": "Ready", "status": "True"}]);
    expect(
        &pod(
            spec.clone(),
            json!({"phase": "Running", "containerStatuses": statuses, "conditions": ready}),
        ),
        "1/2",
        "Running",
        "0",
    );
    expect(
        &pod(
            spec,
            json!({"phase": "Running", "containerStatuses": statuses}),
        ),
        "1/2",
        "NotReady",
        "0",
    );
}

#[test]
fn init_containers_progress_and_failures() {
    let spec = json!({"initContainers": containers(&["migrate", "seed"]), "containers": containers(&["app"])});
    let status = |inits: Value| {
        json!({"phase": "Pending", "initContainerStatuses": inits,
        "containerStatuses": [waiting("app", "PodInitializing")]})
    };
    expect(
        &pod(
            spec.clone(),
            status(json!([
                running("migrate", false, 0),
                waiting("seed", "PodInitializing")
            ])),
        ),
        "0/1",
        "Init:0/2",
        "0",
    );
    expect(
        &pod(
            spec.clone(),
            status(json!([
                terminated("migrate", 0, "Completed", 0),
                running("seed", false, 0)
            ])),
        ),
        "0/1",
        "Init:1/2",
        "0",
    );
    let mut looping = waiting("migrate", "CrashLoopBackOff");
    looping["restartCount"] = json!(3);
    expect(
        &pod(
            spec.clone(),
            status(json!([looping, waiting("seed", "PodInitializing")])),
        ),
        "0/1",
        "Init:CrashLoopBackOff",
        "3",
    );
    expect(
        &pod(
            spec.clone(),
            status(json!([terminated("migrate", 2, "", 0)])),
        ),
        "0/1",
        "Init:ExitCode:2",
        "0",
    );
    expect(
        &pod(
            spec.clone(),
            status(json!([
                terminated("migrate", 0, "", 0),
                terminated("seed", 1, "", 15)
            ])),
        ),
        "0/1",
        "Init:Signal:15",
        "0",
    );
    expect(
        &pod(spec, status(json!([terminated("migrate", 1, "Error", 0)]))),
        "0/1",
        "Init:Error",
        "0",
    );
}

#[test]
fn deletion_timestamp_means_terminating_or_unknown_on_node_lost() {
    let mut p = pod(
        json!({"containers": containers(&["app"])}),
        json!({"phase": "Running", "containerStatuses": [running("app", true, 0)]}),
    );
    p["metadata"]["deletionTimestamp"] = json!(ago(5));
    expect(&p, "1/1", "Terminating", "0");
    p["status"]["reason"] = json!("NodeLost");
    expect(&p, "1/1", "Unknown", "0");
}

#[test]
fn finished_pods_carry_completed_row_conditions() {
    let p = pod(
        json!({"containers": containers(&["app"])}),
        json!({"phase": "Succeeded", "containerStatuses": [terminated("app", 0, "Completed", 0)]}),
    );
    let table = table_of("", "pods", std::slice::from_ref(&p));
    assert_eq!(table["rows"][0]["cells"][2], "Completed");
    assert_eq!(
        table["rows"][0]["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded",
        "message": "The pod has completed successfully."}])
    );
}

#[test]
fn sidecars_count_as_containers_once_started() {
    let spec = json!({"initContainers": [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"},
        {"name": "migrate", "image": "tool"}], "containers": containers(&["app"])});
    let mut proxy = running("proxy", true, 2);
    proxy["started"] = json!(true);
    proxy["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": ago(150)}});
    let initializing = json!({"phase": "Pending", "initContainerStatuses": [proxy, running("migrate", false, 0)],
        "containerStatuses": [waiting("app", "PodInitializing")]});
    expect(
        &pod(spec.clone(), initializing),
        "1/2",
        "Init:1/2",
        "2 (2m30s ago)",
    );

    let started = json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
        "initContainerStatuses": [proxy, terminated("migrate", 0, "Completed", 0)],
        "containerStatuses": [running("app", true, 1)]});
    expect(&pod(spec, started), "2/2", "Running", "3 (2m30s ago)");
}

#[test]
fn scheduling_gated_and_deleted_finished_pods() {
    let gated = pod(
        json!({"containers": containers(&["app"])}),
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    expect(&gated, "0/1", "SchedulingGated", "0");

    let mut done = pod(
        json!({"containers": containers(&["app"])}),
        json!({"phase": "Succeeded", "containerStatuses": [terminated("app", 0, "Completed", 0)]}),
    );
    done["metadata"]["deletionTimestamp"] = json!(ago(1));
    expect(&done, "0/1", "Completed", "0");
}
