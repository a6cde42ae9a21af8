//! The README's first command, `cargo run --release -- demo`, through cargo itself: `cargo run` in the workspace
//! root must pick the `configsync` binary (`default-run`; the package has several). The README test rewrites
//! `cargo run` lines into the binary under test, which is how a clean clone's "could not determine which binary
//! to run" once went unseen.
//!
//! This is a test binary of its own: cargo runs test binaries one at a time, so no other test executes
//! `target/debug/configsync` while this `cargo run` may relink it.
use std::process::Command;

#[test]
fn cargo_run_in_the_workspace_root_runs_configsync() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    assert!(
        readme.contains("cargo run --release -- demo"),
        "the README's first command changed: update this test"
    );
    // The dev profile, which `cargo test` has mostly built already (`--release` builds the same binary
    // optimised). Cargo's per-test variables are dropped: build scripts (ring's) rebuild when they change.
    let mut cargo = Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_") && !matches!(&*name, "CARGO_HOME" | "CARGO_TARGET_DIR") {
            cargo.env_remove(&*name);
        }
    }
    let out = cargo
        .args(["run", "--quiet", "--", "--version"])
        .current_dir(root)
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("configsync "),
        "cargo run: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
