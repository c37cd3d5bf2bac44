//! `mosaic config …`: the host's configuration commands, and the group plugins mount
//! their own commands under (e.g. `mosaic config hooks`).

mod get;
mod path;
mod set;
mod show;
mod unset;

use clap::{ArgMatches, Command};
use mosaic_plugin_api::ConfigKeySpec;

use crate::app::App;
use crate::dispatch::EnvOverrides;
use crate::registry::Status;

/// Declares the `config` group with the built-in subcommands.
pub fn command() -> Command {
    Command::new("config")
        .about("Show and change configuration (config.json)")
        .long_about(
            "Show and change Mosaic's configuration file, config.json, which has a \
             section per plugin. Values resolve as: command-line flag > environment \
             variable > config.json > default. Plugins add their own commands to this \
             group.",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(show::command())
        .subcommand(path::command())
        .subcommand(get::command())
        .subcommand(set::command())
        .subcommand(unset::command())
}

/// Whether `name` is one of the built-in `config` subcommands.
pub fn owns(name: &str) -> bool {
    matches!(name, "show" | "path" | "get" | "set" | "unset")
}

/// Runs a built-in `config` subcommand.
pub fn run(
    app: &App,
    name: &str,
    matches: &ArgMatches,
    json: bool,
    overrides: &EnvOverrides,
) -> i32 {
    match name {
        "show" => show::run(app, json, overrides),
        "path" => path::run(app, json),
        "get" => get::run(app, matches, overrides),
        "set" => set::run(app, matches),
        "unset" => unset::run(app, matches),
        _ => 2,
    }
}

/// The config keys declared by working plugins.
pub fn declared_keys(app: &App) -> Vec<ConfigKeySpec> {
    app.registry
        .plugins
        .iter()
        .filter(|record| matches!(record.status, Status::Ok | Status::Shadowed))
        .filter_map(|record| record.manifest())
        .flat_map(|manifest| manifest.config.iter().cloned())
        .collect()
}

/// Text for a value: strings bare, everything else as JSON.
pub fn display_value(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
