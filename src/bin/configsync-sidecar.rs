//! `configsync-sidecar`: the sync sidecar alone, for the injected container.
//!
//! It takes exactly the arguments of `configsync sidecar …` (including `sidecar exec …`), so an injected
//! pod runs `configsync-sidecar sidecar …` where it would run `configsync sidecar …`. It links only the
//! sidecar's code: the `configsync` binary also carries the operator, the embedded API server, the KMS
//! plugin and the demo, and the pages of that code the kernel maps around what runs count in the
//! sidecar's RSS (BENCHMARKS.md, Sidecar).
use clap::{Parser, Subcommand};

use configsync_sidecar::cli::{self as sidecar, install};
#[path = "../cli/version.rs"]
mod version;

/// The configsync sync sidecar: project ConfigMaps and Secrets into files and env, and reload the app.
#[derive(Debug, Parser)]
#[command(name = "configsync-sidecar", version = version::VERSION, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Project ConfigMaps and Secrets into files and env atomically, and reload the app on change.
    Sidecar(Box<sidecar::SidecarArgs>),
    /// Copy this binary into a directory, atomically and executable (exec mode's init container: no `cp` needed).
    Install(install::InstallArgs),
}

fn main() -> anyhow::Result<()> {
    let args = match Args::parse().command {
        Command::Sidecar(args) => args,
        Command::Install(install) => return install.run(),
    };
    // One thread, as `configsync sidecar` runs (src/main.rs).
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(args.run())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Args::command().debug_assert();
    }
}
