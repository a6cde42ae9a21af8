//! Simulated workload controllers, so that rollouts can be observed against the embedded API server.
//!
//! They talk to the server only through a `kube::Client`, exactly like `kube-controller-manager` and the kubelet
//! do against a real one, so they depend on nothing but the public API:
//!
//! ```text
//!   Deployment ──► ReplicaSet (<deploy>-<pod-template-hash>) ──► Pods (<rs>-xxxxx) ──► kubelet: Pending → Running → Ready
//!   StatefulSet ──► ControllerRevision + Pods <sts>-0..N-1 (ordered)           ──┘
//!   DaemonSet ──► ControllerRevision + one Pod on `configsync-node`             ──┘
//!   garbage collector: dependents whose owners are gone are deleted
//!   root CA publisher: `kube-root-ca.crt` in every namespace
//! ```
//!
//! # Theory of operation
//! Every controller is split in two: pure decision functions (rollout arithmetic in [`rolling`], statuses in
//! [`deployment_status`], [`replicaset::plan`], [`kubelet::desired_status`], [`statefulset::plan`],
//! [`daemonset::plan`], [`gc::plan`]) tested as plain functions, and a thin kube-runtime loop that lists the
//! current state, calls them and writes the result with the real components' field managers
//! (`kube-controller-manager`, `kubelet`, `kube-scheduler`). Writes are merge patches (status through the status
//! subresource); failures are retried by requeueing, never by panicking. The workload controllers share one shell
//! ([`pod_owner`]: list owned pods, create/delete them with Events, prune revisions, write status, run).
//!
//! # Simulating a bad config
//! A pod annotated `configsync.dev/simulate-crash: "true"` ([`kubelet::CRASH_ANNOTATION`]) never becomes ready:
//! its containers wait in `CrashLoopBackOff` with a growing `restartCount`. Put the annotation on a workload's pod
//! template and its rollout stalls exactly like a rollout of a broken configuration does.
//!
//! # Approximations
//! - `pod-template-hash` and `controller-revision-hash` are FNV-32a over the template's canonical JSON, rendered
//!   like Kubernetes renders its (spew-based) hash: same shape, different values.
//! - One node, `configsync-node`; pods are bound by patching `spec.nodeName`. A terminating pod is deleted at once
//!   with grace period 0; its finalizers, if any, still hold it.
//! - Events are recorded as kube-controller-manager words them ([`events`]), but never aggregated; the kubelet and
//!   the scheduler record none (`Scheduled`, `Pulled`, `Started`).
//! - No proportional scaling of several ReplicaSets during a rollout; orphaned ReplicaSets and pods are not
//!   adopted; StatefulSet `volumeClaimTemplates` create no PersistentVolumeClaims.
//! - The garbage collector knows the `apps/v1` workload owners and their dependents (ReplicaSets, Pods,
//!   ControllerRevisions) only.

use std::time::Duration;

use kube::Client;
use tokio::task::JoinHandle;

pub mod daemonset;
pub mod deployment;
pub mod deployment_status;
pub mod events;
pub mod gc;
pub mod hash;
pub mod kubelet;
pub mod node;
pub mod pod_owner;
pub mod pods;
pub mod replicaset;
pub mod revision;
pub mod rolling;
pub mod root_ca;
pub mod statefulset;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;
pub mod write;

/// Delay before a failed sync is retried.
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// Settings of the simulated controllers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllersConfig {
    /// Whether to run the controllers at all (`false` gives a bare API server).
    pub enabled: bool,
    /// How long a started pod takes to become ready.
    pub pod_ready_delay: Duration,
    /// How often a crash-looping container restarts.
    pub crash_restart_interval: Duration,
}

impl Default for ControllersConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            pod_ready_delay: Duration::from_millis(500),
            crash_restart_interval: Duration::from_secs(1),
        }
    }
}

impl From<&ControllersConfig> for ControllersConfig {
    fn from(config: &ControllersConfig) -> Self {
        config.clone()
    }
}

/// The cluster's settings select whether the controllers run and the pod ready delay.
impl From<&crate::Config> for ControllersConfig {
    fn from(config: &crate::Config) -> Self {
        Self {
            enabled: config.run_controllers,
            pod_ready_delay: config.pod_ready_delay,
            ..Self::default()
        }
    }
}

impl ControllersConfig {
    /// A configuration that runs no controller.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// The name [`crate::EmbeddedCluster`] uses for the running controllers.
pub type Controllers = ControllersHandle;

/// The running controllers; dropping it aborts them.
#[derive(Debug, Default)]
pub struct ControllersHandle {
    tasks: Vec<JoinHandle<()>>,
}

impl ControllersHandle {
    /// How many controller tasks run.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no controller runs.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl Drop for ControllersHandle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts the controllers against `client` on the current Tokio runtime, configured by a
/// [`ControllersConfig`] or anything that converts into one (the cluster passes its [`crate::Config`]).
///
/// # Guarantees
/// Returns immediately; the controllers run until the handle is dropped. With `enabled: false`, or when called
/// outside a Tokio runtime (logged), nothing is started and the handle is empty.
pub fn start<C>(client: Client, config: &C) -> ControllersHandle
where
    for<'a> &'a C: Into<ControllersConfig>,
{
    let config: ControllersConfig = config.into();
    if !config.enabled {
        return ControllersHandle::default();
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("simulated controllers not started: no Tokio runtime");
        return ControllersHandle::default();
    };
    let timing = kubelet::KubeletTiming {
        ready_delay: config.pod_ready_delay,
        crash_interval: config.crash_restart_interval,
    };
    let tasks = vec![
        runtime.spawn(deployment::run(client.clone())),
        runtime.spawn(replicaset::run(client.clone())),
        runtime.spawn(statefulset::run(client.clone())),
        runtime.spawn(daemonset::run(client.clone())),
        runtime.spawn(kubelet::run(
            client.clone(),
            timing,
            kubelet::PodBinding::PatchNodeName,
        )),
        runtime.spawn(root_ca::run(client.clone())),
        runtime.spawn(gc::run(client)),
    ];
    ControllersHandle { tasks }
}
