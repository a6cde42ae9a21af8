//! End to end: `configsync sidecar` against `configsync cluster`, both as processes. kubectl applies and edits the
//! course's `redis-config`; the new `redis.properties` must appear in the target directory (atomically, through
//! `..data`) and the app must get exactly one SIGHUP, none at start.
mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::{
    Process, path_str, read_text, sidecar_command, spawn_redis_sidecar, start, wait_until,
};

/// The "app": a shell that logs `started` and then one `HUP` line per SIGHUP.
fn start_app(log: &Path) -> Process {
    let script = r#"trap 'echo HUP >> "$APP_LOG"' HUP; echo started >> "$APP_LOG"; while :; do sleep 0.05; done"#;
    let child = Command::new("sh")
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
        std::fs::read_link(out.join("..data")).is_ok(),
        "published through ..data"
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
