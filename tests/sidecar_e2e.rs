//! End to end: `configsync sidecar` against `configsync cluster`, both as processes. kubectl applies and edits the
//! course's `redis-config`; the new `redis.properties` must appear in the target directory (atomically, through
//! `..data`) and the app must get exactly one SIGHUP, none at start.
mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use support::{Process, path_str, start, wait_until};

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

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn sidecar_projects_redis_config_and_signals_the_app() {
    let Some(cluster) = start() else { return };
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/course/redis-config.yaml"
    );
    cluster.ok(&["apply", "-f", manifest]);
    let work = tempfile::tempdir().expect("tempdir");
    let (out, app_log, pid_file) = (
        work.path().join("out"),
        work.path().join("app.log"),
        work.path().join("app.pid"),
    );
    let app = start_app(&app_log);
    std::fs::write(&pid_file, app.0.id().to_string()).expect("pid file");

    let sidecar = Command::new(env!("CARGO_BIN_EXE_configsync"))
        .args([
            "sidecar",
            "--configmap",
            "redis-config",
            "--namespace",
            "default",
            "--wait",
            "200ms",
        ])
        .args([
            "--dir",
            path_str(&out),
            "--pid-file",
            path_str(&pid_file),
            "--health-addr",
            "off",
        ])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start configsync sidecar");
    let _sidecar = Process(sidecar);

    let properties = out.join("redis-config/redis.properties");
    wait_until("the initial projection", || {
        read(&properties).contains("maxmemory 2mb")
    });
    assert!(
        std::fs::read_link(out.join("..data")).is_ok(),
        "published through ..data"
    );

    let patch = r#"{"data":{"redis.properties":"maxmemory 5mb\nmaxmemory-policy allkeys-lru\n"}}"#;
    cluster.ok(&[
        "patch",
        "configmap",
        "redis-config",
        "--type",
        "merge",
        "-p",
        patch,
    ]);
    wait_until("the edited redis.properties", || {
        read(&properties).contains("maxmemory 5mb")
    });
    wait_until("the app to get SIGHUP", || read(&app_log).contains("HUP"));
    assert_eq!(
        read(&app_log),
        "started\nHUP\n",
        "one SIGHUP for the edit, none at start"
    );
}
