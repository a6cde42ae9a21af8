//! The scale harness at 500 objects, as a normal test: it asserts correctness, never time.
//!
//! Every generated object must be listed afterwards. When the `configsync` binary next to the test (or
//! `CONFIGSYNC_BIN`) has an `operator` subcommand, the operator step must also succeed: every update patches
//! the consuming Deployments, the fan-out reaches every Deployment, and a restart patches nothing.
//! Otherwise the operator step is skipped with the reason printed.
use std::path::PathBuf;

use configsync_bench::scale::load::Counting;
use configsync_bench::scale::{self, Endpoint, Params, expected_counts, process};
use configsync_cluster::{Config, EmbeddedCluster};

fn params() -> Params {
    Params {
        configmaps: 200,
        secrets: 200,
        size: 1024,
        deployments: 80,
        fanout: 20,
        updates: 20,
        concurrency: 16,
        replicas: 0,
        namespace: "bench".into(),
        rollouts_per_second: 50.0,
        operator_health: "127.0.0.1:18080".into(),
        operator_args: Vec::new(),
        operator_log: None,
        controllers: false,
        api_latency: std::time::Duration::ZERO,
        deadline_seconds: 60,
    }
}

/// `CONFIGSYNC_BIN`, else `configsync` in the target directory this test runs from.
fn configsync_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CONFIGSYNC_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("configsync");
    path.exists().then_some(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_objects_are_created_and_the_operator_step_is_correct() {
    let config = Config {
        run_controllers: false,
        ..Config::default()
    };
    let mut cluster = EmbeddedCluster::start(config).await;
    cluster.serve_http(0).await.expect("serve over HTTP");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    cluster
        .write_kubeconfig(&kubeconfig)
        .expect("write kubeconfig");
    let endpoint = Endpoint {
        description: "embedded, in process".to_owned(),
        kubeconfig,
        server_pid: None,
        counting: Counting::ByClient,
    };
    let params = params();
    let binary = configsync_binary();
    let operator = binary
        .as_deref()
        .ok_or_else(|| "no configsync binary given".to_owned())
        .and_then(|bin| process::operator_help(bin).map(|_| bin));
    let operator_present = operator.is_ok();
    let report = scale::run(&params, &endpoint, operator)
        .await
        .expect("the scale harness runs");

    let expected = expected_counts(&params);
    assert_eq!(
        expected.config_maps + expected.secrets + expected.deployments,
        501
    );
    assert_eq!(report.created, expected);
    assert_eq!(report.listed, expected, "every created object is listed");
    assert_eq!(report.raw_bytes, 401 * 1024);

    match (&report.operator, operator_present) {
        (Ok(operator), _) => {
            let reaction = operator.reaction.as_ref().expect("updates were measured");
            assert_eq!(
                reaction.count, params.updates,
                "every update patched its consumers"
            );
            assert_eq!(operator.restart_patches, 0, "no writes after a restart");
            assert_eq!(
                operator.restart_changed_templates, 0,
                "no template changed on restart"
            );
            assert!(operator.memory.rss_kib > 0);
        }
        (Err(reason), true) => panic!("the operator exists but its step failed: {reason}"),
        (Err(reason), false) => eprintln!("operator step skipped: {reason}"),
    }
}
