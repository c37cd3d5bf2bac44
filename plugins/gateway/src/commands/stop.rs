//! `mosaic gateway stop`: stop the daemon (SIGTERM, in-flight requests finish) and
//! the built-in supervisor, even when config.json cannot be read.

use std::io::Write;

use anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context, Example, NoOptions};

use super::{load_installation, lock_lifecycle, stop_by_pid_files, stop_locked};
use crate::layout::Layout;
use crate::service::STOP_TIMEOUT;

/// `mosaic gateway stop`.
pub struct Stop;

impl Command for Stop {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("stop", "Stop the gateway (in-flight requests finish first)")
            .long_about(&format!(
                "Stop the gateway through its service manager: SIGTERM, in-flight requests \
                 finish, storage is closed cleanly; the built-in supervisor is stopped with \
                 it. What does not exit within {} s gets SIGKILL, and the message says so. \
                 Data and configuration are kept. Works from the pid files in the run \
                 directory when config.json cannot be read or has no gateway section (it \
                 says what it could not read). Exits 0 when nothing runs any more \
                 (stopped, or was not running), 1 when it could not stop it.",
                STOP_TIMEOUT.as_secs()
            ))
            .with_example(
                Example::new("gateway stop", "Stop the daemon and its supervisor")
                    .expect_stdout_contains("gateway was not running"),
            )
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        stop(context)
    }
}

/// Stops the gateway and waits until it has exited.
pub fn stop(context: &Context<'_>) -> Result<i32> {
    let layout = Layout::from_context(context, None);
    let lock = lock_lifecycle(context, &layout)?;
    let unreadable = match load_installation(context) {
        Ok(Some(installation)) => {
            let report = stop_locked(context, &lock, installation.manager, &installation.spec)?;
            writeln!(context.out(), "{}", report.describe())?;
            return Ok(0);
        }
        Ok(None) => None,
        Err(error) => Some(error),
    };
    if let Some(error) = &unreadable {
        writeln!(
            context.err(),
            "warning: cannot read the gateway's settings ({error:#}); stopping it by its pid \
             files in {}",
            layout.run_files_dir().display()
        )?;
    }
    let report = stop_by_pid_files(context, &lock, &layout)?;
    writeln!(context.out(), "{}", report.describe())?;
    if unreadable.is_none() && report.stopped_anything() {
        writeln!(
            context.err(),
            "note: it was running without an installation (config.json has no gateway \
             section); set it up again with `mosaic gateway install`"
        )?;
    }
    Ok(0)
}
