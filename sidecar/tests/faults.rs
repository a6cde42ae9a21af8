//! Sidecar faults (issue 10) that need no cluster: a full disk, an event storm, and child faults in exec mode.
//!
//! Covered elsewhere, not repeated here:
//! * one reload per batch and none at start: `sidecar_reload.rs::no_reload_at_start_and_one_reload_per_batch`;
//! * a disk full mid-write at the writer level: `src/atomic/tests.rs::disk_full_fails_and_keeps_the_old_version`;
//! * the app's own exit code, and SIGKILL after the grace period: `exec.rs`;
//! * API outage, and an unwritable target directory at start: the root crate's `tests/sidecar_faults_e2e.rs`.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{AppLog, TESTAPP, WATCHDOG, mk_dir_source, wait_for};
use configsync_sidecar::atomic::{AtomicWriter, DATA_LINK};
use configsync_sidecar::health::Health;
use configsync_sidecar::metrics::Metrics;
use configsync_sidecar::reload::{ProcessTarget, Reloader, Retry};
use configsync_sidecar::runner::{NotifyPolicy, RunConfig, run_exec_mode, run_sidecar};
use configsync_sidecar::signal::Signal;
use configsync_sidecar::source::{Snapshot, SourceData, SourceEvent, SourceKind, Value, snapshot};
use configsync_sidecar::supervise::ExecPolicy;
use configsync_sidecar::sync::{SyncConfig, SyncLoop};
use configsync_sidecar::timing::Wait;
use prometheus_client::registry::Registry;
use tokio::sync::mpsc;

/// A tmpfs of `size` mounted on `dir`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` without CAP_SYS_ADMIN (the test then says it was skipped).
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).expect("mount point");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Self(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Kills every process the test app logged as started when the test ends, also when it fails.
struct KillApps<'a>(&'a AppLog);

impl Drop for KillApps<'_> {
    fn drop(&mut self) {
        for pid in self.0.starts() {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

fn mk_snapshot(value: &str) -> Snapshot {
    snapshot([SourceData {
        kind: SourceKind::ConfigMap,
        namespace: "ns".into(),
        name: "app".into(),
        data: BTreeMap::from([("conf".to_string(), Value::from(value))]),
    }])
}

/// `configsync_sidecar_errors_total{category="write"}` as the /metrics endpoint would show it.
fn write_errors(registry: &Registry) -> u64 {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
    text.lines()
        .find(|l| l.starts_with("configsync_sidecar_errors_total{category=\"write\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// Write 4 KiB blocks to `path` until the filesystem is full.
fn fill(path: &Path) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).expect("filler");
    let block = [0u8; 4096];
    while file
        .write_all(&block)
        .and_then(|()| file.sync_all())
        .is_ok()
    {}
}

/// A full disk: the publish fails cleanly, the previous version stays published and intact, no batch (so no
/// reload) is emitted, the loop retries on its own, and the change lands once space is freed.
#[tokio::test]
async fn disk_full_keeps_the_published_version_retries_and_recovers_when_space_frees() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let volume = tmp.path().join("volume");
    let Some(_tmpfs) = Tmpfs::mount(&volume, "256k") else {
        eprintln!("SKIP disk full: cannot mount a tmpfs here (needs CAP_SYS_ADMIN)");
        return;
    };
    let out = volume.join("out");
    let config = SyncConfig {
        dir: Some(out.clone()),
        wait: Wait {
            min: Duration::from_millis(100),
            max: Duration::from_secs(1),
        },
        ..SyncConfig::default()
    };
    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let sync = SyncLoop::new(
        config,
        1,
        Health::new(1, Duration::from_secs(3600)),
        metrics,
    );
    let (tx, rx) = mpsc::channel(16);
    let (batch_tx, mut batches) = mpsc::channel(16);
    let task = tokio::spawn(sync.run(rx, batch_tx, false));
    let send = |value: &str| {
        let snapshot = mk_snapshot(value);
        let tx = tx.clone();
        async move {
            tx.send(SourceEvent::Snapshot { slot: 0, snapshot })
                .await
                .expect("loop running")
        }
    };
    send("v1").await;
    let first = tokio::time::timeout(common::DEADLINE, batches.recv()).await;
    assert!(first.expect("initial batch").expect("open").initial);
    // The default layout: the source `app` is a version of its own under `out/app/..data`.
    let source_dir = out.join("app");
    let writer = AtomicWriter::new(&source_dir);
    let published = writer.read_published().expect("v1 readable");
    let version_v1 = std::fs::read_link(source_dir.join(DATA_LINK)).expect("..data");

    let filler = volume.join("filler");
    fill(&filler);
    send(&"v2 ".repeat(4096)).await;
    wait_for("two failed publishes (a retry)", || {
        (write_errors(&registry) >= 2).then_some(())
    })
    .await;
    assert!(batches.try_recv().is_err(), "no batch, so no reload");
    assert_eq!(writer.read_published().expect("still readable"), published);
    assert_eq!(
        std::fs::read_to_string(out.join("app/conf"))
            .ok()
            .as_deref(),
        Some("v1")
    );
    assert_eq!(
        std::fs::read_link(source_dir.join(DATA_LINK)).ok(),
        Some(version_v1)
    );

    std::fs::remove_file(&filler).expect("free space");
    let batch = tokio::time::timeout(common::DEADLINE, batches.recv())
        .await
        .expect("a batch once space is free")
        .expect("open");
    assert!(batch.files_changed && !batch.initial);
    assert_eq!(
        std::fs::read_to_string(out.join("app/conf")).ok(),
        Some("v2 ".repeat(4096))
    );
    // The notice goes out right after the swap; the replaced version v1 stays until the next publish.
    let versions = || {
        std::fs::read_dir(&source_dir)
            .expect("out/app")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("..") && n != DATA_LINK)
            .count()
    };
    wait_for("the swap finished", || (versions() == 2).then_some(())).await;
    assert_eq!(
        versions(),
        2,
        "v2 and the replaced v1; failed attempts left nothing behind"
    );
    task.abort();
}

/// 1,000 edits of a watched file within about a second give one reload (a few at most on a loaded machine),
/// counted by the signals the test app received.
#[tokio::test]
async fn a_storm_of_1000_changes_in_one_second_gives_one_or_a_few_reloads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = AppLog::new(tmp.path().join("app"));
    let mut app = std::process::Command::new(TESTAPP)
        .env("TESTAPP_OUT", &log.dir)
        .spawn()
        .expect("start test app");
    let pid_file = tmp.path().join("app.pid");
    std::fs::write(&pid_file, app.id().to_string()).expect("pid file");
    let _kill = KillApps(&log);
    log.wait_start(1).await;
    let (dir, source) = mk_dir_source(tmp.path(), "a", SourceKind::ConfigMap, &[("k", "0")]);
    let out = tmp.path().join("out");
    let config = RunConfig {
        sync: SyncConfig {
            dir: Some(out.clone()),
            ..SyncConfig::default()
        },
        health_addr: None,
        metrics_path: Default::default(),
        watchdog: WATCHDOG,
        once: false,
    };
    let reloader = Reloader::Signal {
        target: ProcessTarget::PidFile(pid_file),
        signal: Signal::HUP,
    };
    let policy = NotifyPolicy {
        retry: Retry::default(),
        ..NotifyPolicy::default()
    };
    let sidecar = tokio::spawn(run_sidecar(vec![source], config, Some(reloader), policy));
    let read = |path: &str| std::fs::read_to_string(out.join(path)).ok();
    wait_for("the initial sync", || read("a/k").filter(|v| v == "0")).await;

    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for n in 1..=1000 {
        tick.tick().await;
        std::fs::write(dir.join("k"), n.to_string()).expect("edit");
    }
    wait_for("the storm's last value", || {
        read("a/k").filter(|v| v == "1000")
    })
    .await;
    wait_for("a reload", || (!log.all_signals().is_empty()).then_some(())).await;
    // A sentinel edit after the storm: once its reload arrived, every reload of the storm has been counted.
    let storm_reloads = loop {
        let before = log.all_signals().len();
        std::fs::write(dir.join("sentinel"), before.to_string()).expect("sentinel");
        wait_for("the sentinel's reload", || {
            (log.all_signals().len() > before).then_some(())
        })
        .await;
        if read("a/sentinel") == Some(before.to_string()) {
            break log.all_signals().len() - 1;
        }
    };
    assert!(
        (1..=3).contains(&storm_reloads),
        "1000 changes gave {storm_reloads} reloads: {:?}",
        log.all_signals()
    );
    sidecar.abort();
    let _ = app.kill();
    let _ = app.wait();
}

fn exec_config(out: &Path) -> RunConfig {
    let layout = configsync_sidecar::render::Layout {
        env: Some(configsync_sidecar::render::EnvRules::default()),
        env_sources: Some(std::collections::BTreeSet::from(["env".to_string()])),
        ..configsync_sidecar::render::Layout::default()
    };
    RunConfig {
        sync: SyncConfig {
            layout,
            dir: Some(out.to_path_buf()),
            wait: Wait {
                min: Duration::from_millis(100),
                max: Duration::from_secs(1),
            },
            ..SyncConfig::default()
        },
        health_addr: None,
        metrics_path: Default::default(),
        watchdog: WATCHDOG,
        once: false,
    }
}

/// Whether `pid` exists and is not a zombie (`/proc/<pid>/stat` state field).
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

/// The app crashes while running (SIGABRT, as `abort()` does; an external SIGSEGV would be swallowed by the
/// Rust runtime's stack-overflow handler): exec mode is not a restart loop, it ends with the shell convention
/// 128+signal so the kubelet sees the crash and applies the pod's restart policy.
#[tokio::test]
async fn an_app_crash_ends_exec_mode_with_the_crash_status_and_no_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = AppLog::new(tmp.path().join("app"));
    let _kill = KillApps(&app);
    let out_dir = app.dir.display().to_string();
    let env = [("TESTAPP_OUT", out_dir.as_str())];
    let (_env_dir, env) = mk_dir_source(tmp.path(), "env", SourceKind::ConfigMap, &env);
    let (_signal_tx, signal_rx) = mpsc::channel(4);
    let argv = vec![TESTAPP.to_string()];
    let config = exec_config(&tmp.path().join("out"));
    let policy = ExecPolicy::default();
    let run =
        tokio::spawn(
            async move { run_exec_mode(vec![env], config, &argv, policy, signal_rx).await },
        );
    let pid = app.wait_start(1).await;
    let raw = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
    nix::sys::signal::kill(raw, nix::sys::signal::Signal::SIGABRT).expect("crash the app");
    let code = tokio::time::timeout(common::DEADLINE, run)
        .await
        .expect("exec mode ends")
        .expect("task")
        .expect("runs");
    assert_eq!(code, 128 + 6, "crashed by SIGABRT");
    assert_eq!(app.starts(), vec![pid], "not restarted");
    assert!(!is_running(pid), "reaped");
}

/// An app that ignores SIGTERM during a restart is still running through the grace period, and is gone
/// (SIGKILL, reaped) after it: the replacement starts only then. Observed through `/proc`, not by sleeping.
#[tokio::test]
async fn an_app_ignoring_sigterm_runs_through_the_grace_period_then_is_killed() {
    let grace = Duration::from_secs(2);
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = AppLog::new(tmp.path().join("app"));
    let _kill = KillApps(&app);
    let out_dir = app.dir.display().to_string();
    let env = [
        ("V", "1"),
        ("TESTAPP_OUT", out_dir.as_str()),
        ("TESTAPP_IGNORE_TERM", "1"),
    ];
    let (env_dir, env) = mk_dir_source(tmp.path(), "env", SourceKind::ConfigMap, &env);
    let (signal_tx, signal_rx) = mpsc::channel(4);
    let argv = vec![TESTAPP.to_string()];
    let config = exec_config(&tmp.path().join("out"));
    let policy = ExecPolicy {
        grace,
        ..ExecPolicy::default()
    };
    let run =
        tokio::spawn(
            async move { run_exec_mode(vec![env], config, &argv, policy, signal_rx).await },
        );
    let first = app.wait_start(1).await;
    let edited = std::time::Instant::now();
    std::fs::write(env_dir.join("V"), "2").expect("edit env");
    wait_for("SIGTERM to reach the app", || {
        (app.signals(first) == ["SIGTERM"]).then_some(())
    })
    .await;
    assert!(is_running(first), "ignoring SIGTERM, it is still running");
    wait_for("the app to be killed and reaped", || {
        (!is_running(first)).then_some(())
    })
    .await;
    assert!(
        edited.elapsed() >= grace,
        "killed only after the {grace:?} grace period (gone after {:?})",
        edited.elapsed()
    );
    let second = app.wait_start(2).await;
    assert_eq!(app.env(second).get("V").map(String::as_str), Some("2"));
    // Stopping the supervisor forwards SIGTERM (ignored again); the kubelet's own grace period ends the pod,
    // played here by a SIGKILL.
    signal_tx
        .send(Signal::TERM)
        .await
        .expect("supervisor running");
    wait_for("SIGTERM forwarded to the second app", || {
        (app.signals(second) == ["SIGTERM"]).then_some(())
    })
    .await;
    let raw = nix::unistd::Pid::from_raw(i32::try_from(second).expect("pid"));
    nix::sys::signal::kill(raw, nix::sys::signal::Signal::SIGKILL).expect("stop the app");
    let code = tokio::time::timeout(common::DEADLINE, run)
        .await
        .expect("exec mode ends")
        .expect("task")
        .expect("runs");
    assert_eq!(code, 128 + 9);
}
