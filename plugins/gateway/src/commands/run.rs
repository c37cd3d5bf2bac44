//! `mosaic gateway run`: the daemon in the foreground (what the service runs).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::load_gateway_config;
use crate::daemon;
use crate::layout::Layout;
use crate::service::log_rotation::{max_bytes_from, MAX_BYTES_VARIABLE};
use crate::settings::Settings;

/// `mosaic gateway run`.
pub struct Run;

/// What the command was asked.
#[derive(Debug, Clone, Deserialize)]
pub struct RunOptions {
    /// `--data-dir`: where the database and log are, instead of the default.
    pub data_dir: Option<PathBuf>,
}

impl Command for Run {
    type Options = RunOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("run", "Run the gateway daemon in the foreground")
            .long_about(
                "Run the gateway daemon in the foreground until SIGTERM or SIGINT (Ctrl-C). \
                 This is what the installed service runs; use `mosaic gateway start` to run \
                 it in the background. Settings come from config.json only (see `mosaic \
                 gateway install`), never from the environment. When its stderr is the log \
                 file (as under every service manager) it rotates the log at 10 MiB \
                 (MOSAIC_GATEWAY_LOG_MAX_BYTES overrides it), keeping gateway.log.1 to .3.",
            )
            .arg(
                ArgSpec::option(
                    "data_dir",
                    "Directory of the database and log (default: <mosaic data dir>/gateway)",
                )
                .value_name("DIR"),
            )
    }

    fn run(context: &Context<'_>, options: RunOptions) -> Result<i32> {
        run_daemon(context, options)
    }
}

/// Runs the daemon in the foreground with the settings of config.json.
pub fn run_daemon(context: &Context<'_>, options: RunOptions) -> Result<i32> {
    let layout = Layout::from_context(context, options.data_dir);
    let file = load_gateway_config(&layout)?;
    let settings = Settings::from_file(&file).with_context(|| {
        format!(
            "invalid gateway settings in {}",
            layout.config_file().display()
        )
    })?;
    let log_max_bytes = max_bytes_from(context.env(MAX_BYTES_VARIABLE).as_deref());
    daemon::run(
        &layout,
        &settings,
        daemon::LogOptions {
            verbosity: context.verbosity(),
            ansi: context.color() && context.stderr_is_tty(),
            max_bytes: log_max_bytes,
        },
    )
}
