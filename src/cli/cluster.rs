//! `configsync cluster`: the embedded API server over HTTP.
use std::path::PathBuf;

/// Run the embedded Kubernetes API server.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Port to listen on, on 127.0.0.1.
    #[arg(long, default_value_t = 6443, env = "CONFIGSYNC_CLUSTER_PORT")]
    pub port: u16,
    /// Where to write a kubeconfig that points at this server.
    #[arg(long, default_value = "kubeconfig", env = "CONFIGSYNC_CLUSTER_KUBECONFIG")]
    pub kubeconfig: PathBuf,
}

impl ClusterArgs {
    pub async fn run(self) -> anyhow::Result<()> {
        let Self { port, kubeconfig } = self;
        anyhow::bail!("the embedded cluster is not implemented yet (port {port}, kubeconfig {})", kubeconfig.display())
    }
}
