//! The plugin indexes the user configured (`plugins.indexes` in config.json, a
//! list of URLs kept by `mosaic plugins index-source add|remove`), and fetching and
//! parsing them.
//!
//! Every URL passes [`check_url`] when it is added and again when it is used, so a
//! hand-edited config.json cannot slip a plain-http index past the policy. Any
//! index that cannot be fetched or parsed is an error naming it: a release missing
//! because its index was down must not make an older one look newest.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use mosaic_plugin_api::sdk::config;
use serde_json::Value;

use crate::distribution::download::{check_url, fetch_text, Limits, MAX_INDEX_BYTES};
use crate::distribution::index::Index;

/// The config section of plugin distribution.
pub const SECTION: &str = "plugins";

/// The key of the index URL list.
pub const INDEXES_KEY: &str = "plugins.indexes";

/// One index, fetched and parsed.
#[derive(Debug, Clone)]
pub struct FetchedIndex {
    /// Its URL, as configured.
    pub url: String,
    /// Its contents.
    pub index: Index,
}

/// The configured index URLs, in order. An entry that is not a string or not an
/// allowed URL is an error naming it.
pub fn configured_indexes(config_dir: &Path) -> Result<Vec<String>> {
    let root = config::load_sections(config_dir, &[SECTION])?;
    indexes_of(&root, config_dir)
}

/// `plugins.indexes` of a loaded config root.
fn indexes_of(root: &Value, config_dir: &Path) -> Result<Vec<String>> {
    let file = config::config_path(config_dir);
    let list = match config::get(root, INDEXES_KEY) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => bail!(
            "{}: `{INDEXES_KEY}` must be a list of index URLs; fix it with \
             `mosaic config unset {INDEXES_KEY}` and `mosaic plugins index-source add URL`",
            file.display()
        ),
    };
    list.iter()
        .map(|entry| {
            let url = entry.as_str().ok_or_else(|| {
                anyhow!(
                    "{}: `{INDEXES_KEY}` holds {entry}, which is not a URL string",
                    file.display()
                )
            })?;
            check_url(url).map_err(|error| {
                anyhow!(
                    "{}: `{INDEXES_KEY}`: {error:#}; remove it with `mosaic plugins \
                     index-source remove {url}`",
                    file.display()
                )
            })?;
            Ok(url.to_string())
        })
        .collect()
}

/// Adds `url` at the end of the list (after checking it). Returns false when it was
/// already there.
pub fn add_index(config_dir: &Path, url: &str) -> Result<bool> {
    check_url(url)?;
    config::update_sections(config_dir, &[SECTION], |root| {
        let mut list = indexes_of(root, config_dir)?;
        if list.iter().any(|known| known == url) {
            return Ok(false);
        }
        list.push(url.to_string());
        config::set(root, INDEXES_KEY, Value::from(list))?;
        Ok(true)
    })
}

/// Removes `url` from the list; an error when it is not there.
pub fn remove_index(config_dir: &Path, url: &str) -> Result<()> {
    config::update_sections(config_dir, &[SECTION], |root| {
        let list = match config::get(root, INDEXES_KEY) {
            Some(Value::Array(list)) => list.clone(),
            _ => Vec::new(),
        };
        let kept: Vec<Value> = list
            .iter()
            .filter(|entry| entry.as_str() != Some(url))
            .cloned()
            .collect();
        if kept.len() == list.len() {
            bail!("{url} is not a configured plugin index; `mosaic plugins index-source list` shows them");
        }
        config::set(root, INDEXES_KEY, Value::Array(kept))?;
        Ok(())
    })
}

/// Fetches and parses one index.
pub fn fetch_index(url: &str, limits: Limits) -> Result<FetchedIndex> {
    let text = fetch_text(url, limits, MAX_INDEX_BYTES)?;
    let index = Index::parse(&text, url)?;
    Ok(FetchedIndex {
        url: url.to_string(),
        index,
    })
}

/// Fetches every configured index, in order. No index configured is an error that
/// says how to add one.
pub fn fetch_all(config_dir: &Path, limits: Limits) -> Result<Vec<FetchedIndex>> {
    let urls = configured_indexes(config_dir)?;
    if urls.is_empty() {
        bail!("no plugin index is configured; add one with `mosaic plugins index-source add URL`");
    }
    urls.iter().map(|url| fetch_index(url, limits)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_added_once_checked_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        assert!(configured_indexes(dir.path()).unwrap().is_empty());
        assert!(add_index(dir.path(), "https://plugins.example.org/index.json").unwrap());
        assert!(add_index(dir.path(), "file:///srv/index.json").unwrap());
        assert!(!add_index(dir.path(), "file:///srv/index.json").unwrap());
        let error = add_index(dir.path(), "http://plugins.example.org/i.json").unwrap_err();
        assert!(error
            .to_string()
            .contains("http://plugins.example.org/i.json"));
        assert_eq!(
            configured_indexes(dir.path()).unwrap(),
            vec![
                "https://plugins.example.org/index.json",
                "file:///srv/index.json"
            ]
        );
        remove_index(dir.path(), "https://plugins.example.org/index.json").unwrap();
        assert!(remove_index(dir.path(), "https://nope.example/i.json").is_err());
        assert_eq!(
            configured_indexes(dir.path()).unwrap(),
            vec!["file:///srv/index.json"]
        );
    }

    #[test]
    fn a_hand_edited_plain_http_index_is_refused_when_used() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"plugins": {"indexes": ["http://example.org/index.json"]}}"#,
        )
        .unwrap();
        let error = configured_indexes(dir.path()).unwrap_err().to_string();
        assert!(error.contains("http://example.org/index.json"), "{error}");
        assert!(error.contains("index-source remove"), "{error}");
    }
}
