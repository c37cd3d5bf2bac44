//! `mosaic config get KEY`: one effective value, for scripts.

use clap::{Arg, ArgMatches, Command};
use mosaic_plugin_api::sdk::config;

use crate::app::App;
use crate::builtins::config::{declared_keys, display_value, has_url_credentials, is_secret_key};
use crate::builtins::fail;
use crate::dispatch::{lookup_env, EnvOverrides};

/// Declares the command.
pub fn command() -> Command {
    Command::new("get")
        .about("Print one configuration value (env > config.json > default)")
        .arg(
            Arg::new("key")
                .required(true)
                .value_name("KEY")
                .help("Dotted key, e.g. fleet.default_runtime"),
        )
        .after_help("Examples:\n  mosaic config get fleet.default_runtime")
}

/// Prints the value; exit 1 when it is not set or is a secret.
pub fn run(app: &App, matches: &ArgMatches, overrides: &EnvOverrides) -> i32 {
    let key = matches
        .get_one::<String>("key")
        .map(String::as_str)
        .unwrap_or_default();
    let file = match config::load(&app.dirs.config) {
        Ok(file) => file,
        Err(error) => return fail(format!("{error:#}")),
    };
    let declared = declared_keys(app);
    let spec = declared.iter().find(|spec| spec.key == key);
    let resolved = match spec {
        Some(spec) => config::resolve(spec, None, |name| lookup_env(overrides, name), &file)
            .map(|(value, _)| value),
        None => config::get(&file, key).cloned(),
    };
    match resolved {
        Some(value) if is_secret_key(&declared, key) || has_url_credentials(&value) => fail(
            format!("`{key}` is a secret and is set; mosaic does not print secrets"),
        ),
        Some(value) => {
            println!("{}", display_value(&value));
            0
        }
        None => fail(format!("`{key}` is not set (see `mosaic config show`)")),
    }
}
