//! `mosaic completions <bash|zsh|fish>`: a completion script for the whole tree,
//! plugin commands included (the tree is built from the installed plugins).

use anyhow::Result;
use clap_complete::Shell;
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::{table, Builtin};
use crate::session::Session;
use crate::tree;

/// `mosaic completions`.
pub struct Completions;

/// The options of `mosaic completions`.
#[derive(Debug, Deserialize)]
pub struct CompletionsOptions {
    /// `bash`, `zsh` or `fish`.
    pub shell: String,
}

impl Builtin for Completions {
    type Options = CompletionsOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("completions", "Print a shell completion script")
            .long_about(
                "Print a completion script for the given shell, covering every installed \
                 plugin's commands. Re-run it after installing or removing plugins.",
            )
            .arg(
                ArgSpec::positional("shell", "The shell to complete for")
                    .required()
                    .value_name("shell")
                    .possible_values(&["bash", "zsh", "fish"]),
            )
            .example(
                "completions bash > ~/.local/share/bash-completion/completions/mosaic",
                "",
            )
            .example("completions zsh > \"${fpath[1]}/_mosaic\"", "")
            .example(
                "completions fish > ~/.config/fish/completions/mosaic.fish",
                "",
            )
    }

    fn run(session: &Session, options: CompletionsOptions) -> Result<i32> {
        let shell = match options.shell.as_str() {
            "zsh" => Shell::Zsh,
            "fish" => Shell::Fish,
            _ => Shell::Bash,
        };
        let mut tree = tree::build(&session.registry, &table().specs(), tree::Detail::Full);
        clap_complete::generate(shell, &mut tree, "mosaic", &mut std::io::stdout());
        Ok(0)
    }
}
