//! Stamps the git commit into both binaries (`--version` prints `0.2.0 (commit 1a2b3c4d5e6f)`).
//!
//! The commit comes from `CONFIGSYNC_GIT_COMMIT` when set (a container build without `.git`), else from
//! `git rev-parse`, else it is `unknown` (a source tarball, or no git installed): the build never fails for it.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CONFIGSYNC_GIT_COMMIT");
    let commit = std::env::var("CONFIGSYNC_GIT_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CONFIGSYNC_GIT_COMMIT={}", commit.trim());
    for file in git_files_naming_head() {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

/// The output of `git ARGS` in this directory, if git runs and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// The files whose change moves HEAD: HEAD itself, the branch it names and packed-refs (worktrees included).
fn git_files_naming_head() -> Vec<PathBuf> {
    let (Some(git_dir), Some(common_dir)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) else {
        return Vec::new();
    };
    let (git_dir, common_dir) = (Path::new(&git_dir), Path::new(&common_dir));
    let mut files = vec![git_dir.join("HEAD"), common_dir.join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        files.push(common_dir.join(branch));
    }
    files.into_iter().filter(|file| file.exists()).collect()
}
