//! `mosaic plugins …`: see, vet, add and remove plugins.

mod doctor;
mod info;
mod install;
mod list;
mod remove;

use clap::{ArgMatches, Command};

use crate::app::App;

/// Declares `plugins` and its subcommands.
pub fn command() -> Command {
    Command::new("plugins")
        .about("List, inspect, install and remove plugins")
        .long_about(
            "List, inspect, install and remove plugins. Plugins are libraries named \
             libmosaic_<name>.so found on the search path: --plugin-dir, \
             MOSAIC_PLUGIN_PATH, ~/.local/share/mosaic/plugins, PREFIX/lib/mosaic/plugins \
             and the directory of the mosaic binary (first wins).",
        )
        .after_help(
            "Examples:\n  mosaic plugins list\n  mosaic plugins doctor\n  \
             mosaic plugins install target/release/libmosaic_hello.so",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(list::command())
        .subcommand(info::command())
        .subcommand(install::command())
        .subcommand(remove::command())
        .subcommand(doctor::command())
}

/// Runs the chosen subcommand.
pub fn run(app: &App, matches: &ArgMatches, json: bool) -> i32 {
    match matches.subcommand() {
        Some(("list", sub)) => list::run(app, sub, json),
        Some(("info", sub)) => info::run(app, sub, json),
        Some(("install", sub)) => install::run(app, sub),
        Some(("remove", sub)) => remove::run(app, sub),
        Some(("doctor", sub)) => doctor::run(app, sub, json),
        _ => 2,
    }
}
