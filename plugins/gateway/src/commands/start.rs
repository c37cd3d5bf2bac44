//! `mosaic gateway start`: start the installed daemon and wait until it is healthy.

use std::io::Write;

use anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context, NoOptions};

use super::{
    lock_lifecycle, needs_an_install, print_started, require_installation, start_locked,
    StartOutcome,
};

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
             GET /health answers. Does nothing if it is already running (exit 0). \
             Two starts at once start one daemon: the second waits for the first and \
             then finds it running. Without systemd or launchd the built-in supervisor \
             (`mosaic gateway supervise`) runs it and restarts it when it crashes. Exits \
             1 when it does not become healthy, with the last lines of its log.",
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
    let lock = lock_lifecycle(context, &installation.layout)?;
    match start_locked(
        context,
        &lock,
        installation.manager,
        &installation.spec,
        &installation.settings,
    )? {
        StartOutcome::AlreadyRunning(pid, _) => {
            writeln!(context.out(), "gateway already running ({pid})")?;
        }
        StartOutcome::Started(health) => {
            print_started(context, &installation, &health, "started")?;
        }
    }
    Ok(0)
}
