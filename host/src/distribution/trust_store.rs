//! The publisher keys the user trusts: `plugins.trusted_keys` in config.json, a list
//! of `{ "key": "mosaic-ed25519:…", "name": "label", "added_at": <unix seconds> }`
//! kept by `mosaic plugins trust add|remove` (and by answering yes to "trust this
//! key?" during an install).
//!
//! A release installs only when its signature verifies against its publisher key
//! AND that key is in this list; the list is matched on the key itself, never on
//! the name, which is only a label for people.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Result};
use mosaic_plugin_api::sdk::config;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::distribution::signing::PublicKey;
use crate::distribution::sources::SECTION;

/// The key of the trusted key list.
pub const TRUSTED_KEYS_KEY: &str = "plugins.trusted_keys";

/// One trusted publisher key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedKey {
    /// The public key text (`mosaic-ed25519:…`).
    pub key: String,
    /// A label for people (`acme plugins`).
    pub name: String,
    /// When it was added (unix seconds).
    pub added_at: u64,
}

impl TrustedKey {
    /// The key's fingerprint (`SHA256:…`), or the parse error as text.
    pub fn fingerprint(&self) -> String {
        PublicKey::parse(&self.key)
            .map(|key| key.fingerprint())
            .unwrap_or_else(|_| "(not a valid key)".to_string())
    }
}

/// The trusted keys, in the order they were added.
pub fn trusted_keys(config_dir: &Path) -> Result<Vec<TrustedKey>> {
    let root = config::load_sections(config_dir, &[SECTION])?;
    keys_of(&root, config_dir)
}

fn keys_of(root: &Value, config_dir: &Path) -> Result<Vec<TrustedKey>> {
    match config::get(root, TRUSTED_KEYS_KEY) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|error| {
            anyhow!(
                "{}: `{TRUSTED_KEYS_KEY}` must be a list of {{\"key\", \"name\", \"added_at\"}} \
                 objects ({error}); fix it, or `mosaic config unset {TRUSTED_KEYS_KEY}` and add \
                 the keys again with `mosaic plugins trust add`",
                config::config_path(config_dir).display()
            )
        }),
    }
}

/// The entry that trusts `key`, if any.
pub fn find<'a>(keys: &'a [TrustedKey], key: &PublicKey) -> Option<&'a TrustedKey> {
    keys.iter()
        .find(|trusted| PublicKey::parse(&trusted.key).is_ok_and(|parsed| parsed == *key))
}

/// Adds `key` with the label `name`. Returns the entry, and false when the key was
/// already trusted (then nothing changes).
pub fn add(config_dir: &Path, key: &PublicKey, name: &str) -> Result<(TrustedKey, bool)> {
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        bail!("a trusted key needs a name: one line of text, e.g. --name \"acme plugins\"");
    }
    config::update_sections(config_dir, &[SECTION], |root| {
        let mut keys = keys_of(root, config_dir)?;
        if let Some(known) = find(&keys, key) {
            return Ok((known.clone(), false));
        }
        let entry = TrustedKey {
            key: key.to_text(),
            name: name.to_string(),
            added_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| elapsed.as_secs())
                .unwrap_or(0),
        };
        keys.push(entry.clone());
        config::set(root, TRUSTED_KEYS_KEY, serde_json::to_value(&keys)?)?;
        Ok((entry, true))
    })
}

/// Removes the key that `which` names: the key text, its fingerprint, or its name
/// (when exactly one key has it). Returns the removed entry.
pub fn remove(config_dir: &Path, which: &str) -> Result<TrustedKey> {
    config::update_sections(config_dir, &[SECTION], |root| {
        let mut keys = keys_of(root, config_dir)?;
        let parsed = PublicKey::parse(which).ok();
        let matches: Vec<usize> = keys
            .iter()
            .enumerate()
            .filter(|(_, trusted)| {
                trusted.key == which
                    || trusted.fingerprint() == which
                    || trusted.name == which
                    || parsed.as_ref().is_some_and(|key| {
                        PublicKey::parse(&trusted.key).ok().as_ref() == Some(key)
                    })
            })
            .map(|(position, _)| position)
            .collect();
        let position = match matches.as_slice() {
            [position] => *position,
            [] => bail!(
                "no trusted key is `{which}`; `mosaic plugins trust list` shows the keys \
                 (remove one by its key, fingerprint or name)"
            ),
            _ => bail!(
                "{} trusted keys are named `{which}`; remove one by its fingerprint",
                matches.len()
            ),
        };
        let removed = keys.remove(position);
        config::set(root, TRUSTED_KEYS_KEY, serde_json::to_value(&keys)?)?;
        Ok(removed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::signing::SecretKey;

    #[test]
    fn keys_are_added_once_found_by_key_and_removed_by_any_handle() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretKey::generate().public();
        let second = SecretKey::generate().public();
        assert!(add(dir.path(), &first, "acme").unwrap().1);
        assert!(!add(dir.path(), &first, "other label").unwrap().1);
        assert!(add(dir.path(), &second, "beta").unwrap().1);
        assert!(add(dir.path(), &second, " ").is_err());
        let keys = trusted_keys(dir.path()).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(find(&keys, &first).unwrap().name, "acme");
        assert_eq!(
            remove(dir.path(), &second.fingerprint()).unwrap().name,
            "beta"
        );
        assert!(remove(dir.path(), "beta").is_err());
        assert_eq!(remove(dir.path(), "acme").unwrap().key, first.to_text());
        assert!(trusted_keys(dir.path()).unwrap().is_empty());
    }
}
