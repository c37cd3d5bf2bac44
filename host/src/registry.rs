//! The plugins of this run and who owns which command.
//!
//! Built from the discovered files and the manifest cache (loading only files the
//! cache does not know). Every file ends up with one status — ok, shadowed,
//! incompatible, untrusted or broken — and every mounted command with one owner.
//! Conflicts are settled by search order: a command claimed by a built-in or by an
//! earlier plugin is not mounted, and its plugin is reported as shadowed. Which
//! words the built-ins claim is handed in ([`BuiltinNames`]), derived by the caller
//! from the built-in command table, so the built-ins are listed in one place.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use mosaic_plugin_api::{CommandSpec, Manifest, Mount};
use serde::Serialize;

use crate::cache::{CachedOutcome, ManifestCache, ManifestJson};
use crate::discovery::{discover, Candidate, DirReport, FileStamp};
use crate::loader::{probe, CommandSummary, PluginSummary, RefusalKind};
use crate::paths::SearchDir;

/// The subcommand clap adds at every level of the tree (`mosaic help`, `mosaic
/// config help`): no plugin may claim it either.
const CLAP_SUBCOMMAND: &str = "help";

/// The words the host's own commands claim, at each mount point.
#[derive(Debug, Clone, Default)]
pub struct BuiltinNames {
    claimed: Vec<(Mount, String)>,
}

impl BuiltinNames {
    /// Built-in names (and aliases) at `mount`; `help` is always claimed.
    pub fn new(claimed: impl IntoIterator<Item = (Mount, String)>) -> BuiltinNames {
        BuiltinNames {
            claimed: claimed.into_iter().collect(),
        }
    }

    /// Whether `mosaic [config] <word>` is the host's own.
    pub fn contains(&self, mount: Mount, word: &str) -> bool {
        word == CLAP_SUBCOMMAND
            || self
                .claimed
                .iter()
                .any(|(claimed_mount, name)| *claimed_mount == mount && name == word)
    }
}

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
    /// The summary of its manifest, when it could be read.
    #[serde(skip)]
    pub summary: Option<PluginSummary>,
    /// Where its whole manifest is, parsed on first use by [`PluginRecord::manifest`].
    #[serde(skip)]
    pub manifest_json: Option<ManifestJson>,
    #[serde(skip)]
    parsed_manifest: OnceLock<Option<Manifest>>,
    /// The commands mounted from it, as typed (`config hooks`).
    pub commands: Vec<String>,
    /// Commands not mounted and why.
    pub shadowed: Vec<String>,
    /// One line on what is wrong, with the fix.
    pub problem: Option<String>,
    /// The full explanation for `plugins doctor`.
    #[serde(skip)]
    pub detail: Option<String>,
    /// The file's stamp when its outcome came from the cache: an earlier run loaded
    /// and checked this exact file.
    #[serde(skip)]
    pub verified_stamp: Option<FileStamp>,
}

impl PluginRecord {
    /// The plugin's version, when known.
    pub fn version(&self) -> Option<&str> {
        self.summary
            .as_ref()
            .map(|summary| summary.version.as_str())
    }

    /// The whole manifest (parsed now, once): only what runs a plugin command, or
    /// reports on every key or command, needs it.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.parsed_manifest
            .get_or_init(|| {
                let cached = self.manifest_json.as_ref()?.read().ok();
                let text = match cached {
                    Some(text) => text,
                    // The cache file went missing: ask the library again.
                    None => probe(&self.path).ok()?.manifest_json,
                };
                serde_json::from_str(&text)
                    .map_err(|error| {
                        tracing::warn!(
                            "the manifest of {} is unreadable: {error}",
                            self.path.display()
                        )
                    })
                    .ok()
            })
            .as_ref()
    }
}

/// All plugins of this run.
pub struct Registry {
    builtins: BuiltinNames,
    /// The search directories, in order, as found.
    pub dirs: Vec<DirReport>,
    /// Every plugin file, in search order.
    pub plugins: Vec<PluginRecord>,
    owners: HashMap<(Mount, String), (usize, usize)>,
}

/// The words typed before and including a top-level command.
pub fn command_words(mount: Mount, name: &str) -> String {
    match mount {
        Mount::Top => name.to_string(),
        Mount::Config => format!("config {name}"),
    }
}

impl Registry {
    /// Discovers plugins on `search`, using and refreshing `cache`; `builtins` are
    /// the words no plugin may claim.
    pub fn build(
        search: &[SearchDir],
        cache: &mut ManifestCache,
        builtins: BuiltinNames,
    ) -> Registry {
        let (dirs, candidates) = discover(search);
        let plugins = candidates
            .into_iter()
            .map(|candidate| record_for(candidate, cache))
            .collect();
        let mut registry = Registry {
            builtins,
            dirs,
            plugins,
            owners: HashMap::new(),
        };
        registry.assign_commands();
        registry
    }

    fn assign_commands(&mut self) {
        // Index of the first working plugin of each name.
        let mut first_of_name: HashMap<String, usize> = HashMap::new();
        for index in 0..self.plugins.len() {
            if self.plugins[index].status != Status::Ok {
                continue;
            }
            // Taken out for the loop (and put back) so the other records can be read.
            let Some(summary) = self.plugins[index].summary.take() else {
                continue;
            };
            match first_of_name.get(&summary.name) {
                Some(&first) => {
                    let first_path = self.plugins[first].path.display().to_string();
                    let record = &mut self.plugins[index];
                    record.status = Status::Shadowed;
                    record.problem = Some(format!(
                        "another plugin named `{}` comes first in the search path: {first_path}",
                        summary.name
                    ));
                    record.shadowed = summary
                        .commands
                        .iter()
                        .map(|command| command_words(command.mount, &command.name))
                        .collect();
                }
                None => {
                    first_of_name.insert(summary.name.clone(), index);
                    self.mount_commands(index, &summary);
                }
            }
            self.plugins[index].summary = Some(summary);
        }
    }

    /// Mounts the commands of plugin `index`, or records why one is not mounted.
    fn mount_commands(&mut self, index: usize, summary: &PluginSummary) {
        let mut shadow_reasons = Vec::new();
        for (command_index, command) in summary.commands.iter().enumerate() {
            let claims = std::iter::once(&command.name).chain(&command.aliases);
            let conflict = claims.clone().find_map(|claim| {
                if self.builtins.contains(command.mount, claim) {
                    return Some(format!(
                        "`{}` is a built-in command",
                        command_words(command.mount, claim)
                    ));
                }
                let (owner, _) = self.owners.get(&(command.mount, claim.clone()))?;
                let owner = &self.plugins[*owner];
                Some(format!(
                    "`{}` is already provided by plugin `{}` ({})",
                    command_words(command.mount, claim),
                    owner.name,
                    owner.path.display()
                ))
            });
            let words = command_words(command.mount, &command.name);
            match conflict {
                Some(reason) => {
                    self.plugins[index].shadowed.push(words);
                    shadow_reasons.push(reason);
                }
                None => {
                    self.plugins[index].commands.push(words);
                    for claim in claims {
                        self.owners
                            .insert((command.mount, claim.clone()), (index, command_index));
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

    /// Whether a plugin provides `mosaic [config] <name>` (cheap: no manifest parsed).
    pub fn is_mounted(&self, mount: Mount, name: &str) -> bool {
        self.owners.contains_key(&(mount, name.to_string()))
    }

    /// The plugin and full command spec that own `mosaic [config] <name>`.
    pub fn owner(&self, mount: Mount, name: &str) -> Option<(&PluginRecord, &CommandSpec)> {
        let (plugin_index, command_index) = *self.owners.get(&(mount, name.to_string()))?;
        let record = &self.plugins[plugin_index];
        let command = record.manifest()?.commands.get(command_index)?;
        Some((record, command))
    }

    /// Every mounted command (its plugin and its summary), in search order.
    pub fn mounted(&self) -> Vec<(&PluginRecord, &CommandSummary)> {
        let mut mounted: Vec<(usize, usize)> = self
            .owners
            .iter()
            .filter(|((_, claim), (plugin, command))| {
                self.plugins[*plugin]
                    .summary
                    .as_ref()
                    .is_some_and(|summary| summary.commands[*command].name == *claim)
            })
            .map(|(_, position)| *position)
            .collect();
        mounted.sort_unstable();
        mounted
            .into_iter()
            .filter_map(|(plugin, command)| {
                let record = &self.plugins[plugin];
                Some((record, record.summary.as_ref()?.commands.get(command)?))
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

fn record_for(candidate: Candidate, cache: &mut ManifestCache) -> PluginRecord {
    let mut record = PluginRecord {
        name: candidate.file_plugin_name.clone(),
        path: candidate.path.clone(),
        origin: candidate.origin,
        status: Status::Ok,
        api_version: None,
        summary: None,
        manifest_json: None,
        parsed_manifest: OnceLock::new(),
        commands: Vec::new(),
        shadowed: Vec::new(),
        problem: None,
        detail: None,
        verified_stamp: None,
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
    let outcome = match cache.take(&candidate.path, &candidate.stamp) {
        Some(outcome) => {
            record.verified_stamp = Some(candidate.stamp);
            outcome
        }
        None => {
            tracing::debug!("loading {} to read its manifest", candidate.path.display());
            cache.insert(&candidate.path, candidate.stamp, probe(&candidate.path))
        }
    };
    match outcome {
        CachedOutcome::Loaded {
            api_version,
            summary,
            manifest,
        } => {
            record.name = summary.name.clone();
            record.api_version = Some(api_version);
            record.summary = Some(*summary);
            record.manifest_json = Some(manifest);
        }
        CachedOutcome::Refused(refusal) => {
            if let Some(summary) = refusal.summary {
                record.name = summary.name.clone();
                record.summary = Some(*summary);
            }
            record.status = match refusal.kind {
                RefusalKind::Incompatible => Status::Incompatible,
                RefusalKind::Broken => Status::Broken,
            };
            record.api_version = refusal.api_version;
            record.problem = Some(refusal.reason);
            record.detail = Some(refusal.detail);
        }
    }
    record
}
