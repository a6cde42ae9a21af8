//! End to end: `configsync sidecar` against `configsync cluster`, both as processes. kubectl applies and edits the
//! course's `redis-config`; the new `redis.properties` must appear in the target directory (atomically, through
//! `<source>/..data`) and the app must get exactly one SIGHUP, none at start.
mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::{
    Process, path_str, read_text, sidecar_command, spawn_redis_sidecar, start,
    two_context_kubeconfig, wait_until,
};

/// The "app": a shell that logs `started` and then one `HUP` line per SIGHUP.
fn start_app(log: &Path) -> Process {
    let script = r#"trap 'echo HUP >> "$APP_LOG"' HUP; echo started >> "$APP_LOG"; while :; do sleep 0.05; done"#;
    let child = support::with_default_sighup("sh")
        .args(["-c", script])
        .env("APP_LOG", log)
        .spawn()
        .expect("start app");
    wait_until("the app to start", || {
        std::fs::read_to_string(log).is_ok_and(|t| t.contains("started"))
    });
    Process(child)
}

#[test]
fn sidecar_projects_redis_config_and_signals_the_app() {
    let Some(cluster) = start() else { return };
    cluster.apply_repo("examples/course/redis-config.yaml");
    let work = tempfile::tempdir().expect("tempdir");
    let (out, app_log, pid_file) = (
        work.path().join("out"),
        work.path().join("app.log"),
        work.path().join("app.pid"),
    );
    let app = start_app(&app_log);
    std::fs::write(&pid_file, app.0.id().to_string()).expect("pid file");

    let mut sidecar = sidecar_command(&cluster, &["--configmap", "redis-config"], &out);
    sidecar
        .args(["--pid-file", path_str(&pid_file), "--health-addr", "off"])
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let (_sidecar, properties) = spawn_redis_sidecar(&mut sidecar, &out);
    assert!(
        std::fs::read_link(out.join("redis-config/..data")).is_ok(),
        "published through the source's own ..data"
    );

    let patch = r#"{"data":{"redis.properties":"maxmemory 5mb\nmaxmemory-policy allkeys-lru\n"}}"#;
    cluster.merge_patch("configmap", "redis-config", patch);
    wait_until("the edited redis.properties", || {
        read_text(&properties).contains("maxmemory 5mb")
    });
    wait_until("the app to get SIGHUP", || {
        read_text(&app_log).contains("HUP")
    });
    assert_eq!(
        read_text(&app_log),
        "started\nHUP\n",
        "one SIGHUP for the edit, none at start"
    );
}

/// kubectl's `--kubeconfig` and `--context` (and `-n`): the kubeconfig's current context points at a closed
/// port, so the projection only happens through the context named by `--context`.
#[test]
fn sidecar_takes_kubectl_kubeconfig_and_context() {
    let Some(cluster) = start() else { return };
    cluster.apply_repo("examples/course/redis-config.yaml");
    let kubeconfig = two_context_kubeconfig(&cluster);
    let good = cluster.json(&["config", "view", "-o", "json"]);
    let good = good["contexts"][0]["name"].as_str().expect("context name");
    let out = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_configsync-sidecar"))
        .args([
            "sidecar",
            "--configmap",
            "redis-config",
            "--once",
            "--health-addr",
            "off",
        ])
        .args([
            "-n",
            &cluster.namespace,
            "--kubeconfig",
            path_str(&kubeconfig),
        ])
        .args(["--context", good, "--dir", path_str(out.path())])
        .env_remove("KUBECONFIG")
        .spawn()
        .expect("start configsync-sidecar");
    let mut status = None;
    wait_until("sidecar --once exits", || {
        status = child.try_wait().expect("wait");
        status.is_some()
    });
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let properties = out.path().join("redis-config/redis.properties");
    assert!(read_text(&properties).contains("maxmemory 2mb"));
}
