//! One module per command of `mosaic config hooks`: each declares its command
//! (`spec`), turns the invocation into an options struct, and calls one plain
//! function that the tests call directly (`run` only does the printing).

pub mod disable;
pub mod enable;
pub mod hooks;
pub mod install;
pub mod list;
pub mod run;
pub mod switch;
pub mod uninstall;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::Context;

use crate::paths::ClaudePaths;

/// Claude Code's files, from `CLAUDE_HOME`/`HOME` as this run sees them.
pub fn claude_paths(context: &Context<'_>) -> Result<ClaudePaths> {
    ClaudePaths::from_env(|key| context.env(key))
}
