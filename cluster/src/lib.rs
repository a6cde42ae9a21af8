//! An embedded, in-memory Kubernetes API server.
//!
//! It serves the subset of the Kubernetes REST API that configsync and `kubectl` use, with the semantics the
//! real kube-apiserver documents, and runs simulated workload controllers so that rollouts can be observed.
//! It is used in-process as the service behind a `kube::Client`, and over HTTP on 127.0.0.1.
#![forbid(unsafe_code)]

pub mod admission;
pub mod catalog;
mod cluster;
pub mod controllers;
pub mod faults;
pub mod handler;
pub mod kubeconfig;
pub mod meta;
pub mod request;
pub mod state;
pub mod status;
pub mod store;
pub mod transport;

pub use cluster::{ClusterError, Config, EmbeddedCluster};
pub use faults::{FaultSettings, Faults};

#[cfg(test)]
mod testing;
