//! `mosaic config get KEY`: one effective value, for scripts.

use anyhow::{bail, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::config::{declared_keys, display_value, has_url_credentials, is_secret_key};
use crate::builtins::Builtin;
use crate::session::Session;

/// `mosaic config get`.
pub struct Get;

/// The options of `mosaic config get`.
#[derive(Debug, Deserialize)]
pub struct GetOptions {
    /// The dotted key.
    pub key: String,
}

impl Builtin for Get {
    type Options = GetOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "get",
            "Print one configuration value (env > config.json > default)",
        )
        .arg(
            ArgSpec::positional("key", "Dotted key, e.g. fleet.default_runtime")
                .required()
                .value_name("KEY"),
        )
        .example("config get fleet.default_runtime", "")
    }

    /// Prints the value; exit 1 when it is not set or is a secret.
    fn run(session: &Session, options: GetOptions) -> Result<i32> {
        let key = options.key;
        config::check_key_syntax(&key)?;
        // Only the key's section is parsed: a broken section elsewhere does not matter.
        let section = key.split('.').next().unwrap_or(&key);
        let file = config::load_sections(&session.dirs.config, &[section])?;
        let declared = declared_keys(session);
        let spec = declared.iter().find(|spec| spec.key == key);
        let resolved = match spec {
            Some(spec) => {
                config::resolve(spec, None, |name| session.env(name), &file).map(|(value, _)| value)
            }
            None => config::get(&file, &key).cloned(),
        };
        match resolved {
            Some(value) if is_secret_key(&declared, &key) || has_url_credentials(&value) => {
                bail!("`{key}` is a secret and is set; mosaic does not print secrets")
            }
            Some(value) => {
                println!("{}", display_value(&value));
                Ok(0)
            }
            None => bail!("`{key}` is not set (see `mosaic config show`)"),
        }
    }
}
