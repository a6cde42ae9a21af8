//! Simulated workload controllers (stub while the module is being built).
use std::time::Duration;
pub mod deployment_status;
pub mod hash;
pub mod kubelet;
pub mod pods;
pub mod replicaset;
pub mod rolling;
#[cfg(test)]
mod testutil;
pub mod write;
const RETRY_AFTER: Duration = Duration::from_secs(1);
