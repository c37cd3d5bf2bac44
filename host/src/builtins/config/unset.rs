//! `mosaic config unset KEY`: remove one value from config.json (it falls back to the
//! environment or the default).

use clap::{Arg, ArgMatches, Command};
use mosaic_plugin_api::sdk::config;

use crate::app::App;
use crate::builtins::fail;

/// Declares the command.
pub fn command() -> Command {
    Command::new("unset")
        .about("Remove a value from config.json")
        .arg(
            Arg::new("key")
                .required(true)
                .value_name("KEY")
                .help("Dotted key"),
        )
        .after_help("Examples:\n  mosaic config unset fleet.default_runtime")
}

/// Removes the value.
pub fn run(app: &App, matches: &ArgMatches) -> i32 {
    let key = matches
        .get_one::<String>("key")
        .cloned()
        .unwrap_or_default();
    match config::update(&app.dirs.config, |root| config::unset(root, &key)) {
        Ok(true) => {
            eprintln!("unset {key}");
            0
        }
        Ok(false) => fail(format!("`{key}` is not set in config.json")),
        Err(error) => fail(format!("{error:#}")),
    }
}
