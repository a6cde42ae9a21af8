//! The kubelet simulation: binds new pods to the one node, then drives their status through the lifecycle a real
//! kubelet reports, and completes the deletion of terminating pods.
//!
//! ```text
//!   created ──► Pending (PodScheduled, ContainerCreating) ──► Running, not ready ──(ready delay)──► Running, Ready
//!                                                         └─► crash annotation: CrashLoopBackOff, restartCount grows
//! ```
//!
//! The status is a pure function of the pod and the clock ([`desired_status`]): every transition time is derived
//! from `status.startTime`, so recomputing it gives the same answer and a write happens only on a real change.
//! A pod annotated [`CRASH_ANNOTATION`]`: "true"` never becomes ready; its containers wait in `CrashLoopBackOff`
//! with a `restartCount` that grows once per crash interval, so a rollout stalls like it does with a bad config.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

use super::hash::template_hash;
use super::pods::{HOST_IP, NODE_NAME, whole_seconds};
use super::write::{self, KUBELET, SCHEDULER};

/// Pod annotation that makes the simulated containers crash-loop: `configsync.dev/simulate-crash: "true"`.
pub const CRASH_ANNOTATION: &str = "configsync.dev/simulate-crash";

/// How the simulated kubelet binds a new pod to its node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodBinding {
    /// Merge-patch `spec.nodeName`: the embedded server serves no `pods/binding` subresource and no Nodes.
    #[default]
    PatchNodeName,
    /// POST a `Binding` to `pods/<name>/binding`, as kube-scheduler does. A real kube-apiserver refuses the patch
    /// (a pod's `spec.nodeName` is immutable once the pod exists) and accepts only this.
    BindingSubresource,
}

/// Timing of the simulated kubelet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KubeletTiming {
    /// How long after starting a pod its containers become ready.
    pub ready_delay: Duration,
    /// How often a crash-looping container restarts.
    pub crash_interval: Duration,
}

/// Whether the pod asks to crash.
pub fn wants_crash(pod: &Pod) -> bool {
    pod.annotations()
        .get(CRASH_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `10.244.0.x` for the `n`-th pod the kubelet started, cycling through `.2` to `.254`.
pub fn pod_ip(n: u32) -> String {
    format!("10.244.0.{}", 2 + n % 253)
}

fn condition(
    type_: &str,
    ok: bool,
    since: Timestamp,
    reason: Option<&str>,
    message: Option<String>,
) -> PodCondition {
    PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        last_transition_time: Some(Time(whole_seconds(since))),
        reason: reason.map(str::to_string),
        message,
        ..PodCondition::default()
    }
}

fn plus(at: Timestamp, duration: Duration) -> Timestamp {
    SignedDuration::try_from(duration)
        .ok()
        .and_then(|d| at.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

fn until(now: Timestamp, at: Timestamp) -> Duration {
    Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// The status the kubelet reports for `pod` at `now`, with the delay until it changes by itself. `started` is when
/// this kubelet started the pod, if it remembers; otherwise `status.startTime` is used.
/// `None` for pods this kubelet does not run (another node, finished, terminating).
pub fn desired_status(
    pod: &Pod,
    ip: &str,
    started: Option<Timestamp>,
    now: Timestamp,
    timing: &KubeletTiming,
) -> Option<(PodStatus, Option<Duration>)> {
    let spec = pod.spec.as_ref()?;
    let status = pod.status.clone().unwrap_or_default();
    if spec.node_name.as_deref() != Some(NODE_NAME) || pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
        return None;
    }
    let ip = status.pod_ip.clone().unwrap_or_else(|| ip.to_string());
    let Some(start) = started.or_else(|| status.start_time.as_ref().map(|t| t.0)) else {
        return Some((pending(pod, &ip, now), Some(Duration::ZERO)));
    };
    let crash = wants_crash(pod);
    let ready_at = plus(start, timing.ready_delay);
    let ready = !crash && now >= ready_at;
    let names: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
    let unready = format!("containers with unready status: [{}]", names.join(" "));
    let (ready_since, reason, message) = if ready {
        (ready_at, None, None)
    } else {
        (start, Some("ContainersNotReady"), Some(unready))
    };
    let restarts = if crash {
        let interval = timing.crash_interval.as_millis().max(1);
        let elapsed = Duration::try_from(now.duration_since(start))
            .unwrap_or_default()
            .as_millis();
        i32::try_from(elapsed / interval + 1).unwrap_or(i32::MAX)
    } else {
        0
    };
    let recheck = if crash {
        Some(timing.crash_interval)
    } else if ready {
        None
    } else {
        Some(until(now, ready_at))
    };
    let statuses = spec
        .containers
        .iter()
        .map(|c| container_status(pod, &c.name, c.image.as_deref(), start, ready, restarts));
    let desired = PodStatus {
        phase: Some("Running".into()),
        conditions: Some(vec![
            condition("PodReadyToStartContainers", true, start, None, None),
            condition("Initialized", true, start, None, None),
            condition("Ready", ready, ready_since, reason, message.clone()),
            condition("ContainersReady", ready, ready_since, reason, message),
            condition("PodScheduled", true, start, None, None),
        ]),
        container_statuses: Some(statuses.collect()),
        ..base_status(&status, &ip, start)
    };
    Some((desired, recheck))
}

fn base_status(current: &PodStatus, ip: &str, start: Timestamp) -> PodStatus {
    PodStatus {
        host_ip: Some(HOST_IP.into()),
        host_ips: Some(vec![k8s_openapi::api::core::v1::HostIP {
            ip: HOST_IP.into(),
        }]),
        pod_ip: Some(ip.to_string()),
        pod_ips: Some(vec![PodIP { ip: ip.to_string() }]),
        qos_class: current
            .qos_class
            .clone()
            .or_else(|| Some("BestEffort".into())),
        start_time: Some(Time(whole_seconds(start))),
        ..PodStatus::default()
    }
}

fn pending(pod: &Pod, ip: &str, now: Timestamp) -> PodStatus {
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    let waiting = |name: &str, image: Option<&str>| ContainerStatus {
        name: name.to_string(),
        image: image.unwrap_or_default().to_string(),
        state: Some(ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("ContainerCreating".into()),
                message: None,
            }),
            ..ContainerState::default()
        }),
        ..ContainerStatus::default()
    };
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let unready = Some(format!(
        "containers with unready status: [{}]",
        names.join(" ")
    ));
    PodStatus {
        phase: Some("Pending".into()),
        conditions: Some(vec![
            condition("PodReadyToStartContainers", false, now, None, None),
            condition("Initialized", true, now, None, None),
            condition(
                "Ready",
                false,
                now,
                Some("ContainersNotReady"),
                unready.clone(),
            ),
            condition(
                "ContainersReady",
                false,
                now,
                Some("ContainersNotReady"),
                unready,
            ),
            condition("PodScheduled", true, now, None, None),
        ]),
        container_statuses: Some(
            containers
                .iter()
                .map(|c| waiting(&c.name, c.image.as_deref()))
                .collect(),
        ),
        // The API server's qosClass (immutable: a real kube-apiserver refuses a status that changes it).
        ..base_status(&pod.status.clone().unwrap_or_default(), ip, now)
    }
}

fn container_status(
    pod: &Pod,
    name: &str,
    image: Option<&str>,
    start: Timestamp,
    ready: bool,
    restarts: i32,
) -> ContainerStatus {
    let id = template_hash(&(pod.metadata.uid.as_deref(), name, restarts), None);
    let image = image.unwrap_or_default().to_string();
    let (state, last_state) = if restarts > 0 {
        let waiting = ContainerStateWaiting {
            reason: Some("CrashLoopBackOff".into()),
            message: Some(format!(
                "back-off restarting failed container={name} pod={}",
                pod.name_any()
            )),
        };
        let terminated = ContainerStateTerminated {
            exit_code: 1,
            reason: Some("Error".into()),
            ..Default::default()
        };
        (
            ContainerState {
                waiting: Some(waiting),
                ..ContainerState::default()
            },
            Some(ContainerState {
                terminated: Some(terminated),
                ..ContainerState::default()
            }),
        )
    } else {
        let running = ContainerStateRunning {
            started_at: Some(Time(whole_seconds(start))),
        };
        (
            ContainerState {
                running: Some(running),
                ..ContainerState::default()
            },
            None,
        )
    };
    ContainerStatus {
        name: name.to_string(),
        image_id: format!(
            "docker.io/library/{image}@sha256:{}",
            template_hash(&image, None)
        ),
        image,
        container_id: Some(format!("containerd://{id}")),
        ready,
        started: Some(restarts == 0),
        restart_count: restarts,
        state: Some(state),
        last_state,
        ..ContainerStatus::default()
    }
}

// === I/O ===

/// Failures of one kubelet sync.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding the pod to the node failed.
    #[error("binding pod to {NODE_NAME}: {0}")]
    BindPod(#[source] kube::Error),
    /// Writing the pod status failed.
    #[error("patching pod status: {0}")]
    PatchPodStatus(#[source] kube::Error),
    /// Completing a pod deletion failed.
    #[error("deleting pod: {0}")]
    DeletePod(#[source] kube::Error),
}

/// Bound of the kubelet's memory of precise start times.
const MAX_REMEMBERED_STARTS: usize = 4096;

struct Context {
    client: Client,
    timing: KubeletTiming,
    binding: PodBinding,
    /// How many pods got an IP so far.
    ips_assigned: AtomicU32,
    /// When this kubelet started each pod (by uid), with sub-second precision.
    started: Mutex<HashMap<String, Timestamp>>,
}

impl Context {
    fn started(&self, pod: &Pod, now: Timestamp) -> Option<Timestamp> {
        let uid = pod.metadata.uid.clone()?;
        let mut started = self.started.lock().ok()?;
        if started.len() >= MAX_REMEMBERED_STARTS {
            // Pods deleted without a terminating phase are never seen again; forget them all at once and fall back
            // to `status.startTime`, which is only less precise.
            started.clear();
        }
        if pod
            .status
            .as_ref()
            .and_then(|s| s.start_time.as_ref())
            .is_none()
        {
            started.insert(uid.clone(), now);
            return None;
        }
        started.get(&uid).copied()
    }
}

async fn reconcile(pod: Arc<Pod>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(namespace) = pod.namespace() else {
        return Ok(Action::await_change());
    };
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let name = pod.name_any();
    if pod.metadata.deletion_timestamp.is_some() {
        if let (Some(uid), Ok(mut started)) = (pod.metadata.uid.as_ref(), ctx.started.lock()) {
            started.remove(uid);
        }
        write::delete_object(&api, &name, Some(0))
            .await
            .map_err(Error::DeletePod)?;
        return Ok(Action::await_change());
    }
    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    if node.is_none() {
        bind(&api, &name, ctx.binding)
            .await
            .map_err(Error::BindPod)?;
        return Ok(Action::await_change());
    }
    let ip = match pod.status.as_ref().and_then(|s| s.pod_ip.clone()) {
        Some(ip) => ip,
        None => pod_ip(ctx.ips_assigned.fetch_add(1, Ordering::Relaxed)),
    };
    let now = Timestamp::now();
    let started = ctx.started(&pod, now);
    let Some((status, recheck)) = desired_status(&pod, &ip, started, now, &ctx.timing) else {
        return Ok(Action::await_change());
    };
    if pod.status.as_ref() != Some(&status) {
        let patch = write::status_patch(pod.status.as_ref(), &status);
        write::patch_status(&api, &name, &patch, KUBELET)
            .await
            .map_err(Error::PatchPodStatus)?;
    }
    Ok(recheck.map_or_else(Action::await_change, |delay| {
        Action::requeue(delay.max(Duration::from_millis(10)))
    }))
}

/// Binds pod `name` to [`NODE_NAME`] the way `binding` says. A pod that vanished or was bound meanwhile (409) is
/// not an error: the next event shows its new state.
async fn bind(api: &Api<Pod>, name: &str, binding: PodBinding) -> kube::Result<()> {
    match binding {
        PodBinding::PatchNodeName => {
            let patch = json!({"spec": {"nodeName": NODE_NAME}});
            write::patch_object(api, name, &patch, SCHEDULER).await
        }
        PodBinding::BindingSubresource => {
            let body = json!({
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name},
                "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
            });
            let params = kube::api::PostParams {
                field_manager: Some(SCHEDULER.to_owned()),
                ..kube::api::PostParams::default()
            };
            let result: kube::Result<serde_json::Value> = api
                .create_subresource("binding", name, &params, &body)
                .await;
            match result {
                Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
                other => other.map(|_| ()),
            }
        }
    }
}

fn error_policy(_pod: Arc<Pod>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(%error, "kubelet sync failed; retrying");
    Action::requeue(super::RETRY_AFTER)
}

/// Runs the kubelet simulation until the task is aborted.
pub async fn run(client: Client, timing: KubeletTiming, binding: PodBinding) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        timing,
        binding,
        ips_assigned: AtomicU32::new(0),
        started: Mutex::new(HashMap::new()),
    });
    Controller::new(Api::<Pod>::all(client), watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[cfg(test)]
#[path = "tests/kubelet.rs"]
mod tests;
