//! `mosaic config unset KEY`: remove one value from config.json (it falls back to the
//! environment or the default).

use anyhow::{bail, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::sdk::fs::json_type_name;
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;
use serde_json::Value;

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
            .long_about(
                "Remove KEY from config.json; it falls back to the environment or the \
                 default. KEY may be a whole section (`mosaic config unset gateway`): \
                 that removes every key in it, even one too broken to read, and says \
                 what it removed. Other sections are written back as they were.",
            )
            .example("config unset fleet.default_runtime", "")
    }

    fn run(session: &Session, options: UnsetOptions) -> Result<i32> {
        unset(session, &options.key)
    }
}

/// Removes the key. A whole section is removed without parsing it (so one too deep
/// to read can still be removed); a key inside a section parses that section only.
fn unset(session: &Session, key: &str) -> Result<i32> {
    let config_dir = &session.dirs.config;
    if !key.contains('.') {
        config::check_key_syntax(key)?;
        let Some(removed) = config::remove_section(config_dir, key)? else {
            bail!("`{key}` is not set in config.json");
        };
        let what = match serde_json::from_str::<Value>(&removed) {
            Ok(value) => describe(&value),
            Err(_) => "an unreadable value".to_string(),
        };
        eprintln!("unset {key} (removed {what})");
        return Ok(0);
    }
    let section = key.split('.').next().unwrap_or(key);
    let removed = config::update_sections(config_dir, &[section], |root| {
        let removed = config::get(root, key).cloned();
        config::unset(root, key)?;
        Ok(removed)
    })?;
    match removed {
        None => bail!("`{key}` is not set in config.json"),
        Some(value @ Value::Object(_)) => eprintln!("unset {key} (removed {})", describe(&value)),
        Some(_) => eprintln!("unset {key}"),
    }
    Ok(0)
}

/// "a section holding 3 key(s)", "a string", …, never the value itself.
fn describe(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let names: Vec<&str> = map.keys().map(String::as_str).take(10).collect();
            let more = if map.len() > names.len() { ", …" } else { "" };
            if names.is_empty() {
                "an empty section".to_string()
            } else {
                format!(
                    "a section holding {} key(s): {}{more}",
                    map.len(),
                    names.join(", ")
                )
            }
        }
        other => json_type_name(other).to_string(),
    }
}
