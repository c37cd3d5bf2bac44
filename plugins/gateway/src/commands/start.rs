//! `mosaic gateway start`: start the installed daemon and wait until it is healthy.

use std::io::Write;

use anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context, NoOptions};

use super::{needs_an_install, print_started, require_installation, start_and_wait};
use crate::pidfile::running_daemon;

/// `mosaic gateway start`.
pub struct Start;

impl Command for Start {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "start",
            "Start the installed gateway and wait until it is healthy",
        )
        .long_about(
            "Start the installed gateway with its service manager (systemd user unit, \
             launchd agent, or the built-in supervisor) and wait, with a spinner, until \
             GET /health answers. Does nothing if it is already running.",
        )
        .with_example(needs_an_install(
            "gateway start",
            "Start it and wait until it is healthy",
        ))
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        start(context)
    }
}

/// Starts the installed gateway unless it runs already.
pub fn start(context: &Context<'_>) -> Result<i32> {
    let installation = require_installation(context)?;
    if let Some(pid) = running_daemon(&installation.layout.pid_file()) {
        writeln!(context.out(), "gateway already running (pid {pid})")?;
        return Ok(0);
    }
    let health = start_and_wait(
        context,
        installation.manager,
        &installation.spec,
        &installation.settings,
    )?;
    print_started(context, &installation, &health, "started")?;
    Ok(0)
}
