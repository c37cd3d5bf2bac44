//! `mosaic config unset KEY`: remove one value from config.json (it falls back to the
//! environment or the default).

use anyhow::{bail, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::Builtin;
use crate::session::Session;

/// `mosaic config unset`.
pub struct Unset;

/// The options of `mosaic config unset`.
#[derive(Debug, Deserialize)]
pub struct UnsetOptions {
    /// The dotted key.
    pub key: String,
}

impl Builtin for Unset {
    type Options = UnsetOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("unset", "Remove a value from config.json")
            .arg(
                ArgSpec::positional("key", "Dotted key")
                    .required()
                    .value_name("KEY"),
            )
            .example("config unset fleet.default_runtime", "")
    }

    fn run(session: &Session, options: UnsetOptions) -> Result<i32> {
        let key = options.key;
        if !config::update(&session.dirs.config, |root| config::unset(root, &key))? {
            bail!("`{key}` is not set in config.json");
        }
        eprintln!("unset {key}");
        Ok(0)
    }
}
