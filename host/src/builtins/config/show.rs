//! `mosaic config show`: the effective value of every key, where it came from, and
//! secrets redacted.

use anyhow::Result;
use mosaic_plugin_api::sdk::config::{self, ValueSource};
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{CommandSpec, NoOptions};
use serde_json::Value;

use crate::builtins::config::{declared_keys, display_value, shown_value};
use crate::builtins::Builtin;
use crate::session::Session;

/// `mosaic config show`.
pub struct Show;

/// Every value in `value` under its dotted key. Sections are not values: an empty
/// one (what `config unset` leaves behind) adds nothing.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let full = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&full, inner, out);
            }
        }
        _ => out.push((prefix.to_string(), value.clone())),
    }
}

impl Builtin for Show {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "show",
            "Show every configuration value, its source, secrets redacted",
        )
        .long_about(
            "Show the effective value of every key the installed plugins declare, and \
             of every other key in config.json, with where it came from (env, \
             config.json or default). Secrets are shown as <redacted> (keys declared \
             secret, or named like one: *_key, *password*, *token*, *secret*), and \
             passwords inside URLs as ***. A section of config.json too broken to \
             read is named (with how to remove it) and the rest is shown.",
        )
        .example("config show", "")
        .example("config show --json", "")
    }

    fn run(session: &Session, _options: NoOptions) -> Result<i32> {
        show(session)
    }
}

/// The source shown for a key whose section of config.json cannot be read.
const UNREADABLE: &str = "config.json (unreadable)";

/// Prints the values.
fn show(session: &Session) -> Result<i32> {
    let (file, unreadable) = config::load_readable(&session.dirs.config)?;
    let unreadable_reason = |key: &str| {
        let section = key.split('.').next().unwrap_or(key);
        unreadable
            .iter()
            .find(|bad| bad.name == section)
            .map(|bad| bad.reason.clone())
    };
    let declared = declared_keys(session);
    let mut rows: Vec<(String, Option<Value>, String)> = Vec::new();
    for spec in &declared {
        let resolved = config::resolve(spec, None, |key| session.env(key), &file);
        let (value, source) = match resolved {
            Some((value, ValueSource::Env(variable))) => {
                (Some(value), ValueSource::Env(variable).to_string())
            }
            // The file's value cannot be known: do not pretend it is the default.
            _ if unreadable_reason(&spec.key).is_some() => (None, UNREADABLE.to_string()),
            Some((value, source)) => (Some(value), source.to_string()),
            None => (None, "unset".to_string()),
        };
        rows.push((spec.key.clone(), value, source));
    }
    for bad in &unreadable {
        if !rows.iter().any(|(key, _, _)| key == &bad.name) {
            rows.push((bad.name.clone(), None, UNREADABLE.to_string()));
        }
        eprintln!(
            "warning: {}: section `{}` cannot be read: {}; remove it with \
             `mosaic config unset {}`",
            config::config_path(&session.dirs.config).display(),
            bad.name,
            bad.reason,
            bad.name
        );
    }
    let mut undeclared = Vec::new();
    flatten("", &file, &mut undeclared);
    for (key, value) in undeclared {
        if !declared.iter().any(|spec| spec.key == key) {
            rows.push((key, Some(value), ValueSource::File.to_string()));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let shown = |key: &str, value: &Option<Value>| match value {
        Some(value) => shown_value(&declared, key, value),
        None => Value::Null,
    };
    if session.json() {
        let object: serde_json::Map<String, Value> = rows
            .iter()
            .map(|(key, value, source)| {
                (
                    key.clone(),
                    serde_json::json!({"value": shown(key, value), "source": source}),
                )
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&object)?);
        return Ok(0);
    }
    if rows.is_empty() {
        println!("No configuration values. Set one with `mosaic config set KEY VALUE`.");
        return Ok(0);
    }
    let mut table = Table::new(&["key", "value", "source"]);
    for (key, value, source) in &rows {
        let text = match shown(key, value) {
            Value::Null => "-".to_string(),
            other => display_value(&other),
        };
        table.add_row([key.clone(), text, source.clone()]);
    }
    print!("{}", table.render());
    Ok(0)
}
