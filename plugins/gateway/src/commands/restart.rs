//! `mosaic gateway restart`: stop, then start and wait until healthy (settings
//! changed with `mosaic config set gateway.…` take effect).

use anyhow::Result;
use mosaic_plugin_api::{CommandSpec, Context, Invocation};

use super::{print_started, require_installation, start_and_wait};
use crate::service;

/// The command's declaration.
pub fn spec() -> CommandSpec {
    CommandSpec::new(
        "restart",
        "Restart the gateway and wait until it is healthy",
    )
    .long_about(
        "Stop and start the gateway, e.g. after `mosaic config set gateway.…`, and \
             wait until GET /health answers.",
    )
    .example("gateway restart", "Apply changed settings")
}

/// Runs the command.
pub fn run(context: &Context<'_>, _invocation: &Invocation) -> Result<i32> {
    let installation = require_installation(context)?;
    service::stop(installation.manager, &installation.spec)?;
    let health = start_and_wait(
        installation.manager,
        &installation.spec,
        &installation.settings,
    )?;
    print_started(context, &installation, &health, "restarted")?;
    Ok(0)
}
