//! The rollout operator: content hashes of the config a workload consumes, stamped on its pod template.
//!
//! # Theory of operation
//! ```text
//!  ConfigMap/Secret watch ──► KeyDigests (values dropped) ──► RefIndex::affected ──► workloads to reconcile
//!  Workload watch ──► annotations::policy + refs::source_refs ──► RefIndex::apply_workload
//!  reconcile(workload):  dereference (stores) → validate (policy) → build (hash::workload_hash, plan::decide)
//!                        → apply (plan::apply_patch, server-side apply as `configsync`)
//! ```
//! Every module here is pure: no client, no clock, no I/O. Time enters as explicit `now` values
//! (`plan::debounce`, `plan::budget`), so every decision is a plain function with unit tests.
//!
//! - [`refs`]: which sources and keys a pod spec consumes.
//! - [`annotations`]: the opt-in annotations (configsync, Reloader, wave) as a typed [`annotations::WorkloadPolicy`].
//! - [`hash`]: per-key digests and the canonical, versioned workload hash.
//! - [`index`]: the reverse index from a source to the workloads that consume it.
//! - [`plan`]: rollout decisions, the apply patch, debounce, the fleet budget and Event messages.
//! - [`workload`]: one read-only view over Deployment, StatefulSet and DaemonSet.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod annotations;
pub mod configsync;
pub mod hash;
pub mod index;
pub mod plan;
pub mod refs;
pub mod workload;

#[cfg(test)]
mod fixtures;
