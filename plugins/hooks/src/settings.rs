//! Reading and writing Claude Code's `settings.json` without disturbing anything in
//! it that is not Mosaic's.
//!
//! The file is kept as a JSON value with its key order (serde_json's
//! `preserve_order`), so every foreign key, hook and comment-free formatting choice
//! that JSON can express survives a rewrite. Only the shape Mosaic edits is
//! checked — the top level is an object, `hooks` is an object of arrays — and a
//! violation is an error naming the file, line and column; the file is then left
//! alone. A symlinked `settings.json` (dotfile managers) is written through the
//! link, so the link survives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mosaic_plugin_api::anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::{atomic_write, json_type_name, parse_json_text};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::hooks_config::without_position;

/// The part of the settings structure Mosaic relies on.
#[derive(Deserialize)]
struct SettingsShape {
    #[serde(default, rename = "hooks")]
    _hooks: Option<BTreeMap<String, Vec<IgnoredAny>>>,
}

/// Reads `settings.json` as an ordered JSON object. A missing or blank file is an
/// empty object.
pub fn load(path: &Path) -> Result<Map<String, Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    parse(path, &text)
}

/// Parses the text of a settings file read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Map<String, Value>> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value = parse_json_text(path, text)?;
    let Value::Object(root) = value else {
        bail!(
            "{}: expected a JSON object at the top level, found {}; fix the file by hand \
             (nothing was changed)",
            path.display(),
            json_type_name(&value)
        );
    };
    serde_json::from_str::<SettingsShape>(text).map_err(|error| {
        anyhow!(
            "{}:{}:{}: `hooks` has the wrong shape: {}; Claude Code expects \
             \"hooks\": {{\"<Event>\": [{{\"matcher\": \"…\", \"hooks\": [{{\"type\": \
             \"command\", \"command\": \"…\"}}]}}]}}. Fix the file by hand (nothing was changed)",
            path.display(),
            error.line(),
            error.column(),
            without_position(&error.to_string())
        )
    })?;
    Ok(root)
}

/// The text Mosaic writes for `root`: two-space indented JSON, like Claude Code's
/// own, with a final newline.
pub fn render(root: &Map<String, Value>) -> Result<String> {
    let mut text = serde_json::to_string_pretty(root).context("encoding settings.json")?;
    text.push('\n');
    Ok(text)
}

/// Replaces the settings file atomically with `text`, through a symlink if it is one,
/// keeping its permissions.
pub fn save(path: &Path, text: &str) -> Result<()> {
    atomic_write(&write_target(path), text.as_bytes(), None)
}

/// The file to replace: the target of a symlink, so the link itself survives.
fn write_target(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/c/settings.json";

    #[test]
    fn missing_and_blank_files_are_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("settings.json")).unwrap().is_empty());
        assert!(parse(Path::new(PATH), " \n").unwrap().is_empty());
    }

    #[test]
    fn key_order_survives_a_round_trip() {
        let text = "{\n  \"zeta\": 1,\n  \"alpha\": {\n    \"b\": 2,\n    \"a\": 1\n  }\n}\n";
        let root = parse(Path::new(PATH), text).unwrap();
        assert_eq!(render(&root).unwrap(), text);
    }

    #[test]
    fn wrong_shapes_name_line_and_column() {
        let error = parse(Path::new(PATH), "{\n  \"hooks\": \"none\"\n}")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("/c/settings.json:2:17: `hooks` has the wrong shape"),
            "{error}"
        );
        let error = parse(Path::new(PATH), "{\"hooks\": {\"Stop\": {}}}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("/c/settings.json:1:19:"), "{error}");
        assert!(error.contains("expected a sequence"), "{error}");
        let error = parse(Path::new(PATH), "[]").unwrap_err().to_string();
        assert!(error.contains("found an array"), "{error}");
        let error = parse(Path::new(PATH), "{\"a\": }").unwrap_err().to_string();
        assert!(
            error.starts_with("/c/settings.json:1:7: invalid JSON"),
            "{error}"
        );
    }

    #[test]
    fn saving_through_a_symlink_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles-settings.json");
        let link = dir.path().join("settings.json");
        std::fs::write(&real, "{}").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save(&link, "{\"a\": 1}\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "{\"a\": 1}\n");
    }
}
