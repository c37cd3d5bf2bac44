//! The plugins of this run and who owns which command.
//!
//! Built from the discovered files and the manifest cache (loading only files the
//! cache does not know). Every file ends up with one status — ok, shadowed,
//! incompatible, untrusted or broken — and every mounted command with one owner.
//! Conflicts are settled by search order: a command claimed by a built-in or by an
//! earlier plugin is not mounted, and its plugin is reported as shadowed.

use std::collections::HashMap;
use std::path::PathBuf;

use mosaic_plugin_api::{CommandSpec, Manifest, Mount};
use serde::Serialize;

use crate::cache::ManifestCache;
use crate::discovery::{discover, Candidate, DirReport};
use crate::loader::{probe, LoadOutcome};
use crate::paths::SearchDir;

/// Top-level words the host itself owns.
pub const BUILTIN_TOP_COMMANDS: &[&str] = &["plugins", "config", "completions", "help"];
/// Words under `mosaic config` the host itself owns.
pub const BUILTIN_CONFIG_COMMANDS: &[&str] = &["show", "path", "get", "set", "unset", "help"];

/// The state of one plugin file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Loaded (or cached as loadable) and all its commands mounted.
    Ok,
    /// Loadable, but some or all of its commands (or its name) are taken first.
    Shadowed,
    /// Built for another API or host version.
    Incompatible,
    /// Writable by others or owned by someone else; not loaded.
    Untrusted,
    /// Not a usable plugin.
    Broken,
}

impl Status {
    /// The word shown in `plugins list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Shadowed => "shadowed",
            Status::Incompatible => "incompatible",
            Status::Untrusted => "untrusted",
            Status::Broken => "broken",
        }
    }
}

/// One plugin file and what the host made of it.
#[derive(Debug, Clone, Serialize)]
pub struct PluginRecord {
    /// The plugin's name (from its manifest, else from the file name).
    pub name: String,
    /// The library file.
    pub path: PathBuf,
    /// Which search directory it is in.
    pub origin: &'static str,
    /// Its status.
    pub status: Status,
    /// The API version it was built against, when known.
    pub api_version: Option<String>,
    /// Its manifest, when it could be read.
    #[serde(skip)]
    pub manifest: Option<Manifest>,
    /// The commands mounted from it, as typed (`config hooks`).
    pub commands: Vec<String>,
    /// Commands not mounted and why.
    pub shadowed: Vec<String>,
    /// One line on what is wrong, with the fix.
    pub problem: Option<String>,
    /// The full explanation for `plugins doctor`.
    #[serde(skip)]
    pub detail: Option<String>,
}

impl PluginRecord {
    /// The plugin's version, when known.
    pub fn version(&self) -> Option<&str> {
        self.manifest
            .as_ref()
            .map(|manifest| manifest.version.as_str())
    }
}

/// All plugins of this run.
pub struct Registry {
    /// The search directories, in order, as found.
    pub dirs: Vec<DirReport>,
    /// Every plugin file, in search order.
    pub plugins: Vec<PluginRecord>,
    owners: HashMap<(Mount, String), (usize, usize)>,
}

/// The words typed before and including a top-level command.
pub fn command_words(mount: Mount, name: &str) -> String {
    mount
        .prefix()
        .iter()
        .copied()
        .chain(std::iter::once(name))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Registry {
    /// Discovers plugins on `search`, using and refreshing `cache`.
    pub fn build(search: &[SearchDir], cache: &mut ManifestCache) -> Registry {
        let (dirs, candidates) = discover(search);
        let present: Vec<PathBuf> = candidates
            .iter()
            .map(|candidate| candidate.path.clone())
            .collect();
        let searched: Vec<PathBuf> = search.iter().map(|dir| dir.path.clone()).collect();
        cache.retain_only(&present, &searched);
        let plugins = candidates
            .iter()
            .map(|candidate| record_for(candidate, cache))
            .collect();
        let mut registry = Registry {
            dirs,
            plugins,
            owners: HashMap::new(),
        };
        registry.assign_commands();
        registry
    }

    fn assign_commands(&mut self) {
        let mut names: HashMap<String, PathBuf> = HashMap::new();
        for index in 0..self.plugins.len() {
            let record = &mut self.plugins[index];
            let Some(manifest) = record.manifest.clone() else {
                continue;
            };
            if record.status != Status::Ok {
                continue;
            }
            if let Some(first) = names.get(&manifest.name) {
                record.status = Status::Shadowed;
                record.problem = Some(format!(
                    "another plugin named `{}` comes first in the search path: {}",
                    manifest.name,
                    first.display()
                ));
                record.shadowed = manifest
                    .commands
                    .iter()
                    .map(|command| command_words(command.mount, &command.name))
                    .collect();
                continue;
            }
            names.insert(manifest.name.clone(), record.path.clone());
            let mut shadow_reasons = Vec::new();
            for (command_index, command) in manifest.commands.iter().enumerate() {
                let words = command_words(command.mount, &command.name);
                let claims: Vec<&str> = std::iter::once(command.name.as_str())
                    .chain(command.aliases.iter().map(String::as_str))
                    .collect();
                let builtin = match command.mount {
                    Mount::Top => BUILTIN_TOP_COMMANDS,
                    Mount::Config => BUILTIN_CONFIG_COMMANDS,
                };
                let conflict = claims.iter().find_map(|claim| {
                    if builtin.contains(claim) {
                        Some(format!(
                            "`{}` is a built-in command",
                            command_words(command.mount, claim)
                        ))
                    } else {
                        self.owners
                            .get(&(command.mount, claim.to_string()))
                            .map(|(owner, _)| {
                                format!(
                                    "`{}` is already provided by plugin `{}` ({})",
                                    command_words(command.mount, claim),
                                    self.plugins[*owner].name,
                                    self.plugins[*owner].path.display()
                                )
                            })
                    }
                });
                let record = &mut self.plugins[index];
                match conflict {
                    Some(reason) => {
                        record.shadowed.push(words);
                        shadow_reasons.push(reason);
                    }
                    None => {
                        record.commands.push(words);
                        for claim in claims {
                            self.owners
                                .insert((command.mount, claim.to_string()), (index, command_index));
                        }
                    }
                }
            }
            if !shadow_reasons.is_empty() {
                let record = &mut self.plugins[index];
                record.status = Status::Shadowed;
                record.problem = Some(format!(
                    "command not mounted: {}",
                    shadow_reasons.join("; ")
                ));
            }
        }
    }

    /// The plugin and command spec that own `mosaic [config] <name>`.
    pub fn owner(&self, mount: Mount, name: &str) -> Option<(&PluginRecord, &CommandSpec)> {
        let (plugin_index, command_index) = *self.owners.get(&(mount, name.to_string()))?;
        let record = &self.plugins[plugin_index];
        let command = &record.manifest.as_ref()?.commands[command_index];
        Some((record, command))
    }

    /// Every mounted command with its plugin, in search order.
    pub fn mounted(&self) -> Vec<(&PluginRecord, &CommandSpec)> {
        let mut mounted: Vec<(usize, usize)> = self
            .owners
            .iter()
            .filter(|((_, claim), (plugin, command))| {
                self.plugins[*plugin]
                    .manifest
                    .as_ref()
                    .is_some_and(|manifest| manifest.commands[*command].name == *claim)
            })
            .map(|(_, position)| *position)
            .collect();
        mounted.sort_unstable();
        mounted
            .into_iter()
            .filter_map(|(plugin, command)| {
                let record = &self.plugins[plugin];
                Some((record, &record.manifest.as_ref()?.commands[command]))
            })
            .collect()
    }

    /// Plugins with a problem worth a warning line.
    pub fn problems(&self) -> impl Iterator<Item = &PluginRecord> {
        self.plugins
            .iter()
            .filter(|record| record.problem.is_some())
    }

    /// Finds a plugin by name: the one in effect (first ok or shadowed), else any.
    pub fn find(&self, name: &str) -> Option<&PluginRecord> {
        self.plugins
            .iter()
            .find(|record| record.name == name && record.status == Status::Ok)
            .or_else(|| self.plugins.iter().find(|record| record.name == name))
    }
}

fn record_for(candidate: &Candidate, cache: &mut ManifestCache) -> PluginRecord {
    let mut record = PluginRecord {
        name: candidate.file_plugin_name.clone(),
        path: candidate.path.clone(),
        origin: candidate.origin,
        status: Status::Ok,
        api_version: None,
        manifest: None,
        commands: Vec::new(),
        shadowed: Vec::new(),
        problem: None,
        detail: None,
    };
    if let Some(reason) = &candidate.untrusted {
        record.status = Status::Untrusted;
        record.problem = Some(format!("not loaded: {reason}"));
        record.detail = Some(format!(
            "{} was not loaded because loading a library runs its code and {reason}.",
            candidate.path.display()
        ));
        return record;
    }
    let outcome = match cache.get(&candidate.path, &candidate.stamp) {
        Some(outcome) => outcome.clone(),
        None => {
            tracing::debug!("loading {} to read its manifest", candidate.path.display());
            let outcome = probe(&candidate.path);
            cache.insert(&candidate.path, candidate.stamp, outcome.clone());
            outcome
        }
    };
    match outcome {
        LoadOutcome::Loaded {
            api_version,
            manifest,
        } => {
            record.name = manifest.name.clone();
            record.api_version = Some(api_version);
            record.manifest = Some(*manifest);
        }
        LoadOutcome::Incompatible {
            api_version,
            reason,
            detail,
            manifest,
        } => {
            if let Some(manifest) = manifest {
                record.name = manifest.name.clone();
                record.manifest = Some(*manifest);
            }
            record.status = Status::Incompatible;
            record.api_version = api_version;
            record.problem = Some(reason);
            record.detail = Some(detail);
        }
        LoadOutcome::Broken { reason, detail } => {
            record.status = Status::Broken;
            record.problem = Some(reason);
            record.detail = Some(detail);
        }
    }
    record
}
