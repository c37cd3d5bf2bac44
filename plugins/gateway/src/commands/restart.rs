//! `mosaic gateway restart`: stop, then start and wait until healthy (settings
//! changed with `mosaic config set gateway.…` take effect).

use anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context, NoOptions};

use super::{
    lock_lifecycle, needs_an_install, print_started, require_installation, start_locked,
    stop_locked, StartOutcome,
};

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
             wait until GET /health answers. No other start or stop runs in between. \
             Exits 1 when it does not become healthy.",
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
    let lock = lock_lifecycle(context, &installation.layout)?;
    stop_locked(context, &lock, installation.manager, &installation.spec)?;
    let outcome = start_locked(
        context,
        &lock,
        installation.manager,
        &installation.spec,
        &installation.settings,
    )?;
    let StartOutcome::Started(health) = outcome else {
        anyhow::bail!(
            "the gateway was still running after it was stopped; stop it with \
             `mosaic gateway stop` and start it with `mosaic gateway start`"
        );
    };
    print_started(context, &installation, &health, "restarted")?;
    Ok(0)
}
