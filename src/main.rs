//! `configsync`: the one binary users run. Each subcommand lives in its own module under `cli/`.
use clap::{Parser, Subcommand};

mod cli;

/// Config and Secret reload for Kubernetes: rollout operator, sync sidecar, encryption at rest.
#[derive(Debug, Parser)]
#[command(name = "configsync", version, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the embedded Kubernetes API server on 127.0.0.1 in the foreground.
    Cluster(cli::cluster::ClusterArgs),
    /// Write a development CA and serving certificate for the injection webhook.
    Certs(cli::certs::CertsArgs),
    /// Print the ConfigSync CustomResourceDefinition as YAML.
    Crd(cli::crd::CrdArgs),
    /// Print a manifest with the sync sidecar injected (like `linkerd inject`).
    Inject(cli::inject::InjectArgs),
    /// The whole system in one command: embedded cluster, operator, sidecar and a demo app, narrated.
    Demo(cli::demo::DemoArgs),
    /// Create and rotate encryption keys; report and re-encrypt stored items.
    Keys(cli::keys::KeysArgs),
    /// Run the kube-apiserver KMS v2 plugin on a unix socket.
    Kms(cli::kms::KmsArgs),
    /// Project ConfigMaps and Secrets into files and env atomically, and reload the app on change.
    Sidecar(Box<cli::sidecar::SidecarArgs>),
    /// Run the rollout operator: restart workloads when the config they consume changes.
    Operator(Box<cli::operator::OperatorArgs>),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Command::Cluster(cluster) => cluster.run().await,
        Command::Certs(certs) => certs.run(),
        Command::Crd(crd) => crd.run(),
        Command::Inject(inject) => inject.run(),
        Command::Demo(demo) => demo.run().await,
        Command::Keys(keys) => keys.run(),
        Command::Kms(kms) => kms.run().await,
        Command::Sidecar(sidecar) => sidecar.run().await,
        Command::Operator(operator) => operator.run().await,
    }
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (unique ids, valid defaults) over every subcommand: a clash otherwise
    /// panics only when that subcommand is first parsed (it did for `sidecar exec`).
    #[test]
    fn the_command_line_definition_is_consistent() {
        <super::Args as clap::CommandFactory>::command().debug_assert();
    }
}
