//! `mosaic plugins trust add|list|remove`: the publisher keys whose signed releases
//! `plugins install NAME` and `upgrade` accept (`plugins.trusted_keys` in
//! config.json).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{ArgSpec, CommandSpec, NoOptions};
use serde::Deserialize;

use crate::builtins::Builtin;
use crate::distribution::signing::{PublicKey, SECRET_KEY_TAG};
use crate::distribution::trust_store::{self, TRUSTED_KEYS_KEY};
use crate::session::Session;

/// Declares the `plugins trust` group.
pub fn group_spec() -> CommandSpec {
    CommandSpec::new("trust", "Add, list and remove the publisher keys you trust")
        .long_about(
            "Every release in a plugin index is signed by its publisher's key. `plugins \
         install NAME` and `plugins upgrade` install a release only when its signature \
         checks out AND its key is trusted here. Check a key's fingerprint with its \
         publisher (their web site, a release note) before trusting it. At a terminal, \
         installing a release signed by an unknown key asks; elsewhere it is refused.",
        )
        .example(
            "plugins trust add mosaic-ed25519:… --name \"acme plugins\"",
            "",
        )
        .example("plugins trust list", "")
}

/// `mosaic plugins trust add`.
pub struct Add;

/// The options of `mosaic plugins trust add`.
#[derive(Debug, Deserialize)]
pub struct AddOptions {
    /// The key text, or a public key file.
    pub key: String,
    /// A label for people.
    pub name: Option<String>,
}

impl Builtin for Add {
    type Options = AddOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("add", "Trust a publisher key")
            .long_about(
                "Trust KEY, a publisher's public key: the text `mosaic-ed25519:…` (as \
                 `mosaic plugins keygen` prints it and an index lists it), or a .pub file \
                 holding it. Prints its fingerprint: compare it with the one the \
                 publisher gives.",
            )
            .arg(
                ArgSpec::positional("key", "The public key text, or a .pub file")
                    .required()
                    .value_name("KEY|FILE"),
            )
            .arg(
                ArgSpec::option("name", "A label for the key, e.g. the publisher's name")
                    .value_name("NAME"),
            )
            .example(
                "plugins trust add mosaic-ed25519:… --name \"acme plugins\"",
                "",
            )
            .example("plugins trust add ./acme.pub --name acme", "")
    }

    fn run(session: &Session, options: AddOptions) -> Result<i32> {
        let text = if Path::new(&options.key).is_file() {
            std::fs::read_to_string(&options.key)
                .with_context(|| format!("cannot read {}", options.key))?
        } else {
            options.key.clone()
        };
        if text.trim_start().starts_with(SECRET_KEY_TAG) {
            bail!(
                "that is a publisher's SECRET key, which must never leave its owner; trust \
                 the public key instead (the `.pub` file, `mosaic-ed25519:…`)"
            );
        }
        let key = PublicKey::parse(text.trim()).with_context(|| {
            if Path::new(&options.key).is_file() {
                format!("{} does not hold a mosaic public key", options.key)
            } else {
                format!(
                    "`{}` is neither a public key (`mosaic-ed25519:…`) nor a key file",
                    options.key
                )
            }
        })?;
        let name = options.name.as_deref().unwrap_or("unnamed");
        let (entry, added) = trust_store::add(&session.dirs.config, &key, name)?;
        if added {
            println!("trusted {} \"{}\"", key.fingerprint(), entry.name);
        } else {
            println!(
                "{} is already trusted as \"{}\"",
                key.fingerprint(),
                entry.name
            );
        }
        Ok(0)
    }
}

/// `mosaic plugins trust list`.
pub struct List;

impl Builtin for List {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("list", "List the trusted publisher keys")
            .alias("ls")
            .long_about(&format!(
                "List the trusted publisher keys ({TRUSTED_KEYS_KEY} in config.json): \
                 fingerprint, name, when added, and the key. --json prints the list with \
                 fingerprints."
            ))
            .example("plugins trust list", "")
            .example("plugins trust list --json", "")
    }

    fn run(session: &Session, _options: NoOptions) -> Result<i32> {
        let keys = trust_store::trusted_keys(&session.dirs.config)?;
        if session.json() {
            let rows: Vec<serde_json::Value> = keys
                .iter()
                .map(|entry| {
                    serde_json::json!({
                        "key": entry.key,
                        "name": entry.name,
                        "added_at": entry.added_at,
                        "fingerprint": entry.fingerprint(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(0);
        }
        if keys.is_empty() {
            eprintln!("No publisher key is trusted yet; `mosaic plugins trust add KEY` adds one.");
            return Ok(0);
        }
        let mut table = Table::new(&["fingerprint", "name", "key"]);
        for entry in &keys {
            table.add_row([entry.fingerprint(), entry.name.clone(), entry.key.clone()]);
        }
        print!("{}", table.render());
        Ok(0)
    }
}

/// `mosaic plugins trust remove`.
pub struct Remove;

/// The options of `mosaic plugins trust remove`.
#[derive(Debug, Deserialize)]
pub struct RemoveOptions {
    /// The key text, fingerprint or name.
    pub key: String,
}

impl Builtin for Remove {
    type Options = RemoveOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("remove", "Stop trusting a publisher key")
            .alias("rm")
            .long_about(
                "Remove a key from the trusted keys, named by the key text, its \
                 fingerprint (SHA256:…) or its name. Plugins it signed stay installed; \
                 their next upgrade asks again.",
            )
            .arg(
                ArgSpec::positional("key", "The key, its fingerprint, or its name")
                    .required()
                    .value_name("KEY|FINGERPRINT|NAME"),
            )
            .example("plugins trust remove SHA256:…", "")
    }

    fn run(session: &Session, options: RemoveOptions) -> Result<i32> {
        let removed = trust_store::remove(&session.dirs.config, options.key.trim())?;
        println!(
            "no longer trusted: {} \"{}\"",
            removed.fingerprint(),
            removed.name
        );
        Ok(0)
    }
}
