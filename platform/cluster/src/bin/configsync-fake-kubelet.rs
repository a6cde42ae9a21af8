//! `configsync-fake-kubelet`: the embedded server's kubelet simulation, run against a real kube-apiserver.
//!
//! There is no kubelet and no container runtime on the machines that test configsync, so `hack/real-k8s up` runs
//! this beside kube-apiserver and kube-controller-manager. It registers one Ready, untainted Node
//! (`configsync-node`), binds every unscheduled pod to it through `pods/<name>/binding` (standing in for
//! kube-scheduler), reports bound pods Running and Ready through `pods/<name>/status`, and completes the deletion
//! of terminating pods. With that, `kubectl rollout status` completes for Deployments, StatefulSets and
//! DaemonSets. The code is the embedded cluster's own (`configsync_cluster::controllers::{kubelet, node}`).
//!
//! Usage: `configsync-fake-kubelet` with `KUBECONFIG` naming an admin kubeconfig.
//! `CONFIGSYNC_CLUSTER_POD_READY_DELAY_MS` sets how long a started pod takes to become ready (default 200).
use std::time::Duration;

use configsync_cluster::controllers::{kubelet, node};

const USAGE: &str = "usage: configsync-fake-kubelet (reads KUBECONFIG; CONFIGSYNC_CLUSTER_POD_READY_DELAY_MS sets the ready delay)";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    if std::env::args().len() > 1 {
        eprintln!("{USAGE}");
        return std::process::ExitCode::from(2);
    }
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("configsync-fake-kubelet: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let ready_ms = match std::env::var("CONFIGSYNC_CLUSTER_POD_READY_DELAY_MS") {
        Ok(value) => value.parse::<u64>().map_err(|_| {
            format!(
                "CONFIGSYNC_CLUSTER_POD_READY_DELAY_MS={value:?} is not a number of milliseconds"
            )
        })?,
        Err(_) => 200,
    };
    let client = kube::Client::try_default()
        .await
        .map_err(|error| format!("connecting with KUBECONFIG: {error}"))?;
    node::register(client.clone())
        .await
        .map_err(|error| format!("registering the Node: {error}"))?;
    eprintln!("configsync-fake-kubelet: node ready; running pods");
    let timing = kubelet::KubeletTiming {
        ready_delay: Duration::from_millis(ready_ms),
        crash_interval: Duration::from_secs(1),
    };
    kubelet::run(client, timing, kubelet::PodBinding::BindingSubresource).await;
    Ok(())
}
