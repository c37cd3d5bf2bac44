//! `mosaic completions <bash|zsh|fish>`: a completion script for the whole tree,
//! plugin commands included (the tree is built from the installed plugins).

use clap::{Arg, ArgMatches, Command};
use clap_complete::Shell;

use crate::app::App;
use crate::tree;

/// Declares the command.
pub fn command() -> Command {
    Command::new("completions")
        .about("Print a shell completion script")
        .long_about(
            "Print a completion script for the given shell, covering every installed \
             plugin's commands. Re-run it after installing or removing plugins.",
        )
        .arg(
            Arg::new("shell")
                .required(true)
                .value_parser(["bash", "zsh", "fish"])
                .help("The shell to complete for"),
        )
        .after_help(
            "Examples:\n  mosaic completions bash > ~/.local/share/bash-completion/completions/mosaic\n  \
             mosaic completions zsh > \"${fpath[1]}/_mosaic\"\n  \
             mosaic completions fish > ~/.config/fish/completions/mosaic.fish",
        )
}

/// Prints the script.
pub fn run(app: &App, matches: &ArgMatches) -> i32 {
    let shell = match matches.get_one::<String>("shell").map(String::as_str) {
        Some("zsh") => Shell::Zsh,
        Some("fish") => Shell::Fish,
        _ => Shell::Bash,
    };
    let mut tree = tree::build(&app.registry, tree::Detail::Full);
    clap_complete::generate(shell, &mut tree, "mosaic", &mut std::io::stdout());
    0
}
