//! Vetting a plugin library before it is installed or published: it must load in
//! this host (API version, layouts), have a valid manifest and accept this host's
//! version; and which of its commands a built-in or another plugin already has.
//! `plugins install FILE`, `plugins install NAME` and `plugins index add` all vet
//! through [`vet_library`], so a library refused by one is refused by all.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};

use crate::loader::{probe, LoadedPlugin, PluginSummary};
use crate::paths::plugin_file_name;
use crate::registry::{command_words, Holder};
use crate::session::Session;

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
    pub(crate) consequence: String,
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
