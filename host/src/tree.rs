//! The one clap command tree: the host's built-ins plus every mounted plugin
//! command, so help, usage errors, suggestions and completions are uniform.
//!
//! Built-ins arrive as their declarations (`CommandSpec`s from the built-in table)
//! and become clap commands exactly like plugin commands do; plugin commands mounted
//! at [`Mount::Config`] join the built-in `config` group.

use clap::Command;
use mosaic_plugin_api::cli::{command_from_spec, global_args};
use mosaic_plugin_api::{CommandSpec, Mount, API_VERSION};

use crate::known_plugins::KNOWN_COMMANDS;
use crate::loader::{CommandSummary, HOST_VERSION};
use crate::registry::Registry;

const ABOUT: &str = "Run and manage AI coding agents on your own machines";

const LONG_ABOUT: &str = "Run and manage AI coding agents on your own machines.\n\n\
Every feature of mosaic is a plugin: a library in the plugin search path that adds \
commands to this tree. `mosaic plugins list` shows what is installed and where.";

/// How much of the plugins' command specs the tree needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail<'a> {
    /// Every command in full (completion scripts).
    Full,
    /// The words typed name `[config] <name>`: when a plugin provides it, the tree
    /// holds that command in full and no other plugin command; otherwise (help, a
    /// built-in, a typo) every plugin command as a name and one line of help, which
    /// is all `mosaic --help` and clap's suggestions use. Either way no other
    /// plugin's manifest is parsed, so start-up stays flat as plugins are added.
    Target(Option<(Mount, &'a str)>),
}

/// A plugin command as the tree shows it when it is not the one being run.
fn summary_command(summary: &CommandSummary) -> Command {
    Command::new(summary.name.clone())
        .about(summary.about.clone())
        .visible_aliases(summary.aliases.clone())
        .hide(summary.hidden)
}

/// Builds the command tree for this run from the built-ins' declarations and the
/// plugins of `registry`.
pub fn build(registry: &Registry, builtins: &[CommandSpec], detail: Detail<'_>) -> Command {
    let mut root = Command::new("mosaic")
        .version(format!("{HOST_VERSION} (plugin API {API_VERSION})"))
        .about(ABOUT)
        .long_about(LONG_ABOUT)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .args(global_args());
    let mut config_children = Vec::new();
    let mut add = |mount: Mount, command: Command| match mount {
        Mount::Top => root = std::mem::take(&mut root).subcommand(command),
        Mount::Config => config_children.push(command),
    };
    match detail {
        // Parsing a plugin command needs that command only: the others would cost
        // start-up time for every installed plugin and be thrown away.
        Detail::Target(Some((mount, word))) if registry.is_mounted(mount, word) => {
            if let Some((_, spec)) = registry.owner(mount, word) {
                add(mount, command_from_spec(spec));
            }
        }
        _ => {
            for (_, summary) in registry.mounted() {
                let full = (detail == Detail::Full)
                    .then(|| registry.owner(summary.mount, &summary.name))
                    .flatten();
                let command = match full {
                    Some((_, spec)) => command_from_spec(spec),
                    None => summary_command(summary),
                };
                add(summary.mount, command);
            }
        }
    }
    for spec in builtins {
        let mut command = command_from_spec(spec);
        if Mount::Config.prefix() == [spec.name.as_str()] {
            command = command.subcommands(std::mem::take(&mut config_children));
        }
        root = root.subcommand(command);
    }
    let missing = missing_first_party(registry);
    if !missing.is_empty() {
        root = root.after_help(format!(
            "Not installed: {} (install with `scripts/install.sh --plugins NAME` or \
             `mosaic plugins install FILE`).",
            missing.join(", ")
        ));
    }
    root
}

fn missing_first_party(registry: &Registry) -> Vec<String> {
    KNOWN_COMMANDS
        .iter()
        .filter(|(words, _)| {
            let (mount, name) = match words {
                [name] => (Mount::Top, *name),
                [_, name] => (Mount::Config, *name),
                _ => return false,
            };
            !registry.is_mounted(mount, name)
        })
        .map(|(words, plugin)| format!("`{}` ({plugin} plugin)", words.join(" ")))
        .collect()
}
