//! hack/build-image runs the Containerfile's build stage natively (no container engine here): both binaries land
//! in OUT/usr/local/bin, executable, and print their version. The dev profile stands in for `dist` (same steps;
//! fat LTO takes many minutes).
//!
//! This is a test binary of its own: cargo runs test binaries one at a time, so no other test executes
//! `target/debug/configsync` while this build may relink it.
use std::process::Command;

#[test]
fn the_image_build_steps_run_natively() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = tempfile::tempdir().expect("tempdir");
    let mut script = Command::new(format!("{root}/hack/build-image"));
    // Cargo's per-test variables are dropped, as tests/cargo_run.rs does.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_") && !matches!(&*name, "CARGO_HOME" | "CARGO_TARGET_DIR") {
            script.env_remove(&*name);
        }
    }
    let status = script
        .arg(out.path())
        .env("PROFILE", "dev")
        .status()
        .expect("run hack/build-image");
    assert!(status.success(), "hack/build-image failed");
    for name in ["configsync", "configsync-sidecar"] {
        let binary = out.path().join("usr/local/bin").join(name);
        let version = Command::new(&binary)
            .arg("--version")
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let text = String::from_utf8_lossy(&version.stdout);
        assert!(
            text.starts_with(&format!("{name} {} (commit ", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
    }
}
