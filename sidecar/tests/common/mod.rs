//! Helpers shared by the integration tests: temp source dirs, the test app's records, waiting with deadlines.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use configsync_sidecar::mounted::MountedDir;
use configsync_sidecar::reload::Retry;
use configsync_sidecar::source::{Source, SourceKind};
use configsync_sidecar::watchdog::WatchdogConfig;

/// Path of the test app binary built by Cargo for these tests.
pub const TESTAPP: &str = env!("CARGO_BIN_EXE_configsync-testapp");

pub const DEADLINE: Duration = Duration::from_secs(20);

pub const WATCHDOG: WatchdogConfig = WatchdogConfig {
    stale_after: Duration::from_secs(3600),
    restart: Retry {
        attempts: 1,
        base: Duration::from_millis(50),
        max: Duration::from_secs(1),
    },
};

/// Poll `check` until it returns `Some`, or panic after [`DEADLINE`] naming `what`.
pub async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A directory with `files`, watched as a source named `name`.
pub fn mk_dir_source(
    root: &Path,
    name: &str,
    kind: SourceKind,
    files: &[(&str, &str)],
) -> (PathBuf, Arc<dyn Source>) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("source dir");
    for (key, value) in files {
        std::fs::write(dir.join(key), value).expect("source file");
    }
    let source = MountedDir::new(&dir, kind, Duration::from_secs(3600));
    (dir, Arc::new(source))
}

/// The records of the test app in `dir`.
pub struct AppLog {
    pub dir: PathBuf,
}

impl AppLog {
    pub fn new(dir: PathBuf) -> Self {
        std::fs::create_dir_all(&dir).expect("app out dir");
        Self { dir }
    }

    pub fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("events"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// PIDs that logged `start`, in order.
    pub fn starts(&self) -> Vec<u32> {
        self.events()
            .iter()
            .filter_map(|l| l.strip_prefix("start ")?.parse().ok())
            .collect()
    }

    /// Signals received by `pid`, in order.
    pub fn signals(&self, pid: u32) -> Vec<String> {
        let prefix = format!("signal {pid} ");
        self.events()
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }

    /// All signal lines, any pid.
    pub fn all_signals(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|l| l.starts_with("signal "))
            .collect()
    }

    /// The environment `pid` started with.
    pub fn env(&self, pid: u32) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.dir.join(format!("env.{pid}"))).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }

    /// Wait until `n` processes have started; returns the `n`th PID.
    pub async fn wait_start(&self, n: usize) -> u32 {
        wait_for(&format!("start #{n}"), || self.starts().get(n - 1).copied()).await
    }
}
