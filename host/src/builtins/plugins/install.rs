//! `mosaic plugins install FILE [--force]`: vet a plugin library and copy it into the
//! user plugin directory. `mosaic plugins install NAME[@VERSION]` finds the plugin in
//! the configured indexes instead and installs it through the same vetting
//! ([`vet_library`]; the download side is `from_index`).
//!
//! The file is loaded first (ABI check, manifest, host requirement): nothing is
//! copied unless it would work. The copy is atomic (temp file + rename), so a running
//! `mosaic` that has the old library mapped keeps working. An existing plugin of the
//! same name is replaced when the new one has a higher version, or with `--force`.
//! A plugin that declares a command of a built-in or of another installed plugin
//! (at the top or under `config`) is refused, naming both and saying what would
//! happen, unless `--force` is given: a first-party command is never taken over by
//! accident. This is also where a command lost to a built-in is reported; later runs
//! do not warn about it.
//! A spinner shows while the file is vetted and copied, if that takes a while.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use mosaic_plugin_api::sdk::fs::{atomic_copy, create_dir_all_with_mode};
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::plugins::from_index::install_named;
use crate::builtins::Builtin;
use crate::distribution::provenance;
use crate::loader::{probe, LoadedPlugin, PluginSummary};
use crate::paths::plugin_file_name;
use crate::registry::{command_words, Holder};
use crate::session::Session;

/// `mosaic plugins install`.
pub struct Install;

/// The options of `mosaic plugins install`.
#[derive(Debug, Deserialize)]
pub struct InstallOptions {
    /// The plugin library, or `NAME[@VERSION]` to find in the plugin indexes.
    pub plugin: String,
    /// Replace an installed plugin that is not older, and accept commands that
    /// collide with a built-in or another plugin.
    pub force: bool,
    /// Install an older version from an index than the one installed.
    #[serde(default)]
    pub allow_downgrade: bool,
}

/// Whether the argument of `plugins install` names a file (an existing path, one
/// with a `/`, or a library file name) rather than a plugin in an index.
pub fn is_file_argument(argument: &str) -> bool {
    argument.contains('/')
        || argument.ends_with(std::env::consts::DLL_SUFFIX)
        || argument.ends_with(".so")
        || argument.ends_with(".dylib")
        || Path::new(argument).exists()
}

impl Builtin for Install {
    type Options = InstallOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "install",
            "Install a plugin from a library file, or by name from a plugin index",
        )
        .long_about(
            "Install a plugin from a library FILE, or by NAME[@VERSION] from the plugin \
             indexes (`mosaic plugins index-source add URL`). By name, the newest release \
             this mosaic can load on this platform is chosen (releases built for another \
             plugin API or target are skipped, and said); its publisher's signature is \
             checked against your trusted keys (`mosaic plugins trust`; an unknown key is \
             asked about at a terminal and refused otherwise — MOSAIC_ASSUME_YES never \
             trusts a key); it is downloaded with its size and sha256 checked, then vetted \
             like a FILE; installing an older version than the installed one needs \
             --allow-downgrade. From a FILE: check that it is a mosaic plugin this host can load (API version, \
             manifest, host requirement), then copy it atomically to \
             $XDG_DATA_HOME/mosaic/plugins/libmosaic_<name>.so. An installed plugin of \
             the same name is upgraded when FILE has a higher version; replacing it \
             with the same or a lower version needs --force. A plugin declaring a \
             command that a built-in or another installed plugin has is refused, \
             naming both; --force installs it anyway (built-ins always win; between \
             plugins the first on the search path does).",
        )
        .arg(
            ArgSpec::positional(
                "plugin",
                "The plugin library (a path: has a `/` or ends in .so), or a plugin name \
                 from the indexes, optionally @VERSION",
            )
            .required()
            .value_name("FILE|NAME[@VERSION]"),
        )
        .arg(
            ArgSpec::flag(
                "force",
                "Replace an installed plugin of the same name even if it is not older, \
                 and install a plugin whose commands collide with others",
            )
            .short('f'),
        )
        .arg(ArgSpec::flag(
            "allow_downgrade",
            "Install NAME@VERSION even when a newer version is installed",
        ))
        .example("plugins install target/release/libmosaic_hello.so", "")
        .example("plugins install ./libmosaic_hello.so --force", "")
        .example("plugins install hello", "")
        .example("plugins install hello@0.1.0 --allow-downgrade", "")
    }

    fn run(session: &Session, options: InstallOptions) -> Result<i32> {
        let InstallOptions {
            plugin,
            force,
            allow_downgrade,
        } = options;
        if !is_file_argument(&plugin) {
            return install_named(session, &plugin, force, allow_downgrade);
        }
        let source = PathBuf::from(plugin);
        if !source.is_file() {
            bail!("{}: no such file", source.display());
        }
        let waiting = session
            .progress
            .spinner(&format!("Checking {}", source.display()));
        let vetted = vet_library(session, &source, &source.display().to_string())?;
        if let Some(refusal) = vetted.collision_refusal(&source.display().to_string(), force) {
            bail!(refusal);
        }
        let VettedLibrary {
            loaded,
            destination,
            collisions,
        } = vetted;
        let manifest = loaded.summary;
        let directory = session.dirs.user_plugin_dir();
        create_dir_all_with_mode(&directory, 0o755)?;
        if source.canonicalize().ok() == destination.canonicalize().ok() {
            bail!("{} is already the installed file", source.display());
        }
        let installed = session
            .registry
            .plugins
            .iter()
            .find(|record| record.path == destination);
        let mut action = "installed";
        let mut upgrade = None;
        if let Some(record) = installed {
            match (record.version(), force) {
                (_, true) => action = "replaced (--force)",
                (Some(old), false) => {
                    let newer = match (
                        semver::Version::parse(&manifest.version),
                        semver::Version::parse(old),
                    ) {
                        (Ok(new), Ok(old)) => new > old,
                        _ => false,
                    };
                    if !newer {
                        bail!(
                            "{} {old} is already installed at {}; {} {} is not newer. \
                             Use --force to replace it anyway.",
                            manifest.name,
                            destination.display(),
                            manifest.name,
                            manifest.version
                        );
                    }
                    action = "upgraded";
                    upgrade = Some(format!(
                        "upgrading {} {old} -> {}",
                        manifest.name, manifest.version
                    ));
                }
                (None, false) => bail!(
                    "{} exists and is not a working plugin ({}); use --force to replace it",
                    destination.display(),
                    record.problem.as_deref().unwrap_or("unknown problem")
                ),
            }
        }
        waiting.set_message(&format!("Copying to {}", destination.display()));
        atomic_copy(&source, &destination, 0o755)?;
        // The file no longer came from an index.
        provenance::remove(&directory, &manifest.name)?;
        drop(waiting);
        if let Some(upgrade) = upgrade {
            eprintln!("{upgrade}");
        }
        println!(
            "{action} {} {} -> {}",
            manifest.name,
            manifest.version,
            destination.display()
        );
        for collision in &collisions {
            eprintln!(
                "warning: {} (--force): {}",
                collision.describe(),
                collision.consequence
            );
        }
        // Say when another copy on the search path wins over (or loses to) this one.
        let user_position = session.search.iter().position(|dir| dir.path == directory);
        for record in session
            .registry
            .plugins
            .iter()
            .filter(|record| record.name == manifest.name && record.path != destination)
        {
            let position = session
                .search
                .iter()
                .position(|dir| Some(dir.path.as_path()) == record.path.parent());
            if position < user_position {
                eprintln!(
                    "warning: {} comes earlier in the search path and will still be used",
                    record.path.display()
                );
            } else {
                eprintln!("note: this takes precedence over {}", record.path.display());
            }
        }
        Ok(0)
    }
}

/// A plugin library that passed the checks `plugins install` makes before it copies
/// anything: it loads (API version, layouts), its manifest is valid, this host meets
/// its host requirement. Which of its commands a built-in or another plugin has is
/// found too; whether that refuses it is the caller's call ([`VettedLibrary::collision_refusal`]).
pub(crate) struct VettedLibrary {
    /// What loading it found: API version, manifest summary, manifest JSON.
    pub(crate) loaded: LoadedPlugin,
    /// Where it goes in the user plugin directory (`libmosaic_<name>.so`).
    pub(crate) destination: PathBuf,
    /// Its commands that a built-in or another plugin has.
    pub(crate) collisions: Vec<Collision>,
}

impl VettedLibrary {
    /// The words of every command (and alias) it declares, as typed: `hello`,
    /// `config hello`.
    pub(crate) fn command_words(&self) -> Vec<String> {
        declared_command_words(&self.loaded.summary)
    }

    /// The one-line error refusing `label` for its collisions, unless there are none
    /// or `force` accepts them.
    pub(crate) fn collision_refusal(&self, label: &str, force: bool) -> Option<String> {
        if self.collisions.is_empty() || force {
            return None;
        }
        Some(format!(
            "{label} cannot be installed: {}; use --force to install it anyway (then {})",
            self.collisions
                .iter()
                .map(Collision::describe)
                .collect::<Vec<_>>()
                .join("; "),
            consequences(&self.collisions)
        ))
    }
}

/// The words of every command (and alias) a plugin declares, as typed.
pub(crate) fn declared_command_words(summary: &PluginSummary) -> Vec<String> {
    summary
        .commands
        .iter()
        .flat_map(|command| {
            std::iter::once(&command.name)
                .chain(&command.aliases)
                .map(|claim| command_words(command.mount, claim))
        })
        .collect()
}

/// Vets the plugin library `file` exactly as `plugins install FILE` does (see
/// [`VettedLibrary`]); `label` names it in the one-line error (the path, or the
/// release being installed).
pub(crate) fn vet_library(session: &Session, file: &Path, label: &str) -> Result<VettedLibrary> {
    let loaded = probe(file)
        .map_err(|refusal| anyhow!("{label} cannot be installed: {}", refusal.reason))?;
    let destination = session
        .dirs
        .user_plugin_dir()
        .join(plugin_file_name(&loaded.summary.name));
    let collisions = collisions(session, &loaded.summary, &destination);
    Ok(VettedLibrary {
        loaded,
        destination,
        collisions,
    })
}

/// A command of the plugin being installed that a built-in or another plugin has.
pub(crate) struct Collision {
    /// The words typed (`fleet`, `config hooks`).
    command: String,
    /// Who has it.
    holder: Holder,
    /// What happens to the command once the plugin is installed.
    consequence: String,
}

impl Collision {
    /// `its command `fleet` is provided by plugin fleet (path)`.
    pub(crate) fn describe(&self) -> String {
        match &self.holder {
            Holder::BuiltIn => format!("its command `{}` is a built-in command", self.command),
            Holder::Plugin { name, path } => format!(
                "its command `{}` is provided by plugin {name} ({})",
                self.command,
                path.display()
            ),
        }
    }
}

/// The consequences of `collisions`, each once (two plugins declaring one command
/// share one consequence).
fn consequences(collisions: &[Collision]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for collision in collisions {
        if !seen.contains(&collision.consequence.as_str()) {
            seen.push(&collision.consequence);
        }
    }
    seen.join("; ")
}

/// Every command (and alias) of `manifest` that a built-in or a plugin of another
/// name has, and what happens to it; the new file would be `destination`.
fn collisions(session: &Session, manifest: &PluginSummary, destination: &Path) -> Vec<Collision> {
    let new_position = search_position(session, destination);
    let mut found: Vec<Collision> = Vec::new();
    for command in &manifest.commands {
        for claim in std::iter::once(&command.name).chain(&command.aliases) {
            let words = command_words(command.mount, claim);
            let holders: Vec<Holder> = session
                .registry
                .holders_of(command.mount, claim)
                .into_iter()
                .filter(|holder| {
                    !matches!(holder, Holder::Plugin { name, .. } if *name == manifest.name)
                })
                .collect();
            // Built-ins always win; between plugins, the first on the search path.
            let winner = holders.iter().min_by_key(|holder| match holder {
                Holder::BuiltIn => (0, (0, OsString::new())),
                Holder::Plugin { path, .. } => (1, search_position(session, path)),
            });
            let consequence = match winner {
                None => continue,
                Some(Holder::BuiltIn) => format!(
                    "the built-in `{words}` always wins: this plugin's `{words}` will never run"
                ),
                Some(Holder::Plugin { name, path }) => {
                    if new_position < search_position(session, path) {
                        format!(
                            "`mosaic {words}` runs this plugin instead of plugin {name}, which \
                             no longer gets it"
                        )
                    } else {
                        format!(
                            "plugin {name} comes first in the search path and keeps \
                             `{words}`: this plugin's `{words}` will not run"
                        )
                    }
                }
            };
            for holder in holders {
                if !found
                    .iter()
                    .any(|seen| seen.command == words && seen.holder == holder)
                {
                    found.push(Collision {
                        command: words.clone(),
                        holder,
                        consequence: consequence.clone(),
                    });
                }
            }
        }
    }
    found
}

/// Where a plugin file stands in the search order: its directory's index, then its
/// file name (files of one directory load in name order).
fn search_position(session: &Session, path: &Path) -> (usize, OsString) {
    let directory = session
        .search
        .iter()
        .position(|dir| Some(dir.path.as_path()) == path.parent())
        .unwrap_or(usize::MAX);
    (
        directory,
        path.file_name().unwrap_or_default().to_os_string(),
    )
}
