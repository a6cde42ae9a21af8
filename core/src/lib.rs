//! The vocabulary the operator and the sidecar share, each concept defined and parsed in exactly one place.
//!
//! - [`signal`]: signal names as users write them (`HUP`, `SIGUSR1`, `15`);
//! - [`timing`]: durations (`500ms`, `1m30s`) and the quiet period `min[,max]` ([`timing::Wait`]), read alike from
//!   annotations, the ConfigSync spec and the sidecar's `--wait`;
//! - [`source`]: ConfigMap or Secret, and their default file modes;
//! - [`names`]: the DNS-1123 rule for object names;
//! - [`atomic`]: the one crash-safe file write (temp file, fsync, rename, fsync the directory);
//! - [`env`]: the `CONFIGSYNC_*` variables the sidecar reads and the injector writes;
//! - `log` (feature `cli`): the `--log-format`/`--log-level` options of every binary;
//! - `health` (feature `health`): the one HTTP server for `/healthz`, `/readyz`, `/livez` and `/metrics`;
//! - `kubeconfig` (feature `kubeconfig`): kubectl's `--kubeconfig`/`--context` loading, for the CLI and the
//!   sidecar alike (with `cli` too, the flags themselves).
//!
//! It is small: without features no async runtime, no Kubernetes client, no HTTP; its only I/O is
//! [`atomic::write_file`] (and, with `health`, the probe server; with `kubeconfig`, reading a kubeconfig). The
//! operator depends on it instead of on the sidecar crate, so the webhook accepts exactly what the sidecar will
//! accept.
pub mod atomic;
pub mod env;
#[cfg(feature = "health")]
pub mod health;
#[cfg(feature = "kubeconfig")]
pub mod kubeconfig;
#[cfg(feature = "cli")]
pub mod log;
pub mod names;
pub mod signal;
pub mod source;
pub mod timing;

pub use signal::Signal;
pub use source::SourceKind;
pub use timing::Wait;
