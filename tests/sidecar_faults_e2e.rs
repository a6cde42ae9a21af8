//! Sidecar faults (issue 10) with the real binary: an API outage while it runs (the embedded cluster's fault
//! injection answers every API request with 500 and drops the watches), and a target directory it may not
//! write at start. The faults without a cluster (disk full, event storm, child faults) are in
//! `sidecar/tests/faults.rs`.
//!
//! The outage test runs on the embedded server whatever `CONFIGSYNC_REAL_K8S` says: answering 500 to every
//! request is the embedded server's fault injection, which a real kube-apiserver has no switch for. The
//! unwritable-directory test needs no fault and runs on the chosen backend.
mod support;

use std::fs::File;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{
    Process, http_get, path_str, read_text, sidecar_command, sidecar_health_addr,
    spawn_redis_sidecar, start_embedded, wait_until,
};

/// The value of the sample `name` (with its labels) in a Prometheus text body.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(name) && l.as_bytes().get(name.len()) == Some(&b' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// The API fails every request and every watch is cut: the sidecar keeps the files it published and stays
/// ready and live, keeps retrying (source restarts counted), and picks up a change once the API answers again.
#[test]
fn api_outage_keeps_the_files_and_health_and_recovers_when_the_api_returns() {
    let Some(cluster) = start_embedded() else {
        return;
    };
    cluster.apply_repo("examples/course/redis-config.yaml");
    let work = tempfile::tempdir().expect("tempdir");
    let (out, log) = (work.path().join("out"), work.path().join("sidecar.log"));
    let mut sidecar = sidecar_command(&cluster, &["--configmap", "redis-config"], &out);
    sidecar
        .args(["--health-addr", "127.0.0.1:0", "--recheck-interval", "1s"])
        .stdout(Stdio::null())
        .stderr(File::create(&log).expect("log file"));
    let (_sidecar, properties) = spawn_redis_sidecar(&mut sidecar, &out);
    wait_until("the health server", || sidecar_health_addr(&log).is_some());
    let addr = sidecar_health_addr(&log).unwrap_or_default();
    wait_until("/readyz ready", || http_get(&addr, "/readyz").is_some());
    let data = out.join("redis-config/..data");
    let published = std::fs::read_link(&data).expect("redis-config/..data");
    let metric = "configsync_sidecar_source_restarts_total";
    let restarts = || sample(&http_get(&addr, "/metrics").unwrap_or_default(), metric);
    let before = restarts().unwrap_or(0.0);

    cluster.set_faults(r#"{"error500Share":1.0}"#);
    cluster.close_watches();
    wait_until("the sidecar to retry the dead API twice", || {
        restarts().is_some_and(|n| n >= before + 2.0)
    });
    assert!(
        read_text(&properties).contains("maxmemory 2mb"),
        "the last files are still served"
    );
    assert_eq!(std::fs::read_link(&data).ok(), Some(published));
    assert!(http_get(&addr, "/readyz").is_some(), "still ready");
    assert!(http_get(&addr, "/healthz").is_some(), "still live");
    assert!(http_get(&addr, "/livez").is_some(), "still live");

    cluster.set_faults("{}");
    let patch = r#"{"data":{"redis.properties":"maxmemory 7mb\n"}}"#;
    cluster.merge_patch("configmap", "redis-config", patch);
    wait_until("the change made after the outage", || {
        read_text(&properties) == "maxmemory 7mb\n"
    });
    let text = read_text(&log);
    assert!(!text.contains("panicked"), "{text}");
}

/// A target directory the sidecar may not write: it exits at start, non-zero, naming the directory and the
/// cause, instead of retrying forever. Root ignores permission bits, so as root the sidecar runs as `nobody`.
#[test]
fn an_unwritable_target_directory_exits_at_start_with_a_clear_message() {
    let work = tempfile::tempdir().expect("tempdir");
    let (source, target) = (work.path().join("source"), work.path().join("target"));
    std::fs::create_dir_all(&source).expect("source dir");
    std::fs::write(source.join("app.conf"), "level=info\n").expect("source file");
    std::fs::create_dir_all(&target).expect("target dir");
    let mode = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    mode(work.path(), 0o755);
    mode(&source, 0o755);
    mode(&target, 0o555);
    let mut command = Command::new(env!("CARGO_BIN_EXE_configsync"));
    command
        .args(["sidecar", "--watch-dir", path_str(&source), "--dir"])
        .arg(target.join("config"))
        .args(["--health-addr", "off"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Files we create are owned by our effective uid.
    let is_root = std::fs::metadata(work.path()).is_ok_and(|m| m.uid() == 0);
    if is_root {
        command.uid(65534).gid(65534);
    }
    let mut child = Process(command.spawn().expect("start configsync sidecar"));
    let deadline = Instant::now() + support::DEADLINE;
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the sidecar kept running");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(!status.success(), "exit status {status}: {stderr}");
    assert!(stderr.contains("not writable"), "{stderr}");
    assert!(stderr.contains(path_str(&target)), "{stderr}");
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
