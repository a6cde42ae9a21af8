//! Zombie reaping: as PID 1 (here: a child subreaper, which the kernel treats the same way for orphans) the
//! supervisor reaps orphaned grandchildren of the app. Its own test binary, because reaping every child would
//! steal the exit status of other tests' processes.
mod common;

use std::time::Duration;

use common::{AppLog, TESTAPP, WATCHDOG, mk_dir_source, wait_for};
use configsync_sidecar::render::Layout;
use configsync_sidecar::runner::{RunConfig, run_exec_mode};
use configsync_sidecar::signal::Signal;
use configsync_sidecar::source::SourceKind;
use configsync_sidecar::supervise::ExecPolicy;
use configsync_sidecar::sync::SyncConfig;

#[tokio::test]
async fn orphaned_grandchildren_are_reaped() {
    nix::sys::prctl::set_child_subreaper(true).expect("become a subreaper");
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = AppLog::new(tmp.path().join("app"));
    let out_dir = app.dir.display().to_string();
    let (_dir, env) = mk_dir_source(
        tmp.path(),
        "env",
        SourceKind::ConfigMap,
        &[("TESTAPP_OUT", out_dir.as_str())],
    );
    let orphan_file = tmp.path().join("orphan.pid");
    // The subshell starts `sleep` in the background and exits at once: `sleep` is orphaned and reparented to us.
    let script = format!(
        "(sleep 0.2 & echo $! > '{}'); exec '{TESTAPP}'",
        orphan_file.display()
    );
    let argv = vec!["sh".to_string(), "-c".to_string(), script];
    let layout = Layout {
        env: Some(Default::default()),
        ..Layout::default()
    };
    let config = RunConfig {
        sync: SyncConfig {
            layout,
            ..SyncConfig::default()
        },
        health_addr: None,
        metrics_path: Default::default(),
        watchdog: WATCHDOG,
        once: false,
    };
    let (signal_tx, signal_rx) = tokio::sync::mpsc::channel(4);
    let run = tokio::spawn(async move {
        run_exec_mode(vec![env], config, &argv, ExecPolicy::default(), signal_rx).await
    });
    app.wait_start(1).await;
    let orphan: u32 = wait_for("orphan pid", || {
        std::fs::read_to_string(&orphan_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    })
    .await;
    // A zombie keeps its /proc entry until reaped; it disappears only if the supervisor collects it.
    wait_for("the orphan to be reaped", || {
        (!std::path::Path::new(&format!("/proc/{orphan}")).exists()).then_some(())
    })
    .await;
    signal_tx
        .send(Signal::TERM)
        .await
        .expect("supervisor listening");
    let code = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("exits")
        .expect("task")
        .expect("runs");
    assert_eq!(
        code, 0,
        "the app exits 0 on TERM and is still reaped as the child"
    );
}
