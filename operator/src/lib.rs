//! The rollout operator: content hashes of the config a workload consumes, stamped on its pod template.
//!
//! # Theory of operation
//! ```text
//!  ConfigMap/Secret watch ──cache::SourceCache (digests only)──► SourceUpdate::affected(RefIndex)
//!                                                                  │ exactly the consumers of what changed
//!  Workload watch ──workload::follow (annotations + refs)──► RefIndex::apply_workload
//!                                                                  ▼
//!  plan::debounce (quiet period) ──► plan::budget (fleet slots, rate) ──► reconcile(workload):
//!     dereference (stores) → validate (policy) → build (hash::workload_hash, plan::decide)
//!     → apply (plan::apply, server-side apply as `configsync`) + plan::event (names and keys, no values)
//! ```
//! Every module here except [`webhook`] is pure: no client, no clock, no I/O. Time enters as explicit `now` values, so every
//! decision is a plain function with unit tests; the controllers that watch and patch wrap these.
//!
//! - [`refs`]: which sources and keys a pod spec consumes.
//! - [`annotations`]: the opt-in annotations (configsync, Reloader, wave) as a typed
//!   [`annotations::WorkloadPolicy`].
//! - [`hash`]: per-key digests and the canonical, versioned workload hash.
//! - [`cache`]: per-key digests of every source, and which consumers a watch event touches.
//! - [`index`]: the reverse index from a source to the workloads that consume it.
//! - [`plan`]: rollout decisions, the apply patch, debounce, the fleet budget and Event texts.
//! - [`explain`]: why a workload would or would not roll (`configsync explain`, `configsync preflight`).
//! - [`configsync`]: the ConfigSync resource resolved against the caches, claims and conditions.
//! - [`inject`]: sidecar injection, pod → JSON patch (the webhook and `configsync inject`).
//! - [`server_version`]: the minimum Kubernetes version and whether it has native sidecars.
//! - [`webhook`]: the admission webhook serving [`inject`] over HTTPS (the one I/O module here).
//! - [`workload`]: one read-only view over Deployment, StatefulSet and DaemonSet.
//! - [`lean`]: what the watches decode: digests instead of values, reduced pod templates.
//! - [`core`]: the decision core, a state machine from inputs (watch events, answers, ticks) to commands
//!   (apply, publish, write status), with the one scheduler for workloads and ConfigSyncs.
//! - [`metrics`]: the Prometheus metrics (bounded labels).
//! - [`controller`]: the I/O shell (watches, the executor of the core's commands, Events, health, leader
//!   election) around them.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod annotations;
pub mod cache;
pub mod configsync;
pub mod controller;
pub mod core;
pub mod explain;
pub mod hash;
pub mod index;
pub mod inject;
pub mod lean;
pub mod metrics;
pub mod plan;
pub mod refs;
pub mod server_version;
pub mod webhook;
pub mod workload;

#[cfg(test)]
mod fixtures;
