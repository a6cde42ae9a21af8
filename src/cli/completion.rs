//! `configsync completion <shell>`: a shell completion script for every subcommand and flag, printed to stdout.
use clap::CommandFactory;
use clap_complete::Shell;

/// Print a shell completion script.
///
/// bash: `source <(configsync completion bash)`; zsh: `configsync completion zsh > "${fpath[1]}/_configsync"`;
/// fish: `configsync completion fish > ~/.config/fish/completions/configsync.fish`.
#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

impl CompletionArgs {
    pub fn run<Cli: CommandFactory>(self) -> anyhow::Result<()> {
        let mut command = Cli::command();
        let name = command.get_name().to_owned();
        clap_complete::generate(self.shell, &mut command, name, &mut std::io::stdout());
        Ok(())
    }
}
