//! `mosaic plugins upgrade [NAME[@VERSION]|--all] [--allow-downgrade]`: install the
//! newest loadable release of plugins installed from an index, from that index.
//!
//! The new version is downloaded, checked (size, sha256, trusted signature) and
//! vetted — loaded, as `plugins install FILE` does — from a temporary file, and
//! only then renamed over the old one: a failed upgrade leaves the old version
//! installed and working.

use anyhow::{anyhow, bail, Result};
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::plugins::from_index::{
    check_declared_commands, check_publisher, compare_with_installed, install_release, limits,
    parse_name_and_version, Permissions,
};
use crate::builtins::plugins::outdated::{
    all_up_to_date, fetch_origins, installed_from_indexes, newer_release, FromIndex,
};
use crate::builtins::Builtin;
use crate::distribution::select::{select, Candidate};
use crate::distribution::sources::FetchedIndex;
use crate::session::Session;

/// `mosaic plugins upgrade`.
pub struct Upgrade;

/// The options of `mosaic plugins upgrade`.
#[derive(Debug, Deserialize)]
pub struct UpgradeOptions {
    /// `NAME` or `NAME@VERSION`.
    pub plugin: Option<String>,
    /// Every plugin installed from an index.
    #[serde(default)]
    pub all: bool,
    /// Allow `NAME@VERSION` older than the installed version.
    #[serde(default)]
    pub allow_downgrade: bool,
}

impl Builtin for Upgrade {
    type Options = UpgradeOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "upgrade",
            "Upgrade plugins installed from an index to their newest release",
        )
        .long_about(
            "Install the newest release this mosaic can load of NAME (or of every plugin \
             installed from an index, with --all), from the index it was installed from. \
             The new version is downloaded, its size, sha256 and trusted signature \
             checked, and it is loaded and vetted like `plugins install FILE` BEFORE it \
             replaces the old file: a failed upgrade leaves the old version working. \
             NAME@VERSION installs that version; one older than the installed version \
             needs --allow-downgrade.",
        )
        .arg(
            ArgSpec::positional("plugin", "The plugin, optionally @VERSION")
                .value_name("NAME[@VERSION]"),
        )
        .arg(ArgSpec::flag(
            "all",
            "Upgrade every plugin installed from an index",
        ))
        .arg(ArgSpec::flag(
            "allow_downgrade",
            "Allow NAME@VERSION older than the installed version",
        ))
        .example("plugins upgrade hello", "")
        .example("plugins upgrade --all", "")
        .example("plugins upgrade hello@0.1.0 --allow-downgrade", "")
    }

    fn run(session: &Session, options: UpgradeOptions) -> Result<i32> {
        let installed = installed_from_indexes(session);
        let (chosen, version) = match (&options.plugin, options.all) {
            (Some(_), true) => bail!("give NAME or --all, not both"),
            (None, false) => {
                bail!("name the plugin to upgrade (`mosaic plugins upgrade NAME`) or use --all")
            }
            (None, true) => (installed.clone(), None),
            (Some(argument), false) => {
                let (name, version) = parse_name_and_version(argument)?;
                let plugin = installed
                    .iter()
                    .find(|plugin| plugin.origin.name == name)
                    .cloned()
                    .ok_or_else(|| not_from_an_index(session, &name))?;
                (vec![plugin], version)
            }
        };
        let indexes = {
            let _waiting = session.progress.spinner("Reading the plugin indexes");
            fetch_origins(&chosen, limits(session)?)?
        };
        let mut failed = 0;
        let mut upgraded = 0;
        for plugin in &chosen {
            let index = &indexes[&plugin.origin.index];
            let outcome = match &version {
                Some(version) => {
                    upgrade_to(session, plugin, index, version, options.allow_downgrade)
                }
                None => upgrade_to_newest(session, plugin, index),
            };
            match outcome {
                Ok(true) => upgraded += 1,
                Ok(false) => {}
                Err(error) if options.all => {
                    eprintln!("error: {error:#}");
                    failed += 1;
                }
                Err(error) => return Err(error),
            }
        }
        if options.all && upgraded == 0 && failed == 0 {
            println!("{}", all_up_to_date(chosen.len()));
        }
        Ok(if failed > 0 { 1 } else { 0 })
    }
}

/// The error for upgrading a plugin that has no (current) origin record.
fn not_from_an_index(session: &Session, name: &str) -> anyhow::Error {
    if session.registry.find(name).is_some() {
        anyhow!(
            "{name} was not installed from a plugin index, so there is nothing to upgrade it \
             from; `mosaic plugins install {name}` installs it from one"
        )
    } else {
        anyhow!("{name} is not installed; `mosaic plugins install {name}` installs it")
    }
}

/// Upgrades to the newest loadable release if it is newer. Returns whether it did.
fn upgrade_to_newest(session: &Session, plugin: &FromIndex, index: &FetchedIndex) -> Result<bool> {
    let name = &plugin.origin.name;
    let Some((latest, skipped)) = newer_release(plugin, index) else {
        // Say why, when the index has newer releases this host cannot load.
        let selection = select(std::slice::from_ref(index), name, None);
        let skipped = selection
            .map(|selection| selection.skipped)
            .unwrap_or_default();
        println!("{name} {} is up to date", plugin.installed);
        for skipped in skipped {
            eprintln!("note: {}", skipped.describe());
        }
        return Ok(false);
    };
    for skipped in skipped {
        eprintln!("note: {}", skipped.describe());
    }
    upgrade_to(session, plugin, index, &latest, false)
}

/// Installs exactly `version` of the plugin from its index. Returns whether it did.
fn upgrade_to(
    session: &Session,
    plugin: &FromIndex,
    index: &FetchedIndex,
    version: &semver::Version,
    allow_downgrade: bool,
) -> Result<bool> {
    let name = &plugin.origin.name;
    let selection = select(std::slice::from_ref(index), name, Some(version))?;
    for skipped in &selection.skipped {
        eprintln!("note: {}", skipped.describe());
    }
    let candidate: Candidate<'_> = selection.chosen;
    if let Some(message) = compare_with_installed(
        name,
        Some(&plugin.installed),
        &candidate.release.version,
        allow_downgrade,
    )? {
        println!("{message}");
        return Ok(false);
    }
    check_declared_commands(session, &candidate, false)?;
    let signer = check_publisher(session, &candidate)?;
    let done = install_release(session, &candidate, &signer, Permissions::default())?;
    let verb = if candidate.release.version < plugin.installed {
        "downgraded"
    } else {
        "upgraded"
    };
    println!(
        "{verb} {name} {} -> {} (signed by {} \"{}\")",
        plugin.installed, done.origin.version, done.origin.signer, done.origin.signer_name
    );
    Ok(true)
}
