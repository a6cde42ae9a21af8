//! The pod printer: READY `ready/total`, STATUS from the phase and the container states (init progress,
//! waiting and terminated reasons, `SchedulingGated`, `Terminating`), RESTARTS with the time since the last
//! restart. Follows `printPod` of kube-apiserver 1.29+, including sidecars (restartable init containers).
use super::access::{age, array_at, at, i64_at, name, since, str_at, time_at};
use super::{Column, Printer, Row};
use serde_json::{Value, json};

const IP_DOC: &str = "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
const NODE_DOC: &str = "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName.";
const NOMINATED_DOC: &str = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.";
const GATES_DOC: &str = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\"";

pub(crate) fn printer(now: jiff::Timestamp) -> Printer<'static> {
    Printer {
        columns: vec![
            Column::name(),
            Column::new(
                "Ready",
                "string",
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            Column::new(
                "Status",
                "string",
                "The aggregate status of the containers in this pod.",
            ),
            Column::new(
                "Restarts",
                "string",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            Column::age(),
            Column::new("IP", "string", IP_DOC).wide(),
            Column::new("Node", "string", NODE_DOC).wide(),
            Column::new("Nominated Node", "string", NOMINATED_DOC).wide(),
            Column::new("Readiness Gates", "string", GATES_DOC).wide(),
        ],
        row: Box::new(move |pod| pod_row(pod, now)),
    }
}

/// What the container statuses say: the STATUS reason, ready and total counts, restarts and the last restart.
/// Restartable init containers (sidecars, `restartPolicy: Always`) count as containers once started.
struct ContainerSummary {
    reason: String,
    ready: usize,
    total: usize,
    restarts: i64,
    last_restart: Option<jiff::Timestamp>,
    sidecar_restarts: i64,
    sidecar_last_restart: Option<jiff::Timestamp>,
}

fn pod_row(pod: &Value, now: jiff::Timestamp) -> Row {
    let phase = str_at(pod, &["status", "phase"]);
    let status_reason = str_at(pod, &["status", "reason"]);
    let mut reason = if status_reason.is_empty() {
        phase
    } else {
        status_reason
    };
    if conditions(pod).any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    }) {
        reason = "SchedulingGated";
    }
    let sidecars = sidecar_names(pod);
    let mut summary = ContainerSummary {
        reason: reason.to_string(),
        ready: 0,
        total: array_at(pod, &["spec", "containers"]).len() + sidecars.len(),
        restarts: 0,
        last_restart: None,
        sidecar_restarts: 0,
        sidecar_last_restart: None,
    };
    let initializing = init_containers(pod, &sidecars, &mut summary);
    if !initializing || condition_is_true(pod, "Initialized") {
        app_containers(pod, &mut summary);
    }
    if at(pod, &["metadata", "deletionTimestamp"]).is_some_and(|t| !t.is_null()) {
        if status_reason == "NodeLost" {
            summary.reason = "Unknown".into();
        } else if !matches!(phase, "Succeeded" | "Failed") {
            summary.reason = "Terminating".into();
        }
    }
    let restarts = match summary.last_restart {
        Some(last) => format!("{} ({} ago)", summary.restarts, since(now, Some(last))),
        None => summary.restarts.to_string(),
    };
    let cells = vec![
        name(pod),
        format!("{}/{}", summary.ready, summary.total).into(),
        summary.reason.into(),
        restarts.into(),
        age(now, pod),
        or_none(
            array_at(pod, &["status", "podIPs"])
                .first()
                .map_or("", |ip| str_at(ip, &["ip"])),
        ),
        or_none(str_at(pod, &["spec", "nodeName"])),
        or_none(str_at(pod, &["status", "nominatedNodeName"])),
        readiness_gates(pod).into(),
    ];
    Row {
        cells,
        conditions: finished_conditions(phase),
    }
}

fn or_none(text: &str) -> Value {
    if text.is_empty() {
        "<none>".into()
    } else {
        text.into()
    }
}

fn conditions(pod: &Value) -> impl Iterator<Item = &Value> {
    array_at(pod, &["status", "conditions"]).iter()
}

fn condition_is_true(pod: &Value, type_: &str) -> bool {
    conditions(pod).any(|c| str_at(c, &["type"]) == type_ && str_at(c, &["status"]) == "True")
}

/// Names of the init containers with `restartPolicy: Always`.
fn sidecar_names(pod: &Value) -> Vec<&str> {
    array_at(pod, &["spec", "initContainers"])
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .map(|c| str_at(c, &["name"]))
        .collect()
}

/// The last termination time recorded in a container status.
fn last_termination(status: &Value) -> Option<jiff::Timestamp> {
    time_at(status, &["lastState", "terminated", "finishedAt"])
}

/// The init container pass; true while the pod is still initializing.
fn init_containers(pod: &Value, sidecars: &[&str], summary: &mut ContainerSummary) -> bool {
    let declared = array_at(pod, &["spec", "initContainers"]).len();
    for (index, status) in array_at(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let restarts = i64_at(status, &["restartCount"]);
        summary.restarts += restarts;
        summary.last_restart = summary.last_restart.max(last_termination(status));
        let is_sidecar = sidecars.contains(&str_at(status, &["name"]));
        if is_sidecar {
            summary.sidecar_restarts += restarts;
            summary.sidecar_last_restart =
                summary.sidecar_last_restart.max(last_termination(status));
        }
        let terminated = at(status, &["state", "terminated"]).filter(|t| t.is_object());
        let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
        summary.reason = match terminated {
            Some(t) if i64_at(t, &["exitCode"]) == 0 => continue,
            _ if is_sidecar && is_true(status, "started") => {
                summary.ready += usize::from(is_true(status, "ready"));
                continue;
            }
            Some(t) => format!("Init:{}", termination_reason(t)),
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                format!("Init:{waiting_reason}")
            }
            None => format!("Init:{index}/{declared}"),
        };
        return true;
    }
    false
}

fn is_true(status: &Value, field: &str) -> bool {
    status.get(field).and_then(Value::as_bool) == Some(true)
}

/// `Reason`, or `Signal:N` / `ExitCode:N` when the runtime gave none.
fn termination_reason(terminated: &Value) -> String {
    let reason = str_at(terminated, &["reason"]);
    let signal = i64_at(terminated, &["signal"]);
    if !reason.is_empty() {
        reason.to_string()
    } else if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", i64_at(terminated, &["exitCode"]))
    }
}

/// The app container pass, last container first as the real printer iterates.
fn app_containers(pod: &Value, summary: &mut ContainerSummary) {
    summary.restarts = summary.sidecar_restarts;
    summary.last_restart = summary.sidecar_last_restart;
    let mut has_running = false;
    for status in array_at(pod, &["status", "containerStatuses"]).iter().rev() {
        summary.restarts += i64_at(status, &["restartCount"]);
        summary.last_restart = summary.last_restart.max(last_termination(status));
        let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
        let terminated = at(status, &["state", "terminated"]).filter(|t| t.is_object());
        let running = at(status, &["state", "running"]).is_some_and(Value::is_object);
        if !waiting_reason.is_empty() {
            summary.reason = waiting_reason.to_string();
        } else if let Some(terminated) = terminated {
            summary.reason = termination_reason(terminated);
        } else if is_true(status, "ready") && running {
            has_running = true;
            summary.ready += 1;
        }
    }
    if summary.reason == "Completed" && has_running {
        let ready = condition_is_true(pod, "Ready");
        summary.reason = if ready { "Running" } else { "NotReady" }.to_string();
    }
}

/// `true/total` readiness gates whose condition is True, `<none>` without gates.
fn readiness_gates(pod: &Value) -> String {
    let gates = array_at(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return "<none>".into();
    }
    let conditions = array_at(pod, &["status", "conditions"]);
    let passing = gates
        .iter()
        .filter(|gate| {
            let wanted = str_at(gate, &["conditionType"]);
            conditions
                .iter()
                .find(|c| str_at(c, &["type"]) == wanted)
                .is_some_and(|c| str_at(c, &["status"]) == "True")
        })
        .count();
    format!("{passing}/{}", gates.len())
}

/// The row conditions of a pod that finished: `Completed` with reason Succeeded or Failed.
fn finished_conditions(phase: &str) -> Option<Value> {
    let message = match phase {
        "Succeeded" => "The pod has completed successfully.",
        "Failed" => "The pod failed.",
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": phase, "message": message}]))
}
