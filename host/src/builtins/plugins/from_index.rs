//! Installing a release found in a plugin index — what `plugins install NAME` and
//! `plugins upgrade` share.
//!
//! The order is the point: the publisher's signature over the release (name,
//! version, target, API version, host requirement, size, sha256) is checked and its
//! key must be trusted before a byte is downloaded; the download must have exactly
//! that size and sha256; the library is then vetted exactly like `plugins install
//! FILE` (loaded, manifest, host requirement, command collisions) from a temporary
//! file in the plugin directory; only then is it renamed over the installed file.
//! Any failure leaves the installed version as it was and nothing else behind.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::create_dir_all_with_mode;
use mosaic_plugin_api::sdk::term;
use mosaic_plugin_api::Mount;

use crate::builtins::plugins::vetting::vet_library;
use crate::distribution::download::{self, resolve_url, Expected, Limits, STALL_TIMEOUT_VARIABLE};
use crate::distribution::provenance::{self, Origin};
use crate::distribution::select::Candidate;
use crate::distribution::signing::PublicKey;
use crate::distribution::trust_store::{self, TrustedKey};
use crate::paths::plugin_file_name;
use crate::registry::Holder;
use crate::session::Session;

/// The download limits of this command (`MOSAIC_DOWNLOAD_TIMEOUT_SECS`).
pub(crate) fn limits(session: &Session) -> Result<Limits> {
    Limits::from_variable(session.env(STALL_TIMEOUT_VARIABLE))
}

/// How a release may replace what is installed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Permissions {
    /// Accept commands that collide with a built-in or another plugin.
    pub(crate) force: bool,
}

/// What was installed.
#[derive(Debug)]
pub(crate) struct Installed {
    /// The record written next to it.
    pub(crate) origin: Origin,
    /// The library file.
    pub(crate) path: PathBuf,
}

/// `hello 0.2.0`.
pub(crate) fn release_label(candidate: &Candidate<'_>) -> String {
    format!("{} {}", candidate.plugin.name, candidate.release.version)
}

/// Checks the release's signature and that its key is trusted (asking, when a
/// person is at the terminal, whether to trust an unknown key). Returns the key's
/// trust entry.
pub(crate) fn check_publisher(session: &Session, candidate: &Candidate<'_>) -> Result<TrustedKey> {
    let label = release_label(candidate);
    let key = candidate
        .release
        .verify_signature(&candidate.plugin.name)
        .map_err(|error| anyhow!("{label} from {} is refused: {error:#}", candidate.index.url))?;
    let config_dir = &session.dirs.config;
    let trusted = trust_store::trusted_keys(config_dir)?;
    if let Some(entry) = trust_store::find(&trusted, &key) {
        return Ok(entry.clone());
    }
    if !can_ask(session) {
        bail!(
            "{label} is signed by key {}, which is not trusted; if you trust its publisher, \
             run `mosaic plugins trust add {} --name NAME` and install again",
            key.fingerprint(),
            key.to_text()
        );
    }
    ask_to_trust(session, candidate, &key)
}

/// Whether a person can be asked: a terminal on stdin, no `MOSAIC_ASSUME_YES`
/// (which never trusts a key on anyone's behalf), not CI.
fn can_ask(session: &Session) -> bool {
    let set = |key: &str| {
        session
            .env(key)
            .is_some_and(|value| term::is_truthy(&value))
    };
    term::can_prompt(set("MOSAIC_ASSUME_YES"), term::stdin_is_tty()) && !set("CI")
}

fn ask_to_trust(
    session: &Session,
    candidate: &Candidate<'_>,
    key: &PublicKey,
) -> Result<TrustedKey> {
    let label = release_label(candidate);
    eprintln!(
        "{label} from {} is signed by a key you have not trusted yet:\n  {}\n  fingerprint {}",
        candidate.index.url,
        key.to_text(),
        key.fingerprint()
    );
    let trust = dialoguer::Confirm::new()
        .with_prompt("Trust this publisher key for installing plugins?")
        .default(false)
        .interact()
        .context("cannot ask whether to trust the key")?;
    if !trust {
        bail!(
            "{label} is signed by key {}, which you chose not to trust; nothing was installed",
            key.fingerprint()
        );
    }
    let name = format!("publisher of {}", candidate.plugin.name);
    let (entry, _) = trust_store::add(&session.dirs.config, key, &name)?;
    eprintln!(
        "trusted {} as \"{name}\" (`mosaic plugins trust remove {}` undoes it)",
        key.fingerprint(),
        key.fingerprint()
    );
    Ok(entry)
}

/// The commands the index says the release declares that a built-in or another
/// plugin has, described; refused before downloading unless `force`.
pub(crate) fn check_declared_commands(
    session: &Session,
    candidate: &Candidate<'_>,
    force: bool,
) -> Result<()> {
    if force {
        return Ok(());
    }
    let name = &candidate.plugin.name;
    let mut taken = Vec::new();
    for words in &candidate.release.commands {
        let (mount, word) = match words.strip_prefix("config ") {
            Some(word) => (Mount::Config, word),
            None => (Mount::Top, words.as_str()),
        };
        for holder in session.registry.holders_of(mount, word) {
            match holder {
                Holder::BuiltIn => {
                    taken.push(format!("its command `{words}` is a built-in command"))
                }
                Holder::Plugin { name: other, path } if other != *name => taken.push(format!(
                    "its command `{words}` is provided by plugin {other} ({})",
                    path.display()
                )),
                Holder::Plugin { .. } => {}
            }
        }
    }
    if taken.is_empty() {
        return Ok(());
    }
    bail!(
        "{} cannot be installed: {}; use --force to install it anyway",
        release_label(candidate),
        taken.join("; ")
    )
}

/// Downloads, checks, vets and installs `candidate` (whose publisher passed
/// [`check_publisher`] as `signer`) into the user plugin directory.
pub(crate) fn install_release(
    session: &Session,
    candidate: &Candidate<'_>,
    signer: &TrustedKey,
    permissions: Permissions,
) -> Result<Installed> {
    let name = &candidate.plugin.name;
    let release = candidate.release;
    let label = release_label(candidate);
    let url = resolve_url(&candidate.index.url, &release.url);
    let directory = session.dirs.user_plugin_dir();
    create_dir_all_with_mode(&directory, 0o755)?;
    let file_name = plugin_file_name(name);
    let limits = limits(session)?;
    let downloaded = {
        let bar = session
            .progress
            .bar(&format!("Downloading {label}"), release.size);
        download::download(
            &url,
            Expected {
                size: release.size,
                sha256: &release.sha256,
            },
            &directory,
            &file_name,
            limits,
            &|received| bar.set_position(received),
        )
        .map_err(|error| anyhow!("{label} cannot be installed: {error:#}"))?
    };
    let waiting = session.progress.spinner(&format!("Checking {label}"));
    let vetted = vet_library(session, downloaded.path(), &label)?;
    let manifest = &vetted.loaded.summary;
    if manifest.name != *name || manifest.version != release.version.to_string() {
        bail!(
            "{label} cannot be installed: the downloaded library is {} {}, not what the \
             index lists",
            manifest.name,
            manifest.version
        );
    }
    if let Some(refusal) = vetted.collision_refusal(&label, permissions.force) {
        bail!(refusal);
    }
    let destination = directory.join(&file_name);
    let previous = provenance::read(&directory, name).ok().flatten();
    let origin = Origin {
        name: name.clone(),
        version: release.version.to_string(),
        index: candidate.index.url.clone(),
        url,
        sha256: release.sha256.clone(),
        signer: PublicKey::parse(&signer.key)
            .map(|key| key.fingerprint())
            .unwrap_or_default(),
        signer_name: signer.name.clone(),
        installed_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0),
    };
    // The record first: if the rename then fails, the old record goes back (a
    // record whose sha256 does not match the file is ignored anyway).
    provenance::write(&directory, &origin)
        .map_err(|error| anyhow!("{label} cannot be installed: {error:#}"))?;
    if let Err(error) = downloaded.persist(&destination) {
        let _ = match &previous {
            Some(previous) => provenance::write(&directory, previous),
            None => provenance::remove(&directory, name),
        };
        return Err(anyhow!("{label} cannot be installed: {error:#}"));
    }
    drop(waiting);
    for collision in &vetted.collisions {
        eprintln!("warning: {} (--force)", collision.describe());
    }
    Ok(Installed {
        origin,
        path: destination,
    })
}

/// `NAME` or `NAME@VERSION`, split and checked.
pub(crate) fn parse_name_and_version(text: &str) -> Result<(String, Option<semver::Version>)> {
    let (name, version) = match text.split_once('@') {
        Some((name, version)) => {
            let version = semver::Version::parse(version).map_err(|_| {
                anyhow!(
                    "`{text}`: `{version}` is not a version; write NAME@VERSION, e.g. {name}@0.2.0"
                )
            })?;
            (name, Some(version))
        }
        None => (text, None),
    };
    if !mosaic_plugin_api::validate::valid_word(name) {
        bail!(
            "`{text}` is neither a plugin file nor a plugin name (lowercase letters, digits, \
             `-`, `_`); a file path needs a `/` (./libmosaic_x.so)"
        );
    }
    Ok((name.to_string(), version))
}

/// The version of `name` that is installed where an index install would put it
/// (the user plugin directory), else wherever it is found first.
pub(crate) fn installed_version(session: &Session, name: &str) -> Option<semver::Version> {
    let destination = session.dirs.user_plugin_dir().join(plugin_file_name(name));
    let records = &session.registry.plugins;
    records
        .iter()
        .find(|record| record.path == destination)
        .or_else(|| records.iter().find(|record| record.name == name))
        .and_then(|record| record.version())
        .and_then(|version| semver::Version::parse(version).ok())
}

/// What to do about `chosen` when `installed` is there: `Ok(None)` to go on,
/// `Ok(Some(message))` when there is nothing to do, an error for a downgrade
/// without `allow_downgrade`.
pub(crate) fn compare_with_installed(
    name: &str,
    installed: Option<&semver::Version>,
    chosen: &semver::Version,
    allow_downgrade: bool,
) -> Result<Option<String>> {
    match installed {
        Some(installed) if installed == chosen => {
            Ok(Some(format!("{name} {installed} is already installed")))
        }
        Some(installed) if installed > chosen && !allow_downgrade => bail!(
            "{name} {installed} is installed, which is newer than {chosen}; use \
             --allow-downgrade to install {chosen} anyway"
        ),
        _ => Ok(None),
    }
}

/// `plugins install NAME[@VERSION]`.
pub(crate) fn install_named(
    session: &Session,
    argument: &str,
    force: bool,
    allow_downgrade: bool,
) -> Result<i32> {
    let (name, version) = parse_name_and_version(argument)?;
    let limits = limits(session)?;
    let indexes = {
        let _waiting = session.progress.spinner("Reading the plugin indexes");
        crate::distribution::sources::fetch_all(&session.dirs.config, limits)?
    };
    let selection = crate::distribution::select::select(&indexes, &name, version.as_ref())?;
    for skipped in &selection.skipped {
        eprintln!("note: {}", skipped.describe());
    }
    let candidate = selection.chosen;
    let installed = installed_version(session, &name);
    if let Some(message) = compare_with_installed(
        &name,
        installed.as_ref(),
        &candidate.release.version,
        allow_downgrade,
    )? {
        println!("{message}");
        return Ok(0);
    }
    check_declared_commands(session, &candidate, force)?;
    let signer = check_publisher(session, &candidate)?;
    let done = install_release(session, &candidate, &signer, Permissions { force })?;
    let action = match &installed {
        Some(old) if *old > candidate.release.version => format!("downgraded {name} {old} ->"),
        Some(old) => format!("upgraded {name} {old} ->"),
        None => format!("installed {name}"),
    };
    println!(
        "{action} {} from {} (signed by {} \"{}\") -> {}",
        done.origin.version,
        done.origin.index,
        done.origin.signer,
        done.origin.signer_name,
        done.path.display()
    );
    Ok(0)
}
