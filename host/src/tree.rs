//! The one clap command tree: the host's built-ins plus every mounted plugin
//! command, so help, usage errors, suggestions and completions are uniform.

use clap::{Arg, ArgAction, Command};
use mosaic_plugin_api::cli::command_from_spec;
use mosaic_plugin_api::{Mount, API_VERSION};

use crate::builtins;
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

/// Checks that a plugin's commands make a valid clap tree under `mosaic` with the
/// global flags: no `-v`, `--json`, … of its own, no repeated short or long names,
/// no default outside its possible values. clap reports these as panics (its
/// "debug asserts"), so they are caught here, once, when the manifest is read — a
/// plugin with such a spec is refused instead of crashing every later run.
pub fn check_plugin_commands(manifest: &mosaic_plugin_api::Manifest) -> Result<(), String> {
    for spec in &manifest.commands {
        let command = command_from_spec(spec);
        let mut root = Command::new("mosaic").args(global_args());
        root = match spec.mount {
            Mount::Top => root.subcommand(command),
            Mount::Config => root.subcommand(Command::new("config").subcommand(command)),
        };
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| root.debug_assert()));
        std::panic::set_hook(previous_hook);
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "invalid command definition".to_string());
            return Err(format!("command `{}`: {}", spec.name, message.trim()));
        }
    }
    Ok(())
}

/// Builds the command tree for this run.
pub fn build(registry: &Registry, detail: Detail<'_>) -> Command {
    let mut root = Command::new("mosaic")
        .version(format!("{HOST_VERSION} (plugin API {API_VERSION})"))
        .about(ABOUT)
        .long_about(LONG_ABOUT)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .args(global_args());
    let mut config_group = builtins::config::command();
    let mut add = |mount: Mount, command: Command| match mount {
        Mount::Top => root = std::mem::take(&mut root).subcommand(command),
        Mount::Config => config_group = std::mem::take(&mut config_group).subcommand(command),
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
    root = root
        .subcommand(config_group)
        .subcommand(builtins::plugins::command())
        .subcommand(builtins::completions::command());
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

/// The flags every command accepts (`-v`, `-q`, `--json`, …).
pub fn global_args() -> Vec<Arg> {
    vec![
        Arg::new("verbose")
            .short('v')
            .long("verbose")
            .action(ArgAction::Count)
            .global(true)
            .help("More output on stderr (-vv for debug); MOSAIC_LOG=debug also works"),
        Arg::new("quiet")
            .short('q')
            .long("quiet")
            .action(ArgAction::SetTrue)
            .global(true)
            .conflicts_with("verbose")
            .help("Only errors on stderr"),
        Arg::new("json")
            .long("json")
            .action(ArgAction::SetTrue)
            .global(true)
            .help("Print one JSON document on stdout (list and status commands)"),
        Arg::new("no_color")
            .long("no-color")
            .action(ArgAction::SetTrue)
            .global(true)
            .help("No colour (also NO_COLOR=1)"),
        Arg::new("plugin_dir")
            .long("plugin-dir")
            .value_name("DIR")
            .action(ArgAction::Append)
            .global(true)
            .help("Search DIR for plugins first (repeatable)"),
    ]
}
