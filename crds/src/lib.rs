//! The `ConfigSync` custom resource and the annotation vocabulary of configsync.
//!
//! ```text
//!  annotations ── keys read from workloads and sources, written on pod templates
//!  configsync  ── ConfigSync spec/status types (kube-derive + schemars, CEL rules)
//!  crd         ── the CustomResourceDefinition as YAML (`configsync crd`, crds/configsync.dev_configsyncs.yaml)
//! ```
//!
//! This crate holds data shapes only: no I/O, no decisions. The operator and the sidecar share it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod annotations;
pub mod configsync;
pub mod crd;

pub use configsync::{
    ConfigSync, ConfigSyncSpec, ConfigSyncStatus, Debounce, RolloutPolicy, SourceKind,
    SourceSelector, SourceStatus, Strategy, TargetSelector, TargetState, TargetStatus,
    WorkloadKind,
};
