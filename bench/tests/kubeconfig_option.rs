//! `bench scale --kubeconfig` and `bench sidecar --kubeconfig` run on an existing cluster, at a small scale.
//!
//! The cluster is the real control plane of `CONFIGSYNC_REAL_K8S=DIR` (`hack/real-k8s up DIR`) when set, else a
//! `configsync cluster` process this test starts; either way the bench binary only gets its kubeconfig. Each
//! run uses a fresh namespace (deleted afterwards on a real cluster). The `configsync` and `configsync-sidecar`
//! binaries must be built (`cargo build -p configsync`); when they are not, the test is skipped with the reason
//! printed, and fails when `CI` is set. It asserts what was done, never how fast.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use configsync_bench::scale::{load, process};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::DeleteParams;
use serde_json::Value;

/// `configsync` and `configsync-sidecar`, next to the test's target directory (or `CONFIGSYNC_BIN`'s directory).
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let configsync = match std::env::var_os("CONFIGSYNC_BIN") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()
            .ok()?
            .parent()?
            .parent()?
            .join("configsync"),
    };
    let sidecar = configsync.with_file_name("configsync-sidecar");
    if configsync.exists() && sidecar.exists() {
        return Some((configsync, sidecar));
    }
    let reason = format!(
        "{} or {} is missing: build them with `cargo build -p configsync`",
        configsync.display(),
        sidecar.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{reason}");
    eprintln!("skipping: {reason}");
    None
}

/// The cluster under test: its kubeconfig, and the embedded process when this test started one.
struct Existing {
    kubeconfig: PathBuf,
    real: bool,
    _embedded: Option<process::ClusterProcess>,
}

fn existing_cluster(configsync: &Path) -> Existing {
    match std::env::var_os("CONFIGSYNC_REAL_K8S").filter(|dir| !dir.is_empty()) {
        Some(dir) => Existing {
            kubeconfig: PathBuf::from(dir).join("kubeconfig"),
            real: true,
            _embedded: None,
        },
        None => {
            let cluster =
                process::start_cluster(configsync, false, Duration::ZERO, Duration::from_secs(60))
                    .expect("start configsync cluster");
            Existing {
                kubeconfig: cluster.kubeconfig.clone(),
                real: false,
                _embedded: Some(cluster),
            }
        }
    }
}

fn fresh_namespace(prefix: &str) -> String {
    let suffix: u32 = rand_suffix();
    format!("{prefix}-{suffix:08x}")
}

/// A suffix that differs between runs and processes (no randomness crate in this package).
fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    nanos ^ std::process::id().rotate_left(16)
}

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").to_string()
}

/// Run `bench <args> --json`; its JSON line.
fn bench(args: &[String]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(args)
        .arg("--json")
        .output()
        .expect("run bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .rfind(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON line in:\n{stdout}"));
    serde_json::from_str(line).expect("the JSON line parses")
}

/// Delete `namespace` on a real cluster (the embedded one goes away with its process).
async fn delete_namespace(cluster: &Existing, namespace: &str) {
    if cluster.real {
        let client = load::client(&cluster.kubeconfig).await.expect("client");
        let api: Api<Namespace> = Api::all(client);
        let _ = api.delete(namespace, &DeleteParams::default()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_runs_on_the_cluster_of_a_kubeconfig() {
    let Some((configsync, _)) = binaries() else {
        return;
    };
    let cluster = existing_cluster(&configsync);
    let namespace = fresh_namespace("bench-scale");
    let health = free_addr();
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let configsync_arg = configsync.display().to_string();
    let args = [
        "scale",
        "--kubeconfig",
        &kubeconfig,
        "--configsync",
        &configsync_arg,
        "--namespace",
        &namespace,
        "--configmaps",
        "20",
        "--secrets",
        "20",
        "--size",
        "512",
        "--deployments",
        "10",
        "--fanout",
        "10",
        "--updates",
        "5",
        "--concurrency",
        "8",
        "--operator-health",
        &health,
        "--deadline-seconds",
        "60",
    ]
    .map(String::from);
    let report = tokio::task::spawn_blocking(move || bench(&args))
        .await
        .expect("bench thread");
    delete_namespace(&cluster, &namespace).await;

    assert!(
        report["cluster"]
            .as_str()
            .unwrap_or_default()
            .starts_with("existing (kubeconfig"),
        "{report}"
    );
    assert_eq!(report["namespace"], namespace.as_str());
    assert_eq!(
        report["created"], report["listed"],
        "every object is listed"
    );
    assert_eq!(report["created"]["deployments"], 20);
    let operator = &report["operator"];
    assert_eq!(
        operator["reaction"]["count"], 5,
        "every update patched its consumers: {report}"
    );
    assert_eq!(
        operator["restart_patches"], 0,
        "a restart writes nothing: {report}"
    );
    assert_eq!(operator["restart_changed_templates"], 0, "{report}");
    let expected_counting = if cluster.real {
        "DeploymentPatches"
    } else {
        "ByClient"
    };
    assert_eq!(operator["counting"], expected_counting, "{report}");
    let adoption = operator["initial_patches"].as_u64().unwrap_or_default();
    assert!(
        adoption >= 20,
        "each Deployment is adopted with a patch: {report}"
    );
    let patches = operator["requests_per_update"]["patch"]
        .as_f64()
        .unwrap_or_default();
    assert!(
        patches >= 1.0,
        "each update patches its consumers: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidecar_runs_on_the_cluster_of_a_kubeconfig() {
    let Some((configsync, sidecar)) = binaries() else {
        return;
    };
    let cluster = existing_cluster(&configsync);
    let namespace = fresh_namespace("bench-sidecar");
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let (configsync_arg, sidecar_arg) = (
        configsync.display().to_string(),
        sidecar.display().to_string(),
    );
    let base = tempfile::tempdir().expect("tempdir");
    let base_arg = base.path().display().to_string();
    let args = [
        "sidecar",
        "--kubeconfig",
        &kubeconfig,
        "--configsync",
        &configsync_arg,
        "--sidecar-bin",
        &sidecar_arg,
        "--namespace",
        &namespace,
        "--updates",
        "5",
        "--dir-base",
        &base_arg,
        "--compare-base",
        &base_arg,
    ]
    .map(String::from);
    let report = tokio::task::spawn_blocking(move || bench(&args))
        .await
        .expect("bench thread");
    delete_namespace(&cluster, &namespace).await;

    assert!(
        report["cluster"]
            .as_str()
            .unwrap_or_default()
            .starts_with("existing (kubeconfig"),
        "{report}"
    );
    let cases = report["run"]["latencies"].as_array().expect("latencies");
    assert_eq!(
        cases.len(),
        4,
        "no comparison run on the same filesystem: {report}"
    );
    for case in cases {
        assert_eq!(
            case["files"]["count"], 5,
            "every update reached the files: {case}"
        );
        assert_eq!(
            case["notice"]["count"], 5,
            "every update was noticed: {case}"
        );
    }
    let rss = report["run"]["memory_50_sources"]["rss_kib"]
        .as_u64()
        .unwrap_or_default();
    assert!(rss > 0, "the sidecar's RSS with 50 sources: {report}");
}
