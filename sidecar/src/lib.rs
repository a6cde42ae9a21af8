//! The sync sidecar: atomic file and env projection of ConfigMaps and Secrets, hot reload, exec supervision.
//!
//! ```text
//!  api::ApiSource (kube watcher, resync)  ┐
//!  mounted::MountedDir (notify, re-check) ┼─ watchdog ─▶ sync::SyncLoop ─▶ render (pure) ─▶ atomic::AtomicWriter
//!  (any source::Source)                   ┘  (restarts      │ debounce (timing)            (..data swap, env files)
//!                                             silent ones)  ▼
//!                                                        Batch ─▶ runner::run_notifier ─▶ reload (signal|HTTP|command)
//!                                                              └▶ supervise (exec mode: reload signal or restart)
//!  health: /readyz (after the first complete publish), /healthz = /livez (sources report), /metrics (metrics)
//!  cache (--cache-dir, --cache-keys): live syncs ─seal─▶ configsync_envelope::Store ─open─▶ published at start
//!                                     when the API stays silent for --cache-timeout
//! ```
//!
//! # Theory of operation
//! Sources report complete snapshots of their objects; the watchdog forwards them and restarts any source that
//! fails or goes silent; a source hands an unchanged object on as the same `Arc`. The sync loop renders with the pure
//! [`render::Renderer`], which projects again only what changed (by pointer), publishes the files with a
//! kubelet-style `..data` swap per changed source directory (one for everything with `--flat`; [`atomic`]),
//! writes the env files, and only then emits one
//! [`sync::Batch`]. In sidecar mode the batch becomes one notice to the app (none for the initial sync unless asked);
//! in exec mode the pure [`supervise::state::Supervisor`] turns it into a reload signal (files only) or a graceful
//! restart (env changed). Values are held in zeroizing buffers and never logged; errors name sources and keys only.
//!
//! With a [`cache`], every live sync is sealed (AES-256-GCM, bound to namespace/name/key) into one store per kind
//! (after the first save of a process, only the objects that changed).
//! A restarted sidecar whose API is unreachable publishes the authenticated cached items through the same atomic
//! writer, logs `serving cached data` with the cache age, sets `configsync_sidecar_serving_cache` to 1, keeps
//! retrying the API and switches to live data when every source reports. Corrupt, tampered, foreign or unknown-key
//! items are counted in `configsync_sidecar_cache_loads_total{outcome}`, logged by name and never served.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The CLI names this crate's items by their public paths, as it did when it lived in the configsync package.
extern crate self as configsync_sidecar;

pub mod api;
pub mod atomic;
pub mod cache;
#[allow(missing_docs)] // the CLI's docs are its --help
pub mod cli;
pub mod compat;
pub mod health;
pub mod metrics;
pub mod mounted;
pub mod reload;
pub mod render;
pub mod runner;
/// Signal names: the shared vocabulary of [`configsync_core`], re-exported where it used to live.
pub use configsync_core::signal;
pub mod source;
pub mod supervise;
pub mod sync;
pub mod timing;
pub mod watchdog;
