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

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{ConfigKeySpec, Context, Invocation, Manifest, Plugin};

/// The wizard plugin.
#[derive(Default)]
pub struct Wizard;

impl Plugin for Wizard {
    fn manifest(&self) -> Manifest {
        Manifest {
            name: "wizard".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            description: "First-run setup: Claude hooks, the gateway, fleet defaults".to_string(),
            host_requirement: ">=0.1.0, <0.2.0".to_string(),
            commands: vec![commands::wizard::spec()],
            config: vec![
                ConfigKeySpec {
                    key: "wizard.completed_at".to_string(),
                    description: "When `mosaic wizard` last finished (UTC)".to_string(),
                    ..ConfigKeySpec::default()
                },
                ConfigKeySpec {
                    key: "wizard.version".to_string(),
                    description: "The wizard version that last finished".to_string(),
                    ..ConfigKeySpec::default()
                },
                ConfigKeySpec {
                    key: "wizard.components".to_string(),
                    description: "The components the last wizard run set up".to_string(),
                    ..ConfigKeySpec::default()
                },
            ],
        }
    }

    fn run(&self, context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
        match invocation.command.as_slice() {
            [only] if only == "wizard" => commands::wizard::run(context, invocation),
            other => bail!("unknown command `{}`", other.join(" ")),
        }
    }
}

mosaic_plugin_api::export_plugin!(Wizard);
