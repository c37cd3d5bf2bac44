//! `mosaic gateway run`: the daemon in the foreground (what the service runs).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use crate::daemon;
use crate::layout::Layout;
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
                 gateway install`), never from the environment.",
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
    let file = config::load(&layout.config_dir)?;
    let settings = Settings::from_file(&file).with_context(|| {
        format!(
            "invalid gateway settings in {}",
            layout.config_file().display()
        )
    })?;
    daemon::run(
        &layout,
        &settings,
        context.verbosity(),
        context.color() && context.stderr_is_tty(),
    )
}
