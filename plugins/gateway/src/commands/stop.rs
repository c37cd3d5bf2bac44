//! `mosaic gateway stop`: stop the daemon (SIGTERM, in-flight requests finish).

use std::io::Write;

use anyhow::Result;
use mosaic_plugin_api::{CommandSpec, Context, Invocation};

use super::require_installation;
use crate::service;

/// The command's declaration.
pub fn spec() -> CommandSpec {
    CommandSpec::new("stop", "Stop the gateway (in-flight requests finish first)")
        .long_about(
            "Stop the gateway through its service manager: SIGTERM, in-flight requests \
             finish, storage is closed cleanly. Data and configuration are kept.",
        )
        .example("gateway stop", "Stop the daemon")
}

/// Runs the command.
pub fn run(context: &Context<'_>, _invocation: &Invocation) -> Result<i32> {
    let installation = require_installation(context)?;
    match service::stop(installation.manager, &installation.spec)? {
        Some(pid) => writeln!(context.out(), "gateway stopped (was pid {pid})")?,
        None => writeln!(context.out(), "gateway was not running")?,
    }
    Ok(0)
}
