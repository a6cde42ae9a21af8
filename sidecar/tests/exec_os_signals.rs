//! Real signal forwarding: SIGTERM sent to this process (as the kubelet sends it to a container's PID 1) reaches the
//! app through `forward_os_signals`. Its own test binary, so the handler cannot disturb other tests.
mod common;

use std::time::Duration;

use common::{AppLog, TESTAPP, WATCHDOG, mk_dir_source};
use configsync_sidecar::runner::{RunConfig, run_exec_mode};
use configsync_sidecar::source::SourceKind;
use configsync_sidecar::supervise::{ExecPolicy, forward_os_signals};
use configsync_sidecar::sync::SyncConfig;

#[tokio::test]
async fn sigterm_to_the_supervisor_is_forwarded_and_the_exit_code_returned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = AppLog::new(tmp.path().join("app"));
    let out_dir = app.dir.display().to_string();
    let env_pairs = [
        ("TESTAPP_OUT", out_dir.as_str()),
        ("TESTAPP_TERM_EXIT", "42"),
    ];
    let (_dir, env) = mk_dir_source(tmp.path(), "env", SourceKind::ConfigMap, &env_pairs);
    let layout = configsync_sidecar::render::Layout {
        env: Some(Default::default()),
        ..Default::default()
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
    let signals = forward_os_signals().expect("handlers");
    let argv = vec![TESTAPP.to_string()];
    let run = tokio::spawn(async move {
        run_exec_mode(vec![env], config, &argv, ExecPolicy::default(), signals).await
    });
    let pid = app.wait_start(1).await;
    nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGTERM)
        .expect("signal self");
    let code = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("exits")
        .expect("task")
        .expect("runs");
    assert_eq!(app.signals(pid), vec!["SIGTERM"]);
    assert_eq!(code, 42);
}
