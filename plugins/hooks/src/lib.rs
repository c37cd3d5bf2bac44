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
//! hook runtime is [`protocol`], [`guard`], [`activity`] (with [`state_change`],
//! which runs `fleet.on_state_change`) and [`audit`].

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
pub mod state_change;
pub mod store;

use mosaic_plugin_api::{Commands, Manifest, Plugin};

use commands::audit::Audit;
use commands::disable::Disable;
use commands::enable::Enable;
use commands::install::Install;
use commands::list::List;
use commands::run::Run;
use commands::state_change::StateChange;
use commands::uninstall::Uninstall;

/// The plugin. The SDK creates one per call with `Default`.
#[derive(Default)]
pub struct Hooks;

impl Plugin for Hooks {
    fn manifest(&self) -> Manifest {
        let manifest = Manifest::new("hooks", env!("CARGO_PKG_VERSION"))
            .description("Mosaic's Claude Code hooks: Bash guard, agent activity, audit log")
            .host_requirement(">=0.2.0, <0.3.0");
        guard::settings::config_keys()
            .into_iter()
            .fold(manifest, Manifest::config_key)
    }

    fn commands(&self) -> Commands {
        Commands::new().group(
            commands::hooks::spec(),
            Commands::new()
                .command::<Install>()
                .command::<List>()
                .command::<Enable>()
                .command::<Disable>()
                .command::<Uninstall>()
                .command::<Audit>()
                .command::<Run>()
                .command::<StateChange>(),
        )
    }
}

mosaic_plugin_api::export_plugin!(Hooks);
