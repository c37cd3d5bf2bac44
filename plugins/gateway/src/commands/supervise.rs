//! `mosaic gateway supervise`: the built-in supervisor (what `gateway start` runs
//! where there is no systemd or launchd). The work is in
//! [`crate::service::supervision`].

use std::path::PathBuf;

use anyhow::Result;
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context};
use serde::Deserialize;

use super::service_spec;
use crate::layout::Layout;
use crate::service::supervision::{supervise, CrashPolicy};

/// `mosaic gateway supervise`.
pub struct Supervise;

/// What the command was asked.
#[derive(Debug, Clone, Deserialize)]
pub struct SuperviseOptions {
    /// `--data-dir`: passed on to `gateway run`.
    pub data_dir: Option<PathBuf>,
}

impl Command for Supervise {
    type Options = SuperviseOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "supervise",
            "Run the gateway daemon and restart it when it crashes (the built-in supervisor)",
        )
        .long_about(
            "What `mosaic gateway start` runs in the background where there is no systemd \
             or launchd: runs `mosaic gateway run` and restarts it when it crashes (non-zero \
             exit or a signal), after a short pause that doubles with each crash. After 5 \
             crashes within 60 s it gives up and exits 1; `mosaic gateway status` then says \
             so. A daemon that exits with code 0 is not restarted. SIGTERM or SIGINT is \
             passed to the daemon, which finishes its requests; then it exits 0. Its pid, \
             the restarts and the daemon's last exit are in `<run dir>/gateway/supervisor.json`; \
             its lines go to the gateway's log. Use `mosaic gateway start` and `stop` rather \
             than running it yourself.",
        )
        .arg(
            ArgSpec::option(
                "data_dir",
                "Directory of the database and log (default: <mosaic data dir>/gateway)",
            )
            .value_name("DIR"),
        )
    }

    fn run(context: &Context<'_>, options: SuperviseOptions) -> Result<i32> {
        let layout = Layout::from_context(context, options.data_dir);
        supervise(&service_spec(context, layout)?, CrashPolicy::default())
    }
}
