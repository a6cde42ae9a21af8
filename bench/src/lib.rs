//! configsync's benchmark suite, run on demand by the `bench` binary (never as timed tests).
//!
//! ```text
//!  bench primitives  canonical digests (operator::hash) and envelope seal/open ─┐ same run, same machine:
//!                    `openssl speed -evp sha256 | aes-256-gcm` (the baseline) ──┴─► ratio against the target
//!  bench scale       `configsync cluster` (process, HTTP) ◄── generated ConfigMaps, Secrets, Deployments
//!                    `configsync operator` (process) ─► RSS, ready time, reaction p50/p99, fan-out,
//!                                                       restart patches, API requests and CPU per update
//!  bench sidecar     stripped `configsync` size; latency and RSS wait (see `sidecar`); publish cost by
//!                    projection size and filesystem (see `sidecar_matrix`)
//! ```
//! Every subcommand prints a table and, with `--json`, one JSON line with the same numbers. Measurement is
//! split from I/O: [`stats`], [`openssl`], [`procfs`] and [`scale::objects`] are pure and unit-tested; the
//! smoke test in `tests/` drives the scale harness at 500 objects and asserts correctness only.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod machine;
pub mod openssl;
pub mod primitives;
pub mod procfs;
pub mod report;
pub mod scale;
pub mod sidecar;
pub mod sidecar_matrix;
pub mod sidecar_run;
pub mod stats;
