//! `mosaic gateway restart`: stop, then start and wait until healthy (settings
//! changed with `mosaic config set gateway.…` take effect).

use anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context, NoOptions};

use super::{needs_an_install, print_started, require_installation, start_and_wait, stop_and_wait};

/// `mosaic gateway restart`.
pub struct Restart;

impl Command for Restart {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "restart",
            "Restart the gateway and wait until it is healthy",
        )
        .long_about(
            "Stop and start the gateway, e.g. after `mosaic config set gateway.…`, and \
             wait until GET /health answers.",
        )
        .with_example(needs_an_install(
            "gateway restart",
            "Apply changed settings",
        ))
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        restart(context)
    }
}

/// Stops the installed gateway, starts it again and waits until it is healthy.
pub fn restart(context: &Context<'_>) -> Result<i32> {
    let installation = require_installation(context)?;
    stop_and_wait(context, installation.manager, &installation.spec)?;
    let health = start_and_wait(
        context,
        installation.manager,
        &installation.spec,
        &installation.settings,
    )?;
    print_started(context, &installation, &health, "restarted")?;
    Ok(0)
}
