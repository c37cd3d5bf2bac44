//! `mosaic config hooks`: Mosaic's Claude Code hooks, as a plugin.
//!
//! Claude Code runs the hooks listed in `$CLAUDE_HOME/settings.json`. This plugin
//! keeps Mosaic's record of its hooks in `$CLAUDE_HOME/hooks-config.json` and
//! mirrors the enabled ones into `settings.json` without touching anything else
//! there; it installs, lists (with drift), enables, disables and uninstalls them.
//! The hooks themselves are hidden subcommands (`mosaic config hooks run <hook>`)
//! that speak Claude Code's hook protocol: a Bash guard with a configurable
//! deny-list, and an activity recorder for `mosaic fleet ps` plus an audit log.
//!
//! Reading order: [`paths`] and [`hook_command`] (where things are, what Claude
//! Code runs), [`hooks_config`] and [`settings`] (the two files), [`merge`] (the
//! mirroring, pure), [`store`] (both files under one lock), then [`commands`]; the
//! hook runtime is [`protocol`], [`guard`], [`activity`] and [`audit`].

pub mod activity;
pub mod audit;
pub mod commands;
pub mod events;
pub mod guard;
pub mod hook_command;
pub mod hooks_config;
pub mod merge;
pub mod paths;
pub mod protocol;
pub mod settings;
pub mod store;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{ConfigKeySpec, Context, Invocation, Manifest, Plugin};
use serde_json::json;

/// The plugin. The SDK creates one per call with `Default`.
#[derive(Default)]
pub struct Hooks;

impl Plugin for Hooks {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "hooks".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "Mosaic's Claude Code hooks: Bash guard, agent activity, audit log"
                .to_string(),
            host_requirement: ">=0.1.0, <0.2.0".to_string(),
            commands: vec![commands::hooks::spec()],
            config: config_keys(),
        }
    }

    fn run(&self, context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
        let words: Vec<&str> = invocation.command.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["hooks", "install"] => commands::install::run(context, invocation),
            ["hooks", "list"] => commands::list::run(context, invocation),
            ["hooks", "enable"] => commands::enable::run(context, invocation),
            ["hooks", "disable"] => commands::disable::run(context, invocation),
            ["hooks", "uninstall"] => commands::uninstall::run(context, invocation),
            ["hooks", "run"] => commands::run::run(context, invocation),
            other => bail!("unknown command `config {}`", other.join(" ")),
        }
    }
}

/// The `config.json` keys of the Bash guard.
fn config_keys() -> Vec<ConfigKeySpec> {
    vec![
        ConfigKeySpec {
            key: "hooks.bash_guard.disabled_rules".to_string(),
            description: "Built-in Bash guard rules to turn off (delete-root-or-home, \
                          force-push-protected-branch, download-into-shell, \
                          overwrite-disk-device)"
                .to_string(),
            default: Some(json!([])),
            env: None,
            secret: false,
        },
        ConfigKeySpec {
            key: "hooks.bash_guard.extra_rules".to_string(),
            description: "More commands to block: [{\"pattern\": \"<regex>\", \"reason\": \
                          \"<shown to Claude>\"}]"
                .to_string(),
            default: Some(json!([])),
            env: None,
            secret: false,
        },
        ConfigKeySpec {
            key: "hooks.bash_guard.protected_branches".to_string(),
            description: "Branches that must not be force-pushed or deleted (`prefix*` globs)"
                .to_string(),
            default: Some(json!(guard::DEFAULT_PROTECTED_BRANCHES)),
            env: None,
            secret: false,
        },
    ]
}

mosaic_plugin_api::export_plugin!(Hooks);
