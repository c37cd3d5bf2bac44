//! The plugin index: one JSON file listing plugins and their signed releases.
//!
//! ```json
//! { "schema": "mosaic-plugin-index/1",
//!   "plugins": [ { "name": "hello", "description": "…", "releases": [
//!     { "version": "0.1.0", "host_requirement": ">=0.2, <0.3", "api_version": "0.2.2",
//!       "target": "x86_64-unknown-linux-gnu", "url": "libmosaic_hello.so",
//!       "size": 123456, "sha256": "<64 hex>", "publisher_key": "mosaic-ed25519:…",
//!       "signature": "<base64>", "commands": ["hello"] } ] } ] }
//! ```
//!
//! A publisher signs [`Release::signed_message`]: every field of a release that
//! says what the library is, but not its URL, so a mirror may move the files
//! without breaking the signatures. `url` is absolute or relative to the index's own
//! URL. Fields this version does not know are allowed (and kept by
//! `plugins index add`); a change that old readers would misread gets a new
//! `schema`.

use std::collections::HashSet;

use anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::strip_position;
use mosaic_plugin_api::validate::valid_word;
use serde::{Deserialize, Serialize};

use super::signing::PublicKey;

/// The `schema` this version reads and writes.
pub const INDEX_SCHEMA: &str = "mosaic-plugin-index/1";

/// A whole index file.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Index {
    /// Always [`INDEX_SCHEMA`].
    pub schema: String,
    /// The plugins, each once.
    pub plugins: Vec<IndexPlugin>,
}

/// One plugin of an index and its releases.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct IndexPlugin {
    /// The plugin's name (its manifest's).
    pub name: String,
    /// One line saying what it does.
    pub description: String,
    /// Its releases, one per version and target.
    pub releases: Vec<Release>,
}

/// One build of one version of a plugin, for one target.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Release {
    /// The plugin's version (its manifest's).
    pub version: semver::Version,
    /// The host versions it works with, a `semver::VersionReq` (its manifest's).
    pub host_requirement: String,
    /// The `mosaic-plugin-api` version it was built against.
    pub api_version: semver::Version,
    /// The target triple it was built for.
    pub target: String,
    /// Where the library is: absolute (`https://`, `http://`, `file://`) or
    /// relative to the index's URL.
    pub url: String,
    /// The library's size in bytes.
    pub size: u64,
    /// The sha256 of the library, 64 lowercase hex digits.
    pub sha256: String,
    /// The public key whose secret half signed it (`mosaic-ed25519:…`).
    pub publisher_key: String,
    /// The base64 signature of [`Release::signed_message`].
    pub signature: String,
    /// The command words it declares (`hello`, `config hello`), to refuse a
    /// collision before downloading.
    #[serde(default)]
    pub commands: Vec<String>,
}

impl Index {
    /// Parses and checks an index. `origin` (its URL or path) starts every error.
    pub fn parse(text: &str, origin: &str) -> Result<Index> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
            anyhow!(
                "{origin}:{}:{}: invalid JSON: {}",
                error.line(),
                error.column(),
                strip_position(&error.to_string())
            )
        })?;
        match value.get("schema") {
            Some(serde_json::Value::String(schema)) if schema == INDEX_SCHEMA => {}
            Some(serde_json::Value::String(schema)) => bail!(
                "{origin}: index schema `{schema}` is not supported: this mosaic reads \
                 `{INDEX_SCHEMA}` (a newer schema needs a newer mosaic)"
            ),
            _ => bail!(
                "{origin}: not a mosaic plugin index: expected a JSON object with \
                 \"schema\": \"{INDEX_SCHEMA}\""
            ),
        }
        let index: Index = serde_json::from_str(text).map_err(|error| {
            anyhow!(
                "{origin}:{}:{}: invalid index: {}",
                error.line(),
                error.column(),
                strip_position(&error.to_string())
            )
        })?;
        index
            .check()
            .map_err(|error| anyhow!("{origin}: {error:#}"))?;
        Ok(index)
    }

    /// An index with no plugins.
    pub fn empty() -> Index {
        Index {
            schema: INDEX_SCHEMA.to_string(),
            plugins: Vec::new(),
        }
    }

    /// The plugin of that name, if listed.
    pub fn plugin(&self, name: &str) -> Option<&IndexPlugin> {
        self.plugins.iter().find(|plugin| plugin.name == name)
    }

    /// The rules serde cannot express: names, versions, hashes, keys, no repeats.
    fn check(&self) -> Result<()> {
        let mut names = HashSet::new();
        for plugin in &self.plugins {
            if !valid_word(&plugin.name) {
                bail!(
                    "plugin name `{}` must be lowercase letters, digits, `-` or `_`",
                    plugin.name
                );
            }
            if !names.insert(plugin.name.as_str()) {
                bail!("plugin `{}` is listed twice", plugin.name);
            }
            let mut builds = HashSet::new();
            for release in &plugin.releases {
                let what = format!(
                    "plugin `{}` release {} for {}",
                    plugin.name, release.version, release.target
                );
                if !builds.insert((&release.version, release.target.as_str())) {
                    bail!("{what} is listed twice");
                }
                release.check().with_context(|| what.clone())?;
            }
        }
        Ok(())
    }
}

impl Release {
    /// The exact bytes a publisher signs: every field that says what the library
    /// is, not where it is.
    pub fn signed_message(&self, plugin_name: &str) -> Vec<u8> {
        format!(
            "mosaic-plugin-release-v1\nname={plugin_name}\nversion={}\ntarget={}\n\
             api_version={}\nhost_requirement={}\nsize={}\nsha256={}\n",
            self.version,
            self.target,
            self.api_version,
            self.host_requirement,
            self.size,
            self.sha256
        )
        .into_bytes()
    }

    /// Checks the signature against `publisher_key`; returns that key.
    pub fn verify_signature(&self, plugin_name: &str) -> Result<PublicKey> {
        let what = format!(
            "plugin `{plugin_name}` release {} for {}",
            self.version, self.target
        );
        let key = PublicKey::parse(&self.publisher_key)
            .with_context(|| format!("{what}: bad publisher_key"))?;
        key.verify(&self.signed_message(plugin_name), &self.signature)
            .with_context(|| format!("{what}: bad signature"))?;
        Ok(key)
    }

    /// The rules of one release's fields (the signature itself is checked where
    /// the release is used).
    fn check(&self) -> Result<()> {
        semver::VersionReq::parse(&self.host_requirement).map_err(|error| {
            anyhow!(
                "host_requirement `{}` is not a semver requirement: {error}",
                self.host_requirement
            )
        })?;
        if self.target.is_empty() || !self.target.chars().all(is_target_char) {
            bail!(
                "target `{}` is not a target triple (like x86_64-unknown-linux-gnu)",
                self.target
            );
        }
        if self.url.trim().is_empty() || self.url.chars().any(char::is_whitespace) {
            bail!("url `{}` is empty or contains whitespace", self.url);
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        {
            bail!("sha256 `{}` is not 64 lowercase hex digits", self.sha256);
        }
        PublicKey::parse(&self.publisher_key).context("bad publisher_key")?;
        if self.signature.trim().is_empty() {
            bail!("signature is empty");
        }
        for command in &self.commands {
            let words: Vec<&str> = command.split(' ').collect();
            let plain = match words.as_slice() {
                [word] | ["config", word] => valid_word(word),
                _ => false,
            };
            if !plain {
                bail!("command `{command}` is not a command word (`NAME` or `config NAME`)");
            }
        }
        Ok(())
    }
}

fn is_target_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// The target triple this host was built for (what a release's `target` must be).
pub fn host_target() -> &'static str {
    env!("MOSAIC_TARGET")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::signing::SecretKey;

    fn signed_release(key: &SecretKey, name: &str) -> Release {
        let mut release = Release {
            version: semver::Version::new(0, 1, 0),
            host_requirement: ">=0.2, <0.3".to_string(),
            api_version: semver::Version::new(0, 2, 2),
            target: "x86_64-unknown-linux-gnu".to_string(),
            url: "libmosaic_hello.so".to_string(),
            size: 1234,
            sha256: "ab".repeat(32),
            publisher_key: key.public().to_text(),
            signature: String::new(),
            commands: vec!["hello".to_string(), "config hello".to_string()],
        };
        release.signature = key.sign(&release.signed_message(name));
        release
    }

    fn index_text(release: &Release) -> String {
        let index = Index {
            schema: INDEX_SCHEMA.to_string(),
            plugins: vec![IndexPlugin {
                name: "hello".to_string(),
                description: "Says hello".to_string(),
                releases: vec![release.clone()],
            }],
        };
        serde_json::to_string_pretty(&index).unwrap()
    }

    #[test]
    fn the_signed_message_is_exactly_these_bytes() {
        let key = SecretKey::generate();
        let release = signed_release(&key, "hello");
        let expected = format!(
            "mosaic-plugin-release-v1\nname=hello\nversion=0.1.0\n\
             target=x86_64-unknown-linux-gnu\napi_version=0.2.2\n\
             host_requirement=>=0.2, <0.3\nsize=1234\nsha256={}\n",
            "ab".repeat(32)
        );
        assert_eq!(
            String::from_utf8(release.signed_message("hello")).unwrap(),
            expected
        );
    }

    #[test]
    fn a_signed_release_verifies_and_a_tampered_one_does_not() {
        let key = SecretKey::generate();
        let release = signed_release(&key, "hello");
        assert_eq!(release.verify_signature("hello").unwrap(), key.public());

        let mut moved = release.clone();
        moved.url = "https://mirror.example/hello.so".to_string();
        moved.verify_signature("hello").unwrap();

        assert!(release.verify_signature("hullo").is_err());
        let mut bigger = release.clone();
        bigger.size += 1;
        assert!(bigger.verify_signature("hello").is_err());
        let mut other_hash = release.clone();
        other_hash.sha256 = "cd".repeat(32);
        assert!(other_hash.verify_signature("hello").is_err());
        let mut other_key = release.clone();
        other_key.publisher_key = SecretKey::generate().public().to_text();
        let error = other_key.verify_signature("hello").unwrap_err();
        assert!(format!("{error:#}").contains("bad signature"), "{error:#}");
        let mut bad_signature = release;
        bad_signature.signature = key.sign(b"something else");
        assert!(bad_signature.verify_signature("hello").is_err());
    }

    #[test]
    fn an_index_round_trips_through_parse() {
        let key = SecretKey::generate();
        let text = index_text(&signed_release(&key, "hello"));
        let index = Index::parse(&text, "http://127.0.0.1:1/index.json").unwrap();
        let hello = &index.plugins[0];
        assert_eq!(hello.releases[0].commands, ["hello", "config hello"]);
        hello.releases[0].verify_signature("hello").unwrap();
        assert!(Index::parse(&serde_json::to_string(&Index::empty()).unwrap(), "x").is_ok());
    }

    #[test]
    fn parse_errors_name_the_origin() {
        let origin = "https://plugins.example/index.json";
        let cases = [
            ("{ not json", "invalid JSON"),
            ("[]", "not a mosaic plugin index"),
            (r#"{"plugins": []}"#, "not a mosaic plugin index"),
            (
                r#"{"schema": "mosaic-plugin-index/2", "plugins": []}"#,
                "`mosaic-plugin-index/2` is not supported",
            ),
            (
                r#"{"schema": "mosaic-plugin-index/1", "plugins": [{"name": "x"}]}"#,
                "invalid index: missing field",
            ),
            (
                r#"{"schema": "mosaic-plugin-index/1", "plugins": [
                    {"name": "Bad Name", "description": "", "releases": []}]}"#,
                "plugin name `Bad Name`",
            ),
            (
                r#"{"schema": "mosaic-plugin-index/1", "plugins": [
                    {"name": "a", "description": "", "releases": []},
                    {"name": "a", "description": "", "releases": []}]}"#,
                "plugin `a` is listed twice",
            ),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", Index::parse(text, origin).unwrap_err());
            assert!(error.starts_with(origin), "{error}");
            assert!(error.contains(expected), "{expected}: {error}");
            assert_eq!(error.lines().count(), 1, "{error}");
        }
    }

    #[test]
    fn bad_release_fields_are_refused_naming_the_release() {
        let key = SecretKey::generate();
        let good = signed_release(&key, "hello");
        type Change = Box<dyn Fn(&mut Release)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|r| r.sha256 = "AB".repeat(32)), "sha256"),
            (Box::new(|r| r.sha256 = "ab".to_string()), "sha256"),
            (
                Box::new(|r| r.host_requirement = "soon".to_string()),
                "host_requirement",
            ),
            (Box::new(|r| r.target = "x86 64".to_string()), "target"),
            (Box::new(|r| r.url = String::new()), "url"),
            (
                Box::new(|r| r.publisher_key = "ssh-ed25519 AAAA".to_string()),
                "publisher_key",
            ),
            (
                Box::new(|r| r.commands = vec!["a b".to_string()]),
                "command `a b`",
            ),
        ];
        for (change, expected) in cases {
            let mut release = good.clone();
            change(&mut release);
            let error = format!(
                "{:#}",
                Index::parse(&index_text(&release), "idx.json").unwrap_err()
            );
            assert!(
                error.starts_with("idx.json: plugin `hello` release 0.1.0"),
                "{error}"
            );
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn the_host_target_is_a_triple() {
        assert!(host_target().split('-').count() >= 3, "{}", host_target());
    }
}
