//! `configsync`: the one binary users run. Each subcommand lives in its own module under `cli/`.
use clap::{Parser, Subcommand};

mod cli;

/// Config and Secret reload for Kubernetes: rollout operator, sync sidecar, encryption at rest.
#[derive(Debug, Parser)]
#[command(name = "configsync", version = configsync::version::VERSION, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the embedded Kubernetes API server on 127.0.0.1 in the foreground.
    Cluster(cli::cluster::ClusterArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion(cli::completion::CompletionArgs),
    /// Write a development CA and serving certificate for the injection webhook.
    Certs(cli::certs::CertsArgs),
    /// Print the ConfigSync CustomResourceDefinition as YAML.
    Crd(cli::crd::CrdArgs),
    /// Print a manifest with the sync sidecar injected (like `linkerd inject`).
    Inject(cli::inject::InjectArgs),
    /// Copy this binary into a directory, atomically and executable (exec mode's init container).
    Install(configsync_sidecar::cli::install::InstallArgs),
    /// The whole system in one command: embedded cluster (or an existing one: --kubeconfig), operator, sidecar
    /// and a demo app, narrated.
    Demo(cli::demo::DemoArgs),
    /// Create and rotate encryption keys; report and re-encrypt stored items.
    Keys(cli::keys::KeysArgs),
    /// Run the kube-apiserver KMS v2 plugin on a unix socket.
    Kms(cli::kms::KmsArgs),
    /// Project ConfigMaps and Secrets into files and env atomically, and reload the app on change.
    Sidecar(Box<configsync_sidecar::cli::SidecarArgs>),
    /// Run the rollout operator: restart workloads when the config they consume changes.
    Operator(Box<cli::operator::OperatorArgs>),
    /// Explain why a workload would or would not roll on the next config change (deploy/web, sts/db, ds/agent).
    Explain(cli::explain::ExplainArgs),
    /// Before replacing Reloader or wave: list the workloads with their annotations and what configsync will do.
    Preflight(cli::preflight::PreflightArgs),
}

/// The name the binary answers to as a kubectl plugin (`kubectl configsync …` runs `kubectl-configsync …`).
const KUBECTL_PLUGIN: &str = "kubectl-configsync";

fn main() -> anyhow::Result<()> {
    let command = parse_args().command;
    command.runtime()?.block_on(command.run())
}

/// Parse the command line; invoked as [`KUBECTL_PLUGIN`], usage and help say `kubectl configsync`.
fn parse_args() -> Args {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let invoked = std::env::args_os().next().map(std::path::PathBuf::from);
    let as_plugin = invoked
        .as_deref()
        .and_then(std::path::Path::file_stem)
        .is_some_and(|name| name == KUBECTL_PLUGIN);
    let mut command = Args::command();
    if as_plugin {
        command = command.bin_name("kubectl configsync");
    }
    // A container started the way k8s-sidecar or configmap-reload is runs `sidecar compat MODE` (README).
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv =
        configsync_sidecar::compat::detect(&argv, &|name| std::env::var(name).ok()).unwrap_or(argv);
    let matches = command.get_matches_from(argv);
    Args::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

impl Command {
    /// The sidecar runs on its own one-thread runtime ([`configsync_sidecar::cli::runtime`]); every other
    /// subcommand gets the multi-threaded runtime.
    fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        match self {
            Self::Sidecar(_) => configsync_sidecar::cli::runtime(),
            _ => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build(),
        }
    }

    async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Cluster(cluster) => cluster.run().await,
            Self::Completion(completion) => completion.run::<Args>(),
            Self::Certs(certs) => certs.run(),
            Self::Crd(crd) => crd.run(),
            Self::Inject(inject) => inject.run(),
            Self::Install(install) => install.run(),
            Self::Demo(demo) => demo.run().await,
            Self::Keys(keys) => keys.run(),
            Self::Kms(kms) => kms.run().await,
            Self::Sidecar(sidecar) => sidecar.run().await,
            Self::Operator(operator) => operator.run().await,
            Self::Explain(explain) => explain.run().await,
            Self::Preflight(preflight) => preflight.run().await,
        }
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
