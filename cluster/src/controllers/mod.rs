//! Simulated workload controllers (Deployments, ReplicaSets, StatefulSets, DaemonSets, Pods).
//! PLACEHOLDER: the `cluster-controllers` branch replaces this file; only the `start` hook is fixed here.
use crate::Config;

/// The running controllers; dropping it stops them.
#[derive(Debug, Default)]
pub struct Controllers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Controllers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Start the controllers against `client` (called by [`crate::EmbeddedCluster::start`]). Does nothing yet.
pub fn start(client: kube::Client, config: &Config) -> Controllers {
    let _ = (client, config);
    Controllers::default()
}
