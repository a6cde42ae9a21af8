//! Fuzz targets for the code that reads untrusted bytes, runnable on the stable toolchain, and the secret
//! leak checker that the "no leaks" tests use.
//!
//! ```text
//!   proptest strategies (tests/fuzz.rs) ──┬─ arbitrary bytes ─────────┐
//!                                         └─ structure-aware inputs ──┴─► bytes ──► targets::<name>(&[u8])
//!   regressions/<name>/*  (inputs that once failed) ─────────────────────────────────┘  must never panic
//! ```
//!
//! # Theory of operation
//! Each target in [`targets`] takes one byte slice, decodes it the way the component under test receives it
//! (ciphertext, protobuf body, selector text, `object \0 patch` JSON pairs, ...) and calls the real code. A
//! target panics only when the code under test panics or breaks a property the target checks (a round trip, a
//! table row with as many cells as columns, an error message that echoes key material): a panic is a finding.
//! The proptest driver in `tests/fuzz.rs` feeds every target for a bounded time and number of cases
//! (`CONFIGSYNC_FUZZ_SECONDS`, `CONFIGSYNC_FUZZ_CASES`), prints the executions it ran, and replays every file
//! under `regressions/<target>/` on each run. No nightly, no libFuzzer: coverage guidance is traded for running
//! in plain `cargo test` and CI.
//!
//! [`leaks`] scans logs, Events, metrics and status for secret values in plain, base64, URL-encoded and JSON
//! escaped form.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod leaks;
pub mod targets;

pub use targets::{TARGETS, Target};
