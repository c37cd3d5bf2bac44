//! One module per command of `mosaic config hooks`: each is a type implementing
//! [`mosaic_plugin_api::Command`] — its declaration (`spec`), its typed options, and
//! a `run` that calls one plain function the tests call directly and prints the
//! result. The group itself is [`hooks`]; the table in [`crate::Hooks`] lists them.

pub mod audit;
pub mod disable;
pub mod enable;
pub mod hooks;
pub mod install;
pub mod list;
pub mod run;
pub mod state_change;
pub mod switch;
pub mod uninstall;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::Context;

use crate::paths::ClaudePaths;

/// Claude Code's files, from `CLAUDE_HOME`/`CLAUDE_CONFIG_DIR`/`HOME` as this run sees them.
pub fn claude_paths(context: &Context<'_>) -> Result<ClaudePaths> {
    ClaudePaths::from_env(|key| context.env(key))
}
