//! `configsync-sidecar`: the sync sidecar alone, for the injected container.
//!
//! It takes exactly the arguments of `configsync sidecar …` (including `sidecar exec …`), so an injected
//! pod runs `configsync-sidecar sidecar …` where it would run `configsync sidecar …`. It links only the
//! sidecar's code: the `configsync` binary also carries the operator, the embedded API server, the KMS
//! plugin and the demo, and the pages of that code the kernel maps around what runs count in the
//! sidecar's RSS (BENCHMARKS.md, Sidecar).
use clap::{Parser, Subcommand};

#[path = "../cli/install.rs"]
mod install;
#[path = "../cli/sidecar.rs"]
mod sidecar;
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
    // A container started the way k8s-sidecar or configmap-reload is runs `sidecar compat MODE` (README).
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv =
        configsync_sidecar::compat::detect(&argv, &|name| std::env::var(name).ok()).unwrap_or(argv);
    let args = match Args::parse_from(argv).command {
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
