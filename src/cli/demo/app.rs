//! `configsync demo app`: the demo's tiny application (hidden from `--help`).
//!
//! It writes its PID to `--pid-file` (so the sidecar can signal it), then prints a header line
//! ([`story::app_header`]) and every file under `--config-dir` with its content, once at start and again on
//! every SIGHUP. It exits on SIGTERM or SIGINT. The demo reads its stdout to see the reload and the PID.
use super::story::{self, AppEvent, Cause};
use std::path::{Path, PathBuf};
use tokio::signal::unix::{SignalKind, signal};

/// Run the demo app.
#[derive(Debug, clap::Args)]
pub struct AppArgs {
    /// Directory whose files are the app's configuration (what the sidecar writes).
    #[arg(long)]
    config_dir: PathBuf,
    /// Where to write the app's PID.
    #[arg(long)]
    pid_file: PathBuf,
}

/// Why the app stopped.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("installing the signal handlers failed: {0}")]
    InstallSignals(#[source] std::io::Error),
    #[error("writing the PID file {path} failed: {source}")]
    WritePidFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl AppArgs {
    pub async fn run(self) -> Result<(), AppError> {
        let Self {
            config_dir,
            pid_file,
        } = self;
        let mut hangup = signal(SignalKind::hangup()).map_err(AppError::InstallSignals)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(AppError::InstallSignals)?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(AppError::InstallSignals)?;
        let pid = std::process::id();
        std::fs::write(&pid_file, format!("{pid}\n")).map_err(|source| AppError::WritePidFile {
            path: pid_file.clone(),
            source,
        })?;
        print_config(
            AppEvent {
                pid,
                cause: Cause::Start,
            },
            &config_dir,
        );
        loop {
            tokio::select! {
                _ = hangup.recv() => print_config(AppEvent { pid, cause: Cause::Sighup }, &config_dir),
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            }
        }
        let _ = std::fs::remove_file(&pid_file);
        Ok(())
    }
}

/// Print the header, then each configuration file and its lines, indented.
fn print_config(event: AppEvent, dir: &Path) {
    let mut text = story::app_header(event, &dir.display().to_string());
    let files = config_files(dir, dir);
    if files.is_empty() {
        text.push_str("\n  (no configuration files yet)");
    }
    for (name, content) in files {
        text.push_str(&format!("\n  {name}:"));
        for line in content.lines() {
            text.push_str(&format!("\n    {line}"));
        }
    }
    println!("{text}");
}

/// Every file under `dir` (following the sidecar's `..data` links, skipping its hidden `..` entries), sorted,
/// with its content as text; unreadable files are shown as such.
fn config_files(root: &Path, dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with(".."))
        .map(|entry| entry.path())
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(config_files(root, &path));
            continue;
        }
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let content = std::fs::read(&path).map_or_else(
            |error| format!("(unreadable: {error})"),
            |bytes| String::from_utf8_lossy(&bytes).into_owned(),
        );
        files.push((name, content));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_follow_data_links_and_skip_hidden_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("..2026_11_27");
        std::fs::create_dir_all(data.join("redis-config")).expect("mkdir");
        std::fs::write(
            data.join("redis-config/redis.properties"),
            "maxmemory 2mb\n",
        )
        .expect("write");
        std::os::unix::fs::symlink("..2026_11_27", dir.path().join("..data")).expect("link");
        std::os::unix::fs::symlink("..data/redis-config", dir.path().join("redis-config"))
            .expect("link");
        assert_eq!(
            config_files(dir.path(), dir.path()),
            vec![(
                "redis-config/redis.properties".to_owned(),
                "maxmemory 2mb\n".to_owned()
            )]
        );
    }
}
