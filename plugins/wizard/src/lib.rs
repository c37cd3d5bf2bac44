//! `mosaic wizard`: first-run setup. It checks the machine, asks (or, headless, reads
//! from the environment) what to set up — Claude Code hooks, the gateway, fleet
//! defaults — and applies each step by running the other plugins' commands through
//! the host's `invoke`, with the collected values passed as environment overrides of
//! that one invocation (never the process environment, never argv).
//!
//! The wizard owns no feature itself: a component whose plugin is not installed is
//! skipped and reported, and the wizard finishes what it can.

mod apply;
mod commands;
mod components;
mod environment;
mod interrupt;
mod plan;
mod prompts;
mod record;

use mosaic_plugin_api::{Commands, ConfigKeySpec, Manifest, Plugin};

/// The wizard plugin.
#[derive(Default)]
pub struct Wizard;

impl Plugin for Wizard {
    fn manifest(&self) -> Manifest {
        Manifest::new("wizard", env!("CARGO_PKG_VERSION"))
            .description("First-run setup: Claude hooks, the gateway, fleet defaults")
            .host_requirement(">=0.2.0, <0.3.0")
            .config_key(ConfigKeySpec::new(
                "wizard.completed_at",
                "When `mosaic wizard` last finished (UTC)",
            ))
            .config_key(ConfigKeySpec::new(
                "wizard.version",
                "The wizard version that last finished",
            ))
            .config_key(ConfigKeySpec::new(
                "wizard.components",
                "The components the last wizard run set up",
            ))
    }

    fn commands(&self) -> Commands {
        Commands::new().command::<commands::wizard::WizardCommand>()
    }
}

mosaic_plugin_api::export_plugin!(Wizard);
