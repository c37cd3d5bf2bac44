//! `mosaic config hooks enable <EVENT>...|--all`: put disabled hooks back into
//! `settings.json`, where they were.

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context};

use super::switch::{self, SwitchArgs};

/// `mosaic config hooks enable`.
pub struct Enable;

impl Command for Enable {
    type Options = SwitchArgs;

    fn spec() -> CommandSpec {
        switch::switch_spec(
            "enable",
            "Re-enable disabled hooks",
            "Re-enable Mosaic's hooks on the given Claude Code events: mark them enabled in \
             hooks-config.json and put their entries back into settings.json exactly where they \
             were. An event name Claude Code does not know is a usage error; an event Mosaic has \
             no hook on is an error.",
            "Enable",
        )
    }

    fn run(context: &Context<'_>, args: SwitchArgs) -> Result<i32> {
        switch::run(context, args, true)
    }
}
