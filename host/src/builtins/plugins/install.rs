//! `mosaic plugins install FILE [--force]`: vet a plugin library and copy it into the
//! user plugin directory.
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

use crate::builtins::Builtin;
use crate::loader::{probe, PluginSummary};
use crate::paths::plugin_file_name;
use crate::registry::{command_words, Holder};
use crate::session::Session;

/// `mosaic plugins install`.
pub struct Install;

/// The options of `mosaic plugins install`.
#[derive(Debug, Deserialize)]
pub struct InstallOptions {
    /// The plugin library.
    pub file: PathBuf,
    /// Replace an installed plugin that is not older, and accept commands that
    /// collide with a built-in or another plugin.
    pub force: bool,
}

impl Builtin for Install {
    type Options = InstallOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "install",
            "Install a plugin library into the user plugin directory",
        )
        .long_about(
            "Check that FILE is a mosaic plugin this host can load (API version, \
             manifest, host requirement), then copy it atomically to \
             $XDG_DATA_HOME/mosaic/plugins/libmosaic_<name>.so. An installed plugin of \
             the same name is upgraded when FILE has a higher version; replacing it \
             with the same or a lower version needs --force. A plugin declaring a \
             command that a built-in or another installed plugin has is refused, \
             naming both; --force installs it anyway (built-ins always win; between \
             plugins the first on the search path does).",
        )
        .arg(
            ArgSpec::positional("file", "The plugin library (.so)")
                .required()
                .value_name("FILE"),
        )
        .arg(
            ArgSpec::flag(
                "force",
                "Replace an installed plugin of the same name even if it is not older, \
                 and install a plugin whose commands collide with others",
            )
            .short('f'),
        )
        .example("plugins install target/release/libmosaic_hello.so", "")
        .example("plugins install ./libmosaic_hello.so --force", "")
    }

    fn run(session: &Session, options: InstallOptions) -> Result<i32> {
        let InstallOptions {
            file: source,
            force,
        } = options;
        if !source.is_file() {
            bail!("{}: no such file", source.display());
        }
        let waiting = session
            .progress
            .spinner(&format!("Checking {}", source.display()));
        let manifest = probe(&source)
            .map_err(|refusal| {
                anyhow!(
                    "{} cannot be installed: {}",
                    source.display(),
                    refusal.reason
                )
            })?
            .summary;
        let directory = session.dirs.user_plugin_dir();
        let destination = directory.join(plugin_file_name(&manifest.name));
        let collisions = collisions(session, &manifest, &destination);
        if !collisions.is_empty() && !force {
            bail!(
                "{} cannot be installed: {}; use --force to install it anyway (then {})",
                source.display(),
                collisions
                    .iter()
                    .map(Collision::describe)
                    .collect::<Vec<_>>()
                    .join("; "),
                consequences(&collisions)
            );
        }
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

/// A command of the plugin being installed that a built-in or another plugin has.
struct Collision {
    /// The words typed (`fleet`, `config hooks`).
    command: String,
    /// Who has it.
    holder: Holder,
    /// What happens to the command once the plugin is installed.
    consequence: String,
}

impl Collision {
    /// `its command `fleet` is provided by plugin fleet (path)`.
    fn describe(&self) -> String {
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
