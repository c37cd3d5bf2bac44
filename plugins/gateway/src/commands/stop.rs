//! `mosaic gateway stop`: stop the daemon (SIGTERM, in-flight requests finish).

use std::io::Write;

use anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context, NoOptions};

use super::{needs_an_install, require_installation, stop_and_wait};

/// `mosaic gateway stop`.
pub struct Stop;

impl Command for Stop {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("stop", "Stop the gateway (in-flight requests finish first)")
            .long_about(
                "Stop the gateway through its service manager: SIGTERM, in-flight requests \
                 finish, storage is closed cleanly. Data and configuration are kept.",
            )
            .with_example(needs_an_install("gateway stop", "Stop the daemon"))
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        stop(context)
    }
}

/// Stops the installed gateway and waits until it has exited.
pub fn stop(context: &Context<'_>) -> Result<i32> {
    let installation = require_installation(context)?;
    match stop_and_wait(context, installation.manager, &installation.spec)? {
        Some(pid) => writeln!(context.out(), "gateway stopped (was pid {pid})")?,
        None => writeln!(context.out(), "gateway was not running")?,
    }
    Ok(0)
}
