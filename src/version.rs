//! What `--version` prints for both binaries: the workspace version and the git commit they were built from
//! (stamped by build.rs; `unknown` outside a git checkout).

/// `0.2.0 (commit 1a2b3c4d5e6f)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CONFIGSYNC_GIT_COMMIT"),
    ")"
);
