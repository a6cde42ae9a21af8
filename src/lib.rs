//! What the two binaries of this package (`configsync` and `configsync-sidecar`) share and only they can
//! know: the version they print, stamped with the git commit by build.rs, and how their long-running
//! subcommands wait for Ctrl-C or SIGTERM. Everything else they share lives in
//! the library crates (the sidecar's command line in `configsync_sidecar::cli`, log options in
//! `configsync_core::log`).
pub mod shutdown;
pub mod version;
