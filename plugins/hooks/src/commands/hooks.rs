//! `mosaic config hooks`: the command group, mounted under the host's `config`. Its
//! subcommands come from the plugin's command table ([`crate::Hooks`]).

use mosaic_plugin_api::{CommandSpec, Mount};

/// The group's declaration.
pub fn spec() -> CommandSpec {
    CommandSpec::new("hooks", "Manage Mosaic's Claude Code hooks")
        .long_about(
            "Manage Mosaic's Claude Code hooks.\n\n\
             Claude Code runs the hooks listed in $CLAUDE_HOME/settings.json (CLAUDE_HOME \
             defaults to CLAUDE_CONFIG_DIR, Claude Code's own variable, else ~/.claude). Mosaic keeps its own record of its hooks in \
             $CLAUDE_HOME/hooks-config.json and mirrors the enabled ones into \
             settings.json, leaving every other hook and setting there as it is.\n\n\
             Mosaic's hooks guard Bash commands against a deny-list of destructive \
             commands (configured under hooks.bash_guard in config.json), and record what \
             each agent does for `mosaic fleet ps` plus an audit log in \
             <config dir>/hooks/audit.jsonl.",
        )
        .mount(Mount::Config)
        .example(
            "config hooks install",
            "Install Mosaic's hooks into Claude Code's settings",
        )
        .example(
            "config hooks list",
            "Show every hook and whether it is enabled",
        )
        .example(
            "config hooks disable PostToolUse",
            "Turn one event's hooks off (reversible)",
        )
}
