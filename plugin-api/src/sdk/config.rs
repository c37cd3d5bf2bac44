//! `config.json`: Mosaic's one configuration file, with a section per plugin
//! (`{"fleet": {"default_runtime": "claude"}, …}`).
//!
//! Reading never repairs: a file that is not valid JSON is an error naming the file,
//! line and column, and nothing overwrites it. Writing happens under a lock, through
//! an atomic replace, with mode 0600 because sections may hold secrets. Values are
//! resolved with the precedence flag > environment > file > default.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::sdk::fs::{
    create_dir_all_with_mode, expect_object, json_type_name, read_json_file, write_json_file,
    FileLock,
};
use crate::spec::ConfigKeySpec;

/// The file name inside the config directory.
pub const CONFIG_FILE_NAME: &str = "config.json";

/// `<config_dir>/config.json`.
pub fn config_path(config_dir: &Path) -> PathBuf {
    config_dir.join(CONFIG_FILE_NAME)
}

/// Loads the configuration; an empty object when the file does not exist.
pub fn load(config_dir: &Path) -> Result<Value> {
    let path = config_path(config_dir);
    match read_json_file(&path)? {
        None => Ok(Value::Object(Map::new())),
        Some(mut value) => {
            expect_object(&path, &mut value)?;
            Ok(value)
        }
    }
}

/// The value at a dotted key such as `fleet.default_runtime`.
pub fn get<'a>(root: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.')
        .try_fold(root, |value, part| value.as_object()?.get(part))
}

/// Sets a dotted key, creating the sections on the way.
pub fn set(root: &mut Value, key: &str, new_value: Value) -> Result<()> {
    validate_key(key)?;
    let parts: Vec<&str> = key.split('.').collect();
    let (last, sections) = parts.split_last().expect("validated key has a part");
    let mut current = root;
    let mut walked = String::new();
    for part in sections {
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
        let map = match current {
            Value::Object(map) => map,
            other => bail!(
                "cannot set `{key}`: `{walked}` is {}",
                json_type_name(other)
            ),
        };
        current = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !current.is_object() {
            bail!(
                "cannot set `{key}`: `{walked}` is {}, not a section",
                json_type_name(current)
            );
        }
    }
    match current {
        Value::Object(map) => {
            map.insert(last.to_string(), new_value);
            Ok(())
        }
        other => bail!("cannot set `{key}`: parent is {}", json_type_name(other)),
    }
}

/// Removes a dotted key; returns whether it was there.
pub fn unset(root: &mut Value, key: &str) -> Result<bool> {
    validate_key(key)?;
    let parts: Vec<&str> = key.split('.').collect();
    let (last, sections) = parts.split_last().expect("validated key has a part");
    let mut current = root;
    for part in sections {
        match current.as_object_mut().and_then(|map| map.get_mut(*part)) {
            Some(next) => current = next,
            None => return Ok(false),
        }
    }
    Ok(current
        .as_object_mut()
        .is_some_and(|map| map.remove(*last).is_some()))
}

fn validate_key(key: &str) -> Result<()> {
    let valid_part = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if key.split('.').all(valid_part) {
        Ok(())
    } else {
        bail!(
            "invalid config key `{key}`: use dotted words of letters, digits, `_` and `-`, \
             e.g. `fleet.default_runtime`"
        )
    }
}

/// Loads, changes and saves the configuration under the config lock. If the file is
/// not valid JSON the change is refused and the file left alone.
pub fn update<T>(config_dir: &Path, change: impl FnOnce(&mut Value) -> Result<T>) -> Result<T> {
    create_dir_all_with_mode(config_dir, 0o700)?;
    let path = config_path(config_dir);
    let _lock = FileLock::exclusive(&path)?;
    let mut root = load(config_dir)?;
    let result = change(&mut root)?;
    write_json_file(&path, &root, Some(0o600))?;
    Ok(result)
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueSource {
    /// A command-line flag.
    Flag,
    /// An environment variable (named).
    Env(String),
    /// `config.json`.
    File,
    /// The plugin's default.
    Default,
}

impl std::fmt::Display for ValueSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueSource::Flag => write!(f, "flag"),
            ValueSource::Env(name) => write!(f, "env {name}"),
            ValueSource::File => write!(f, "config.json"),
            ValueSource::Default => write!(f, "default"),
        }
    }
}

/// The effective value of a declared key: flag > environment > file > default.
pub fn resolve(
    spec: &ConfigKeySpec,
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    file: &Value,
) -> Option<(Value, ValueSource)> {
    if let Some(value) = flag {
        return Some((Value::String(value.to_string()), ValueSource::Flag));
    }
    if let Some(variable) = &spec.env {
        if let Some(value) = env(variable) {
            return Some((Value::String(value), ValueSource::Env(variable.clone())));
        }
    }
    if let Some(value) = get(file, &spec.key) {
        return Some((value.clone(), ValueSource::File));
    }
    spec.default
        .clone()
        .map(|value| (value, ValueSource::Default))
}

/// Like [`resolve`], but a section on the key's path that exists and is not an
/// object (`"bash_guard": []` for `hooks.bash_guard.extra_rules`) is an error
/// naming it and the fix, instead of reading as "not set".
pub fn resolve_checked(
    spec: &ConfigKeySpec,
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
    file: &Value,
) -> Result<Option<(Value, ValueSource)>> {
    let parts: Vec<&str> = spec.key.split('.').collect();
    let mut current = file;
    for (depth, part) in parts.iter().enumerate().take(parts.len().saturating_sub(1)) {
        match current.as_object().and_then(|map| map.get(*part)) {
            Some(next @ Value::Object(_)) => current = next,
            Some(other) => {
                let section = parts[..=depth].join(".");
                bail!(
                    "config.json: `{section}` is {}, not a section, so `{}` cannot be read; \
                     fix it with `mosaic config unset {section}`",
                    json_type_name(other),
                    spec.key
                );
            }
            None => break,
        }
    }
    Ok(resolve(spec, flag, env, file))
}

/// Parses a value typed on the command line: JSON when it parses (`15`, `true`,
/// `["a"]`), otherwise the text as a string.
pub fn parse_cli_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_get_set_unset() {
        let mut root = json!({});
        set(&mut root, "fleet.default_runtime", json!("codex")).unwrap();
        assert_eq!(get(&root, "fleet.default_runtime"), Some(&json!("codex")));
        assert!(unset(&mut root, "fleet.default_runtime").unwrap());
        assert!(!unset(&mut root, "fleet.default_runtime").unwrap());
        assert_eq!(root, json!({"fleet": {}}));
    }

    #[test]
    fn set_refuses_to_replace_a_value_with_a_section() {
        let mut root = json!({"fleet": 3});
        let message = set(&mut root, "fleet.x", json!(1)).unwrap_err().to_string();
        assert!(message.contains("`fleet` is a number"), "{message}");
    }

    #[test]
    fn precedence_is_flag_env_file_default() {
        let spec = ConfigKeySpec {
            key: "a.b".into(),
            env: Some("A_B".into()),
            default: Some(json!("default")),
            ..ConfigKeySpec::default()
        };
        let file = json!({"a": {"b": "file"}});
        let env_set = |_: &str| Some("env".to_string());
        let env_unset = |_: &str| None;
        assert_eq!(
            resolve(&spec, Some("flag"), env_set, &file).unwrap().1,
            ValueSource::Flag
        );
        assert_eq!(
            resolve(&spec, None, env_set, &file).unwrap().0,
            json!("env")
        );
        assert_eq!(
            resolve(&spec, None, env_unset, &file).unwrap().1,
            ValueSource::File
        );
        assert_eq!(
            resolve(&spec, None, env_unset, &json!({})).unwrap().1,
            ValueSource::Default
        );
    }

    #[test]
    fn a_scalar_where_a_section_should_be_is_an_error() {
        let spec = ConfigKeySpec::new("hooks.bash_guard.extra_rules", "");
        let message = resolve_checked(&spec, None, |_| None, &json!({"hooks": {"bash_guard": []}}))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`hooks.bash_guard` is an array, not a section"),
            "{message}"
        );
        assert!(
            resolve_checked(&spec, None, |_| None, &json!({"hooks": {}}))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn update_refuses_invalid_file_and_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_path(dir.path());
        std::fs::write(&path, "{ nope").unwrap();
        let error = update(dir.path(), |root| set(root, "a", json!(1))).unwrap_err();
        assert!(error.to_string().contains("config.json:1:3"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ nope");
    }

    #[test]
    fn cli_values_parse_as_json_or_string() {
        assert_eq!(parse_cli_value("15"), json!(15));
        assert_eq!(parse_cli_value("true"), json!(true));
        assert_eq!(parse_cli_value("claude"), json!("claude"));
    }
}
