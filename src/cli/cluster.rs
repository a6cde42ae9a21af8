//! `configsync cluster`: the embedded API server over HTTP, in the foreground until Ctrl-C or SIGTERM.
use configsync_cluster::{Config, EmbeddedCluster};
use std::path::PathBuf;
use std::time::Duration;

/// Run the embedded Kubernetes API server.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Port to listen on, on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 6443, env = "CONFIGSYNC_CLUSTER_PORT")]
    pub port: u16,
    /// Where to write a kubeconfig that points at this server. (kubectl's `--kubeconfig` names a file to read;
    /// this one is written, hence the name. `--kubeconfig` is still accepted here, as a hidden alias, for old scripts.)
    #[arg(
        long,
        alias = "kubeconfig",
        default_value = "kubeconfig",
        env = "CONFIGSYNC_CLUSTER_WRITE_KUBECONFIG"
    )]
    pub write_kubeconfig: PathBuf,
    /// How long simulated pods take to become Ready, in milliseconds.
    #[arg(
        long,
        default_value_t = 1000,
        env = "CONFIGSYNC_CLUSTER_POD_READY_DELAY_MS"
    )]
    pub pod_ready_delay_ms: u64,
    /// Serve the API only: no simulated Deployment/ReplicaSet/StatefulSet/DaemonSet controllers,
    /// kubelet or garbage collector (benchmarks measure the operator, not the simulation).
    #[arg(long, env = "CONFIGSYNC_CLUSTER_NO_CONTROLLERS")]
    pub no_controllers: bool,
    /// Latency added before every API answer (`20ms`, `0s`), like the round trip of a real control
    /// plane; the simulated controllers do not wait it.
    #[arg(
        long,
        default_value = "0s",
        value_parser = super::operator::parse_duration_flag,
        env = "CONFIGSYNC_CLUSTER_API_LATENCY"
    )]
    pub api_latency: Duration,
}

impl ClusterArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let Self {
            port,
            write_kubeconfig: kubeconfig,
            pod_ready_delay_ms,
            no_controllers,
            api_latency,
        } = self;
        let config = Config {
            pod_ready_delay: Duration::from_millis(pod_ready_delay_ms),
            run_controllers: !no_controllers,
            api_latency,
            ..Config::default()
        };
        let mut cluster = EmbeddedCluster::start(config).await;
        let addr = cluster.serve_http(port).await?;
        cluster.write_kubeconfig(&kubeconfig)?;
        let kubeconfig = std::path::absolute(&kubeconfig).unwrap_or(kubeconfig);
        println!("configsync cluster listening on http://{addr}");
        println!("export KUBECONFIG={}", kubeconfig.display());
        configsync::shutdown::wait_for_shutdown().await?;
        println!("configsync cluster stopped");
        Ok(())
    }
}
