//! `configsync-sidecar`: the sync sidecar alone, for the injected container.
//!
//! It takes the sidecar's flags directly: `configsync-sidecar --configmap app ...` runs beside the app,
//! `configsync-sidecar exec [flags] -- app args...` wraps the app, `configsync-sidecar install DIR` copies itself
//! (exec mode's init container). The older form with a `sidecar` word first (`configsync-sidecar sidecar ...`,
//! what `configsync sidecar ...` takes) is still accepted, so pods injected before the change keep working. It
//! links only the sidecar's code: the `configsync` binary also carries the operator, the embedded API server,
//! the KMS plugin and the demo, and the pages of that code the kernel maps around what runs count in the
//! sidecar's RSS (BENCHMARKS.md, Sidecar).
use clap::{Parser, Subcommand};
use configsync_sidecar::cli::{ExecArgs, SidecarArgs, SidecarOptions, install::InstallArgs};

/// The configsync sync sidecar: project ConfigMaps and Secrets into files and env, and reload the app.
#[derive(Debug, Parser)]
#[command(
    name = "configsync-sidecar",
    version = configsync::version::VERSION,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(flatten)]
    options: Box<SidecarOptions>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the app as a child: render first, start it with the projected env, reload or restart it on change.
    Exec(Box<ExecArgs>),
    /// Copy this binary into a directory, atomically and executable (exec mode's init container: no `cp` needed).
    Install(InstallArgs),
    /// The older spelling, `configsync-sidecar sidecar [exec] ...`, kept for pods injected before it changed.
    #[command(hide = true)]
    Sidecar(Box<SidecarArgs>),
}

fn main() -> anyhow::Result<()> {
    // A container started the way k8s-sidecar or configmap-reload is runs `sidecar compat MODE` (README).
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv =
        configsync_sidecar::compat::detect(&argv, &|name| std::env::var(name).ok()).unwrap_or(argv);
    let Args { options, command } = Args::parse_from(argv);
    let runtime = || configsync_sidecar::cli::runtime();
    match command {
        None => runtime()?.block_on(options.run()),
        Some(Command::Exec(exec)) => runtime()?.block_on(exec.run()),
        Some(Command::Sidecar(sidecar)) => runtime()?.block_on(sidecar.run()),
        Some(Command::Install(install)) => install.run(),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Args, Command};

    #[test]
    fn the_command_line_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_come_directly_and_after_the_old_sidecar_word() {
        let direct =
            Args::try_parse_from(["configsync-sidecar", "--configmap", "app", "--dir", "/d"])
                .expect("direct flags");
        assert!(direct.command.is_none());
        assert!(format!("{:?}", direct.options).contains("\"app\""));
        let old = Args::try_parse_from(["configsync-sidecar", "sidecar", "--configmap", "app"])
            .expect("the old sidecar word");
        assert!(matches!(old.command, Some(Command::Sidecar(_))));
        let old_exec = ["configsync-sidecar", "sidecar", "exec", "--", "app"];
        assert!(matches!(
            Args::try_parse_from(old_exec).expect("old exec").command,
            Some(Command::Sidecar(_))
        ));
        let exec = [
            "configsync-sidecar",
            "exec",
            "--wait",
            "2s",
            "--",
            "app",
            "-x",
        ];
        assert!(matches!(
            Args::try_parse_from(exec).expect("exec").command,
            Some(Command::Exec(_))
        ));
        assert!(
            Args::try_parse_from([
                "configsync-sidecar",
                "--configmap",
                "app",
                "exec",
                "--",
                "a"
            ])
            .is_err(),
            "flags belong to one mode"
        );
    }

    #[test]
    fn the_old_sidecar_word_is_not_advertised() {
        let help = Args::command().render_help().to_string();
        assert!(
            help.contains("--configmap") && help.contains("exec"),
            "{help}"
        );
        assert!(!help.contains("The older spelling"), "{help}");
    }
}
