//! `mosaic gateway run`: the daemon in the foreground (what the service runs).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use mosaic_plugin_api::sdk::{config, term};
use mosaic_plugin_api::{ArgSpec, CommandSpec, Context, Invocation};

use crate::daemon;
use crate::layout::Layout;
use crate::settings::Settings;

/// The command's declaration.
pub fn spec() -> CommandSpec {
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

/// Runs the command.
pub fn run(context: &Context<'_>, invocation: &Invocation) -> Result<i32> {
    let layout = Layout::from_context(context, invocation.value("data_dir").map(PathBuf::from));
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
        context.color() && term::stderr_is_tty(),
    )
}
