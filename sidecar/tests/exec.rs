//! Exec mode against the real test app: env change → graceful restart, file change → reload signal, forwarded
//! signals, SIGKILL after the grace period, and exit codes.
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{AppLog, TESTAPP, WATCHDOG, mk_dir_source, wait_for};
use configsync_sidecar::render::{EnvRules, Layout};
use configsync_sidecar::runner::{RunConfig, run_exec_mode};
use configsync_sidecar::signal::Signal;
use configsync_sidecar::source::SourceKind;
use configsync_sidecar::supervise::ExecPolicy;
use configsync_sidecar::sync::SyncConfig;
use configsync_sidecar::timing::Wait;
use tokio::sync::mpsc;

fn config(out: &std::path::Path) -> RunConfig {
    let layout = Layout {
        env: Some(EnvRules::default()),
        env_sources: Some(BTreeSet::from(["env".to_string()])),
        ..Layout::default()
    };
    let wait = Wait {
        min: Duration::from_millis(100),
        max: Duration::from_secs(1),
    };
    let sync = SyncConfig {
        layout,
        dir: Some(out.to_path_buf()),
        wait,
        ..SyncConfig::default()
    };
    RunConfig {
        sync,
        health_addr: None,
        metrics_path: Default::default(),
        watchdog: WATCHDOG,
        once: false,
    }
}

fn policy(grace: Duration) -> ExecPolicy {
    ExecPolicy {
        reload_signal: Signal::HUP,
        stop_signal: Signal::TERM,
        grace,
    }
}

#[tokio::test]
async fn file_change_signals_env_change_restarts_and_term_is_forwarded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = AppLog::new(tmp.path().join("app"));
    let out_dir = app.dir.display().to_string();
    let (files_dir, files) = mk_dir_source(
        tmp.path(),
        "files",
        SourceKind::ConfigMap,
        &[("app.conf", "level=info")],
    );
    let env_pairs = [
        ("MODE", "blue"),
        ("TESTAPP_OUT", out_dir.as_str()),
        ("TESTAPP_TERM_EXIT", "7"),
    ];
    let (env_dir, env) = mk_dir_source(tmp.path(), "env", SourceKind::Secret, &env_pairs);
    let out = tmp.path().join("out");
    let (signal_tx, signal_rx) = mpsc::channel(4);
    let argv = vec![TESTAPP.to_string()];
    let run = tokio::spawn({
        let config = config(&out);
        async move {
            run_exec_mode(
                vec![files, env],
                config,
                &argv,
                policy(Duration::from_secs(20)),
                signal_rx,
            )
            .await
        }
    });

    let first = app.wait_start(1).await;
    assert_eq!(app.env(first).get("MODE").map(String::as_str), Some("blue"));
    assert_eq!(
        std::fs::read_to_string(out.join("files/app.conf"))
            .ok()
            .as_deref(),
        Some("level=info"),
        "rendered first"
    );

    std::fs::write(files_dir.join("app.conf"), "level=debug").expect("edit file");
    wait_for("SIGHUP after a file change", || {
        app.signals(first)
            .contains(&"SIGHUP".to_string())
            .then_some(())
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(out.join("files/app.conf"))
            .ok()
            .as_deref(),
        Some("level=debug")
    );
    assert_eq!(app.starts(), vec![first], "a file change does not restart");

    std::fs::write(env_dir.join("MODE"), "green").expect("edit env");
    let second = app.wait_start(2).await;
    assert_eq!(
        app.signals(first),
        vec!["SIGHUP", "SIGTERM"],
        "graceful stop before the restart"
    );
    assert_eq!(
        app.env(second).get("MODE").map(String::as_str),
        Some("green")
    );

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
        app.signals(second),
        vec!["SIGTERM"],
        "TERM forwarded to the app"
    );
    assert_eq!(code, 7, "the app's exit code");
}

#[tokio::test]
async fn an_app_ignoring_the_stop_signal_is_killed_after_the_grace_period() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = AppLog::new(tmp.path().join("app"));
    let out_dir = app.dir.display().to_string();
    let (_files_dir, files) = mk_dir_source(tmp.path(), "files", SourceKind::ConfigMap, &[]);
    let env_pairs = [
        ("V", "1"),
        ("TESTAPP_OUT", out_dir.as_str()),
        ("TESTAPP_IGNORE_TERM", "1"),
    ];
    let (env_dir, env) = mk_dir_source(tmp.path(), "env", SourceKind::ConfigMap, &env_pairs);
    let (_signal_tx, signal_rx) = mpsc::channel(4);
    let argv = vec![TESTAPP.to_string()];
    let run = tokio::spawn({
        let config = config(&tmp.path().join("out"));
        async move {
            run_exec_mode(
                vec![files, env],
                config,
                &argv,
                policy(Duration::from_millis(300)),
                signal_rx,
            )
            .await
        }
    });
    let first = app.wait_start(1).await;
    std::fs::write(env_dir.join("V"), "2").expect("edit env");
    let second = app.wait_start(2).await;
    assert_eq!(
        app.signals(first),
        vec!["SIGTERM"],
        "asked first, then killed"
    );
    assert_eq!(app.env(second).get("V").map(String::as_str), Some("2"));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(second).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("kill app");
    let code = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("exits")
        .expect("task")
        .expect("runs");
    assert_eq!(code, 128 + 9, "killed by SIGKILL: 128+9");
}

#[tokio::test]
async fn the_app_exit_code_is_the_supervisor_exit_code() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = AppLog::new(tmp.path().join("app"));
    let out_dir = app.dir.display().to_string();
    let env_pairs = [
        ("TESTAPP_OUT", out_dir.as_str()),
        ("TESTAPP_EXIT_CODE", "3"),
    ];
    let (_env_dir, env) = mk_dir_source(tmp.path(), "env", SourceKind::ConfigMap, &env_pairs);
    let (_signal_tx, signal_rx) = mpsc::channel(4);
    let argv = vec![TESTAPP.to_string()];
    let code = tokio::time::timeout(
        Duration::from_secs(20),
        run_exec_mode(
            vec![env],
            config(&tmp.path().join("out")),
            &argv,
            policy(Duration::from_secs(1)),
            signal_rx,
        ),
    )
    .await
    .expect("exits")
    .expect("runs");
    assert_eq!(code, 3);
    assert_eq!(app.starts().len(), 1);
}

#[tokio::test]
async fn a_missing_program_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_dir, env) = mk_dir_source(tmp.path(), "env", SourceKind::ConfigMap, &[("A", "1")]);
    let (_signal_tx, signal_rx) = mpsc::channel(4);
    let argv = vec![tmp.path().join("no-such-program").display().to_string()];
    let outcome = run_exec_mode(
        vec![env],
        config(&tmp.path().join("out")),
        &argv,
        ExecPolicy::default(),
        signal_rx,
    )
    .await;
    let message = outcome.expect_err("cannot start").to_string();
    assert!(message.contains("no-such-program"), "{message}");
}
