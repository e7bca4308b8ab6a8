//! `rampart completions SHELL`: a completion script generated from the
//! command line's own definition, so it never drifts from the commands.

use clap::{CommandFactory, ValueEnum};

/// Shells with completion scripts.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Shell {
    /// Bash: `source <(rampart completions bash)`.
    Bash,
    /// Zsh: write it as `_rampart` into a directory of `$fpath`.
    Zsh,
    /// Fish: write it to `~/.config/fish/completions/rampart.fish`.
    Fish,
}

/// Arguments of `rampart completions`.
#[derive(clap::Args, Debug)]
pub struct CompletionsArguments {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the completion script for the shell.
pub fn run(arguments: CompletionsArguments) -> u8 {
    let shell = match arguments.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = crate::Cli::command();
    clap_complete::generate(shell, &mut command, "rampart", &mut std::io::stdout());
    crate::exit::CLEAN
}
