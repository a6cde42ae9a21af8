//! Simulated workload controllers (stub while the module is being built).
pub mod deployment_status;
pub mod hash;
pub mod pods;
pub mod rolling;
#[cfg(test)]
mod testutil;
