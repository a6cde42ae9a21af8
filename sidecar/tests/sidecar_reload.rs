//! Sidecar mode against the real test app, signalled through a PID file: no reload at start, one reload per batch,
//! and `--notify-on-start`.
mod common;

use std::path::Path;
use std::time::Duration;

use common::{AppLog, TESTAPP, WATCHDOG, mk_dir_source, wait_for};
use configsync_sidecar::reload::{ProcessTarget, Reloader, Retry};
use configsync_sidecar::runner::{NotifyPolicy, RunConfig, run_sidecar};
use configsync_sidecar::signal::Signal;
use configsync_sidecar::source::SourceKind;
use configsync_sidecar::sync::SyncConfig;
use configsync_sidecar::timing::Wait;

struct App {
    log: AppLog,
    child: std::process::Child,
    pid_file: std::path::PathBuf,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_app(root: &Path) -> App {
    let log = AppLog::new(root.join("app"));
    let child = std::process::Command::new(TESTAPP)
        .env("TESTAPP_OUT", &log.dir)
        .spawn()
        .expect("start test app");
    let pid_file = root.join("app.pid");
    std::fs::write(&pid_file, child.id().to_string()).expect("pid file");
    log.wait_start(1).await;
    App {
        log,
        child,
        pid_file,
    }
}

fn run(
    sources: Vec<std::sync::Arc<dyn configsync_sidecar::source::Source>>,
    out: &Path,
    app: &App,
    on_start: bool,
) -> tokio::task::JoinHandle<()> {
    let wait = Wait {
        min: Duration::from_secs(1),
        max: Duration::from_secs(5),
    };
    let config = RunConfig {
        sync: SyncConfig {
            dir: Some(out.to_path_buf()),
            wait,
            ..SyncConfig::default()
        },
        health_addr: None,
        metrics_path: Default::default(),
        watchdog: WATCHDOG,
        once: false,
    };
    let reloader = Reloader::Signal {
        target: ProcessTarget::PidFile(app.pid_file.clone()),
        signal: Signal::HUP,
    };
    let policy = NotifyPolicy {
        notify_on_start: on_start,
        splay: Duration::ZERO,
        retry: Retry::default(),
    };
    tokio::spawn(async move {
        let _ = run_sidecar(sources, config, Some(reloader), policy).await;
    })
}

#[tokio::test]
async fn no_reload_at_start_and_one_reload_per_batch() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = start_app(tmp.path()).await;
    let (a_dir, a) = mk_dir_source(
        tmp.path(),
        "a",
        SourceKind::ConfigMap,
        &[("one", "1"), ("two", "1")],
    );
    let (b_dir, b) = mk_dir_source(tmp.path(), "b", SourceKind::ConfigMap, &[("three", "1")]);
    let out = tmp.path().join("out");
    let sidecar = run(vec![a, b], &out, &app, false);
    wait_for("initial sync", || {
        std::fs::read_to_string(out.join("b/three"))
            .ok()
            .filter(|t| t == "1")
    })
    .await;

    // One batch: three files in two sources, written well within the 1 s quiet period.
    std::fs::write(a_dir.join("one"), "2").expect("edit");
    std::fs::write(a_dir.join("two"), "2").expect("edit");
    std::fs::write(b_dir.join("three"), "2").expect("edit");
    wait_for("the first reload", || {
        (!app.log.all_signals().is_empty()).then_some(())
    })
    .await;
    let seen: Vec<Option<String>> = ["a/one", "a/two", "b/three"]
        .iter()
        .map(|p| std::fs::read_to_string(out.join(p)).ok())
        .collect();
    assert_eq!(
        seen,
        vec![Some("2".into()); 3],
        "every file of the batch was visible before the signal"
    );
    assert_eq!(
        app.log.all_signals().len(),
        1,
        "no reload at start, one for the batch"
    );

    // A later batch gets its own reload, and only one.
    std::fs::write(b_dir.join("three"), "3").expect("edit");
    wait_for("the second reload", || {
        (app.log.all_signals().len() >= 2).then_some(())
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(out.join("b/three")).ok().as_deref(),
        Some("3")
    );
    std::fs::write(a_dir.join("one"), "sentinel").expect("edit");
    wait_for("the third reload", || {
        (app.log.all_signals().len() >= 3).then_some(())
    })
    .await;
    assert_eq!(
        app.log.all_signals().len(),
        3,
        "exactly one reload per batch"
    );
    sidecar.abort();
}

#[tokio::test]
async fn notify_on_start_sends_one_reload_after_the_initial_sync() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = start_app(tmp.path()).await;
    let (_dir, a) = mk_dir_source(tmp.path(), "a", SourceKind::ConfigMap, &[("k", "v")]);
    let out = tmp.path().join("out");
    let sidecar = run(vec![a], &out, &app, true);
    let pid = app.child.id();
    wait_for("a reload at start", || {
        (app.log.signals(pid) == vec!["SIGHUP"]).then_some(())
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(out.join("a/k")).ok().as_deref(),
        Some("v")
    );
    sidecar.abort();
}
