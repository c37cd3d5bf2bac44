//! The plugins of this run and who owns which command.
//!
//! Built from the discovered files and the manifest cache (loading only files the
//! cache does not know). Every file ends up with one status — ok, overrides,
//! shadowed, incompatible, untrusted or broken — and every mounted command with one
//! owner. Which words the built-ins claim is handed in ([`BuiltinNames`]), derived
//! by the caller from the built-in command table, so the built-ins are listed in one
//! place.
//!
//! Who wins a command two parties declare, the rule a user can predict: built-ins
//! always win; between plugins, the first on the search path wins (`--plugin-dir`,
//! `MOSAIC_PLUGIN_PATH`, the user dir, the prefix, the binary's dir; by file name
//! within a directory). The plugin that wins a command another plugin declares
//! *takes* it: it is the one reported (status `overrides`, one warning line per
//! run naming both plugins), and the other is `shadowed`, pointing at the taker.
//! A command lost to a built-in is shown by `plugins list` and `plugins doctor`
//! only: `plugins install` said so once, and the built-in runs as always.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use mosaic_plugin_api::{CommandSpec, Manifest, Mount};
use serde::Serialize;

use crate::cache::{ManifestCache, ManifestJson};
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
    /// Loaded and all its commands mounted, one or more of them taken from a plugin
    /// later on the search path that declares it too.
    Overrides,
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
            Status::Overrides => "overrides",
            Status::Shadowed => "shadowed",
            Status::Incompatible => "incompatible",
            Status::Untrusted => "untrusted",
            Status::Broken => "broken",
        }
    }

    /// Whether the plugin is loaded and runs at least the commands it won.
    pub fn is_loaded(self) -> bool {
        matches!(self, Status::Ok | Status::Overrides | Status::Shadowed)
    }
}

/// Who runs a command that a plugin declares but does not get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holder {
    /// A built-in command of the host, which always wins.
    BuiltIn,
    /// A plugin earlier on the search path.
    Plugin {
        /// Its name.
        name: String,
        /// Its library file.
        path: PathBuf,
    },
}

/// A command of a plugin that is not mounted, and who runs it instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowedCommand {
    /// The words typed (`fleet`, `config hooks`).
    pub command: String,
    /// Who has it.
    pub holder: Holder,
}

/// A command a plugin runs that a plugin later on the search path declares too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TakenCommand {
    /// The words typed (`fleet`, `config hooks`).
    pub command: String,
    /// The name of the plugin it is taken from.
    pub from: String,
    /// That plugin's library file.
    pub from_path: PathBuf,
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
    /// Commands not mounted.
    pub shadowed: Vec<String>,
    /// Who has each command it declares but does not get.
    pub shadowed_by: Vec<ShadowedCommand>,
    /// The commands it takes from plugins later on the search path.
    pub takes: Vec<TakenCommand>,
    /// One line on what is wrong, with the fix.
    pub problem: Option<String>,
    /// The full explanation for `plugins doctor`.
    #[serde(skip)]
    pub detail: Option<String>,
    /// What to do about the problem, for `plugins doctor`.
    #[serde(skip)]
    pub fix: Option<String>,
    /// The line every run prints on stderr about this file (after `warning: `), if
    /// any: not for a command lost to a built-in, nor for the plugin a command is
    /// taken from (the taker's line names it).
    #[serde(skip)]
    pub warning: Option<String>,
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
                    let problem = format!(
                        "another plugin named `{}` comes first in the search path: {first_path}",
                        summary.name
                    );
                    record.warning = Some(standard_warning(record, &problem));
                    record.problem = Some(problem);
                    record.fix = Some(format!(
                        "this copy is not used: remove it, or remove the copy that comes \
                         first ({first_path}) to use this one"
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
        for record in &mut self.plugins {
            describe_conflicts(record);
        }
    }

    /// Mounts the commands of plugin `index`, or records who has one it cannot get.
    fn mount_commands(&mut self, index: usize, summary: &PluginSummary) {
        for (command_index, command) in summary.commands.iter().enumerate() {
            let claims = std::iter::once(&command.name).chain(&command.aliases);
            // `Some(None)`: a built-in has it; `Some(Some(owner))`: an earlier plugin.
            let conflict = claims.clone().find_map(|claim| {
                if self.builtins.contains(command.mount, claim) {
                    return Some(None);
                }
                self.owners
                    .get(&(command.mount, claim.clone()))
                    .map(|owner| Some(*owner))
            });
            let words = command_words(command.mount, &command.name);
            let holder =
                match conflict {
                    None => {
                        self.plugins[index].commands.push(words);
                        for claim in claims {
                            self.owners
                                .insert((command.mount, claim.clone()), (index, command_index));
                        }
                        continue;
                    }
                    Some(None) => Holder::BuiltIn,
                    Some(Some((owner, owner_command))) => {
                        let from_path = self.plugins[index].path.clone();
                        let owner_record = &mut self.plugins[owner];
                        let taken_words = owner_record
                            .summary
                            .as_ref()
                            .and_then(|owner_summary| owner_summary.commands.get(owner_command))
                            .map_or_else(
                                || words.clone(),
                                |taken| command_words(taken.mount, &taken.name),
                            );
                        if !owner_record.takes.iter().any(|taken| {
                            taken.command == taken_words && taken.from_path == from_path
                        }) {
                            owner_record.takes.push(TakenCommand {
                                command: taken_words,
                                from: summary.name.clone(),
                                from_path,
                            });
                        }
                        Holder::Plugin {
                            name: owner_record.name.clone(),
                            path: owner_record.path.clone(),
                        }
                    }
                };
            let record = &mut self.plugins[index];
            record.shadowed.push(words.clone());
            record.shadowed_by.push(ShadowedCommand {
                command: words,
                holder,
            });
        }
    }

    /// The lines every run prints on stderr about plugin problems (each to follow
    /// `warning: `), in search order.
    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.plugins
            .iter()
            .filter_map(|record| record.warning.as_deref())
    }

    /// Who has `mosaic [config] <word>` if a new plugin declared it: a built-in, or
    /// the plugins that declare it (loaded ones, in search order, whether they got it
    /// or not).
    pub fn holders_of(&self, mount: Mount, word: &str) -> Vec<Holder> {
        if self.builtins.contains(mount, word) {
            return vec![Holder::BuiltIn];
        }
        self.plugins
            .iter()
            .filter(|record| record.status.is_loaded())
            .filter(|record| {
                record.summary.as_ref().is_some_and(|summary| {
                    summary.commands.iter().any(|command| {
                        command.mount == mount
                            && (command.name == word
                                || command.aliases.iter().any(|alias| alias == word))
                    })
                })
            })
            .map(|record| Holder::Plugin {
                name: record.name.clone(),
                path: record.path.clone(),
            })
            .collect()
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

    /// Finds a plugin by name: the one in effect (first with all its commands
    /// mounted), else any.
    pub fn find(&self, name: &str) -> Option<&PluginRecord> {
        self.plugins
            .iter()
            .find(|record| {
                record.name == name && matches!(record.status, Status::Ok | Status::Overrides)
            })
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
        shadowed_by: Vec::new(),
        takes: Vec::new(),
        problem: None,
        detail: None,
        fix: None,
        warning: None,
        verified_stamp: None,
    };
    if let Some(reason) = &candidate.untrusted {
        record.status = Status::Untrusted;
        let problem = format!("not loaded: {reason}");
        record.warning = Some(standard_warning(&record, &problem));
        record.problem = Some(problem);
        record.detail = Some(format!(
            "{} was not loaded because loading a library runs its code and {reason}.",
            candidate.path.display()
        ));
        record.fix = Some("fix the permissions as shown, or remove the file".to_string());
        return record;
    }
    let cached = match cache.take(&candidate.path, &candidate.stamp) {
        Some(cached) => {
            record.verified_stamp = Some(candidate.stamp);
            Ok(cached)
        }
        None => {
            tracing::debug!("loading {} to read its manifest", candidate.path.display());
            probe(&candidate.path)
                .map(|loaded| cache.insert(&candidate.path, candidate.stamp, loaded))
        }
    };
    match cached {
        Ok(cached) => {
            record.name = cached.summary.name.clone();
            record.api_version = Some(cached.api_version);
            record.summary = Some(*cached.summary);
            record.manifest_json = Some(cached.manifest);
        }
        Err(refusal) => {
            if let Some(summary) = refusal.summary {
                record.name = summary.name.clone();
                record.summary = Some(*summary);
            }
            record.status = match refusal.kind {
                RefusalKind::Incompatible => Status::Incompatible,
                RefusalKind::Broken => Status::Broken,
            };
            record.api_version = refusal.api_version;
            record.warning = Some(standard_warning(&record, &refusal.reason));
            record.problem = Some(refusal.reason);
            record.detail = Some(refusal.detail);
            record.fix = Some(refusal.fix);
        }
    }
    record
}

/// The run-time warning about a file that is not used as it is: its path, its
/// status and the problem.
fn standard_warning(record: &PluginRecord, problem: &str) -> String {
    format!(
        "plugin {} is {}: {problem} (see `mosaic plugins doctor`)",
        record.path.display(),
        record.status.as_str()
    )
}

/// `takes `fleet` from plugin `fleet` (path)`, for each command taken.
fn takes_text(takes: &[TakenCommand]) -> String {
    takes
        .iter()
        .map(|taken| {
            format!(
                "takes `{}` from plugin `{}` ({})",
                taken.command,
                taken.from,
                taken.from_path.display()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Sets the status, problem, fix and warning of a loaded plugin from the commands it
/// lost and took (a plugin shadowed by another of its name is described already).
fn describe_conflicts(record: &mut PluginRecord) {
    if record.status != Status::Ok || (record.shadowed_by.is_empty() && record.takes.is_empty()) {
        return;
    }
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let mut lost_to_builtins = Vec::new();
    for shadowed in &record.shadowed_by {
        match &shadowed.holder {
            Holder::BuiltIn => lost_to_builtins.push(format!("`{}`", shadowed.command)),
            Holder::Plugin { name, path } => {
                problems.push(format!(
                    "`{}` is taken by plugin `{name}` ({}), which comes first in the search path",
                    shadowed.command,
                    path.display()
                ));
                fixes.push(format!(
                    "to run this plugin's `{}`, remove plugin `{name}` ({}; `mosaic plugins \
                     remove {name}` if it was installed with `mosaic plugins install`)",
                    shadowed.command,
                    path.display()
                ));
            }
        }
    }
    if !lost_to_builtins.is_empty() {
        let list = lost_to_builtins.join(", ");
        problems.extend(
            lost_to_builtins
                .iter()
                .map(|command| format!("{command} is a built-in command")),
        );
        let (verb, pronoun) = if lost_to_builtins.len() == 1 {
            ("runs", "it")
        } else {
            ("run", "them")
        };
        fixes.push(format!(
            "built-ins always win, so the plugin's {list} never {verb}; nothing else is \
             affected (to run {pronoun}, the plugin's author must rename {pronoun})"
        ));
    }
    if record.takes.is_empty() {
        record.status = Status::Shadowed;
        record.problem = Some(format!("command not mounted: {}", problems.join("; ")));
    } else {
        let takes = takes_text(&record.takes);
        record.warning = Some(format!(
            "plugin `{}` ({}) {takes} (see `mosaic plugins doctor`)",
            record.name,
            record.path.display()
        ));
        fixes.push(format!(
            "plugin `{}` comes first in the search path, so it runs these commands; if it \
             should not, remove it (`mosaic plugins remove {}` if it was installed with \
             `mosaic plugins install`, else delete {})",
            record.name,
            record.name,
            record.path.display()
        ));
        if problems.is_empty() {
            record.status = Status::Overrides;
            record.problem = Some(takes);
        } else {
            record.status = Status::Shadowed;
            record.problem = Some(format!(
                "{takes}; command not mounted: {}",
                problems.join("; ")
            ));
        }
    }
    record.fix = Some(fixes.join("; "));
}
