//! `config.json`: Mosaic's one configuration file, with a section per plugin
//! (`{"fleet": {"default_runtime": "claude"}, …}`).
//!
//! Reading never repairs: a file that is not valid JSON is an error naming the file,
//! line and column, and nothing overwrites it. Writing happens under a lock, through
//! an atomic replace, with mode 0600 because sections may hold secrets. Values are
//! resolved with the precedence flag > environment > file > default.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::sdk::fs::{
    atomic_write, create_dir_all_with_mode, invalid_json, json_type_name, strip_position, FileLock,
};
use crate::spec::ConfigKeySpec;

/// The file name inside the config directory.
pub const CONFIG_FILE_NAME: &str = "config.json";

/// `<config_dir>/config.json`.
pub fn config_path(config_dir: &Path) -> PathBuf {
    config_dir.join(CONFIG_FILE_NAME)
}

/// Loads the configuration; an empty object when the file does not exist.
///
/// Every section must be readable: a section nested too deeply to parse is an
/// error naming it and the repair command. Commands that need only some sections
/// use [`load_sections`], which does not depend on the others.
pub fn load(config_dir: &Path) -> Result<Value> {
    let document = RawDocument::read(config_dir)?;
    let mut root = Map::new();
    for (name, raw) in &document.entries {
        root.insert(name.clone(), document.parse_section(name, raw)?);
    }
    Ok(Value::Object(root))
}

/// Loads only the named top-level sections (`&["gateway"]`): the returned root
/// object holds those of them that exist. The other sections are checked to be
/// well-formed JSON (a file that is not valid JSON is still an error) but are not
/// parsed, so a section nested too deeply elsewhere in the file does not matter.
/// A named section that cannot be parsed is an error naming it.
pub fn load_sections(config_dir: &Path, sections: &[&str]) -> Result<Value> {
    let document = RawDocument::read(config_dir)?;
    let mut root = Map::new();
    for (name, raw) in &document.entries {
        if sections.contains(&name.as_str()) {
            root.insert(name.clone(), document.parse_section(name, raw)?);
        }
    }
    Ok(Value::Object(root))
}

/// A top-level section of config.json that could not be parsed (see [`load_readable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableSection {
    /// The section's name.
    pub name: String,
    /// Why it could not be parsed, e.g. "nested more than 128 levels deep".
    pub reason: String,
}

/// Loads every section that can be parsed and names the ones that cannot, for
/// commands that show what they can (`mosaic config show`).
pub fn load_readable(config_dir: &Path) -> Result<(Value, Vec<UnreadableSection>)> {
    let document = RawDocument::read(config_dir)?;
    let mut root = Map::new();
    let mut unreadable = Vec::new();
    for (name, raw) in &document.entries {
        match parse_raw_section(raw) {
            Ok(value) => {
                root.insert(name.clone(), value);
            }
            Err(reason) => unreadable.push(UnreadableSection {
                name: name.clone(),
                reason,
            }),
        }
    }
    Ok((Value::Object(root), unreadable))
}

/// The most levels of nesting the JSON parser accepts (serde_json's recursion limit).
const PARSER_NESTING_LIMIT: usize = 128;

/// config.json's top level, each section kept as its original text until a
/// command asks for it. Order is the file's; a repeated name keeps its first
/// position and its last value, as a parsed object would.
struct RawDocument {
    path: PathBuf,
    entries: Vec<(String, Box<RawValue>)>,
}

impl RawDocument {
    /// Reads `<config_dir>/config.json`; an empty document when it does not exist.
    fn read(config_dir: &Path) -> Result<RawDocument> {
        let path = config_path(config_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RawDocument {
                    path,
                    entries: Vec::new(),
                })
            }
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()))
            }
        };
        let entries = parse_top_level(&path, &text)?;
        Ok(RawDocument { path, entries })
    }

    /// Parses one section, or an error naming it and the repair command.
    fn parse_section(&self, name: &str, raw: &RawValue) -> Result<Value> {
        parse_raw_section(raw).map_err(|reason| {
            anyhow!(
                "{}: section `{name}` cannot be read: {reason}; remove it with \
                 `mosaic config unset {name}`",
                self.path.display()
            )
        })
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|(entry, _)| entry == name)
    }

    /// Pretty JSON with a final newline; raw sections are emitted as they were read.
    fn to_text(&self) -> Result<String> {
        if self.entries.is_empty() {
            return Ok("{}\n".to_string());
        }
        let mut text = String::from("{\n");
        for (index, (name, raw)) in self.entries.iter().enumerate() {
            text.push_str("  ");
            text.push_str(&serde_json::to_string(name).context("encoding JSON")?);
            text.push_str(": ");
            text.push_str(raw.get());
            if index + 1 < self.entries.len() {
                text.push(',');
            }
            text.push('\n');
        }
        text.push_str("}\n");
        Ok(text)
    }

    fn write(&self) -> Result<()> {
        atomic_write(&self.path, self.to_text()?.as_bytes(), Some(0o600))
    }
}

/// A parsed section rendered as pretty JSON indented to sit inside the top level.
fn render_section(value: &Value) -> Result<Box<RawValue>> {
    let pretty = serde_json::to_string_pretty(value).context("encoding JSON")?;
    // JSON strings escape their newlines, so every line break here is structure.
    let indented = pretty.replace('\n', "\n  ");
    RawValue::from_string(indented).context("encoding JSON")
}

fn parse_raw_section(raw: &RawValue) -> std::result::Result<Value, String> {
    serde_json::from_str(raw.get()).map_err(|error| {
        let message = error.to_string();
        if message.contains("recursion limit") {
            format!("nested more than {PARSER_NESTING_LIMIT} levels deep")
        } else {
            strip_position(&message).to_string()
        }
    })
}

/// Splits the file's top-level object into raw sections. The whole text is checked
/// to be valid JSON (an error names file, line and column); nothing below the top
/// level is parsed, so deep nesting there is no error.
fn parse_top_level(path: &Path, text: &str) -> Result<Vec<(String, Box<RawValue>)>> {
    let invalid = |error: serde_json::Error| invalid_json(path, &error);
    // Skipping a value (raw) is iterative in serde_json: no recursion limit applies.
    let whole: Box<RawValue> = serde_json::from_str(text).map_err(invalid)?;
    let found = match whole.get().as_bytes().first() {
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b't' | b'f') => Some("a boolean"),
        Some(b'n') => Some("null"),
        _ => Some("a number"),
    };
    if let Some(found) = found {
        bail!(
            "{}: expected a JSON object at the top level, found {found}",
            path.display()
        );
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer
        .deserialize_map(TopLevelVisitor)
        .map_err(invalid)
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = Vec<(String, Box<RawValue>)>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut entries: Vec<(String, Box<RawValue>)> = Vec::new();
        while let Some((name, raw)) = map.next_entry::<String, Box<RawValue>>()? {
            match entries.iter_mut().find(|(entry, _)| *entry == name) {
                Some(existing) => existing.1 = raw,
                None => entries.push((name, raw)),
            }
        }
        Ok(entries)
    }
}

/// The value at a dotted key such as `fleet.default_runtime`.
pub fn get<'a>(root: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.')
        .try_fold(root, |value, part| value.as_object()?.get(part))
}

/// The most dotted parts a key may have (`a.b.c` has 3; the deepest key any plugin
/// declares today has 3).
pub const MAX_KEY_PARTS: usize = 8;

/// The longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 128;

/// The deepest nesting of arrays and objects accepted in a value given to [`set`]
/// (`[[1]]` is 2 deep). With [`MAX_KEY_PARTS`] it keeps every file this module
/// writes far below what the JSON parser reads (128 levels).
pub const MAX_VALUE_DEPTH: usize = 32;

/// How deeply arrays and objects nest in `value`: 0 for a scalar, 1 for `[1]`.
pub fn value_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(value_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Fails when `value` nests deeper than [`MAX_VALUE_DEPTH`], naming the key.
pub fn check_value_depth(key: &str, value: &Value) -> Result<()> {
    check_depth(key, value_depth(value))
}

/// The error for a value of `key` nested `depth` levels, if that is too deep.
fn check_depth(key: &str, depth: usize) -> Result<()> {
    if depth > MAX_VALUE_DEPTH {
        bail!(
            "the value for `{}` nests arrays/objects {depth} levels deep; at most \
             {MAX_VALUE_DEPTH} are accepted",
            shorten(key)
        );
    }
    Ok(())
}

/// Sets a dotted key, creating the sections on the way. The key must pass the
/// limits of [`check_key_limits`] and the value [`check_value_depth`].
pub fn set(root: &mut Value, key: &str, new_value: Value) -> Result<()> {
    validate_key(key)?;
    check_value_depth(key, &new_value)?;
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

/// Removes a dotted key; returns whether it was there. Only the key's syntax is
/// checked, not [`check_key_limits`], so a key set before the limits existed can
/// still be removed.
pub fn unset(root: &mut Value, key: &str) -> Result<bool> {
    check_key_syntax(key)?;
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

/// Fails when `key` has more than [`MAX_KEY_PARTS`] dotted parts or more than
/// [`MAX_KEY_BYTES`] bytes; the error shows at most the key's first 40 characters.
pub fn check_key_limits(key: &str) -> Result<()> {
    let parts = key.split('.').count();
    if parts > MAX_KEY_PARTS {
        bail!(
            "config key `{}` has {parts} dotted parts; at most {MAX_KEY_PARTS} are accepted",
            shorten(key)
        );
    }
    if key.len() > MAX_KEY_BYTES {
        bail!(
            "config key `{}` is {} bytes long; at most {MAX_KEY_BYTES} are accepted",
            shorten(key),
            key.len()
        );
    }
    Ok(())
}

/// The first 40 characters of `text`, with `…` when cut.
fn shorten(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_string(),
    }
}

fn validate_key(key: &str) -> Result<()> {
    check_key_limits(key)?;
    check_key_syntax(key)
}

/// Fails unless `key` is dotted words of letters, digits, `_` and `-` (no length
/// limit: see [`check_key_limits`]).
pub fn check_key_syntax(key: &str) -> Result<()> {
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
            "invalid config key `{}`: use dotted words of letters, digits, `_` and `-`, \
             e.g. `fleet.default_runtime`",
            shorten(key)
        )
    }
}

/// Loads, changes and saves the configuration under the config lock. If the file is
/// not valid JSON the change is refused and the file left alone; so is a failed
/// change.
///
/// `change` sees every section that can be parsed. A section nested too deeply to
/// parse is kept as it was and hidden from `change`; creating a section of the
/// same name is an error naming it.
pub fn update<T>(config_dir: &Path, change: impl FnOnce(&mut Value) -> Result<T>) -> Result<T> {
    update_filtered(config_dir, None, change)
}

/// Like [`update`], but `change` sees only the named top-level sections (those that
/// exist) and may change, remove or create only them; every other section is
/// written back as the exact text it was, never parsed. A named section that
/// cannot be parsed is an error naming it.
pub fn update_sections<T>(
    config_dir: &Path,
    sections: &[&str],
    change: impl FnOnce(&mut Value) -> Result<T>,
) -> Result<T> {
    update_filtered(config_dir, Some(sections), change)
}

/// Removes a whole top-level section without parsing it or any other section, so
/// it works on a section too deep to read. Returns the removed section's text (as
/// it was in the file), or `None` when there was no such section.
pub fn remove_section(config_dir: &Path, name: &str) -> Result<Option<String>> {
    create_dir_all_with_mode(config_dir, 0o700)?;
    let _lock = FileLock::exclusive(&config_path(config_dir))?;
    let mut document = RawDocument::read(config_dir)?;
    let Some(index) = document.position(name) else {
        return Ok(None);
    };
    let (_, raw) = document.entries.remove(index);
    document.write()?;
    Ok(Some(raw.get().to_string()))
}

fn update_filtered<T>(
    config_dir: &Path,
    sections: Option<&[&str]>,
    change: impl FnOnce(&mut Value) -> Result<T>,
) -> Result<T> {
    create_dir_all_with_mode(config_dir, 0o700)?;
    let _lock = FileLock::exclusive(&config_path(config_dir))?;
    let mut document = RawDocument::read(config_dir)?;
    let wanted = |name: &str| sections.is_none_or(|sections| sections.contains(&name));

    // The sections `change` sees; `None` in `kept` marks one it owns.
    let mut root = Map::new();
    let mut unreadable: Vec<(String, String)> = Vec::new();
    for (name, raw) in &document.entries {
        if !wanted(name) {
            continue;
        }
        match (sections, parse_raw_section(raw)) {
            (_, Ok(value)) => {
                root.insert(name.clone(), value);
            }
            (None, Err(reason)) => unreadable.push((name.clone(), reason)),
            (Some(_), Err(_)) => {
                document.parse_section(name, raw)?;
            }
        }
    }
    let mut root = Value::Object(root);
    let result = change(&mut root)?;
    let Value::Object(changed) = root else {
        bail!("config.json: the top level must stay an object");
    };

    let owned = |name: &str| wanted(name) && !unreadable.iter().any(|(bad, _)| bad == name);
    let mut entries: Vec<(String, Box<RawValue>)> = Vec::new();
    for (name, raw) in document.entries.drain(..) {
        if !owned(&name) {
            entries.push((name, raw));
        } else if let Some(value) = changed.get(&name) {
            entries.push((name, render_section(value)?));
        }
    }
    for (name, value) in &changed {
        if let Some((_, reason)) = unreadable.iter().find(|(bad, _)| bad == name) {
            bail!(
                "{}: section `{name}` cannot be read: {reason}; remove it with \
                 `mosaic config unset {name}`",
                document.path.display()
            );
        }
        if entries.iter().any(|(entry, _)| entry == name) {
            continue;
        }
        if !wanted(name) {
            bail!("config.json: cannot create section `{name}` here (not among {sections:?})");
        }
        entries.push((name.clone(), render_section(value)?));
    }
    document.entries = entries;
    document.write()?;
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

/// Like [`parse_cli_value`], for `mosaic config set KEY VALUE`: text that looks like
/// JSON nested deeper than [`MAX_VALUE_DEPTH`] (`[[[[…]]]]`) is refused instead of
/// being kept as a string, and so is a parsed value nested too deeply.
pub fn parse_set_value(key: &str, text: &str) -> Result<Value> {
    // Counted in the text first: too deep a value would not even parse as JSON and
    // would be stored as a string.
    check_depth(key, text_nesting_depth(text))?;
    let value = parse_cli_value(text);
    check_value_depth(key, &value)?;
    Ok(value)
}

/// The deepest nesting of `[`/`{` in text that starts like JSON (outside strings);
/// 0 for other text.
fn text_nesting_depth(text: &str) -> usize {
    if !text.trim_start().starts_with(['[', '{']) {
        return 0;
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
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

    fn deep_junk(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    fn write_config(dir: &Path, text: &str) {
        std::fs::write(config_path(dir), text).unwrap();
    }

    #[test]
    fn load_sections_skips_a_section_too_deep_to_parse() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{{\"junk\": {}, \"gateway\": {{\"port\": 8080}}, \"fleet\": {{}}}}",
            deep_junk(200)
        );
        write_config(dir.path(), &text);
        let root = load_sections(dir.path(), &["gateway"]).unwrap();
        assert_eq!(root, json!({"gateway": {"port": 8080}}));
        assert_eq!(
            load_sections(dir.path(), &["nope"]).unwrap(),
            json!({}),
            "a missing section is just absent"
        );
        let message = load_sections(dir.path(), &["junk"])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("section `junk` cannot be read: nested more than 128 levels deep")
                && message.contains("mosaic config unset junk"),
            "{message}"
        );
        let message = load(dir.path()).unwrap_err().to_string();
        assert!(message.contains("section `junk`"), "{message}");
    }

    #[test]
    fn load_sections_still_refuses_invalid_json() {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), "{\"gateway\": {}, \"junk\": [[[}");
        let message = load_sections(dir.path(), &["gateway"])
            .unwrap_err()
            .to_string();
        assert!(message.contains("config.json:1:"), "{message}");
        assert!(message.contains("invalid JSON"), "{message}");
        write_config(dir.path(), "[1]");
        let message = load_sections(dir.path(), &["gateway"])
            .unwrap_err()
            .to_string();
        assert!(message.contains("found an array"), "{message}");
        let missing = tempfile::tempdir().unwrap();
        assert_eq!(load_sections(missing.path(), &["a"]).unwrap(), json!({}));
    }

    #[test]
    fn update_keeps_an_unreadable_section_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let junk = deep_junk(200);
        write_config(
            dir.path(),
            &format!("{{\"junk\": {junk},\n \"fleet\": {{\"a\": 1}}}}"),
        );
        update(dir.path(), |root| set(root, "fleet.b", json!(2))).unwrap();
        update_sections(dir.path(), &["gateway"], |root| {
            set(root, "gateway.port", json!(1))
        })
        .unwrap();
        let text = std::fs::read_to_string(config_path(dir.path())).unwrap();
        assert!(text.contains(&format!("\"junk\": {junk},")), "{text}");
        let root = load_sections(dir.path(), &["fleet", "gateway"]).unwrap();
        assert_eq!(
            root,
            json!({"fleet": {"a": 1, "b": 2}, "gateway": {"port": 1}})
        );
        let error = update(dir.path(), |root| set(root, "junk.x", json!(1))).unwrap_err();
        assert!(
            error.to_string().contains("section `junk` cannot be read"),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(config_path(dir.path())).unwrap(),
            text,
            "a refused change leaves the file alone"
        );
        assert_eq!(remove_section(dir.path(), "junk").unwrap(), Some(junk));
        assert_eq!(
            load(dir.path()).unwrap(),
            json!({"fleet": {"a": 1, "b": 2}, "gateway": {"port": 1}})
        );
        assert_eq!(remove_section(dir.path(), "junk").unwrap(), None);
    }

    #[test]
    fn cli_values_parse_as_json_or_string() {
        assert_eq!(parse_cli_value("15"), json!(15));
        assert_eq!(parse_cli_value("true"), json!(true));
        assert_eq!(parse_cli_value("claude"), json!("claude"));
    }
}
