//! `mosaic config hooks disable <EVENT>...|--all`: take hooks out of
//! `settings.json`, reversibly.

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context};

use super::switch::{self, SwitchArgs};

/// `mosaic config hooks disable`.
pub struct Disable;

impl Command for Disable {
    type Options = SwitchArgs;

    fn spec() -> CommandSpec {
        switch::switch_spec(
            "disable",
            "Disable hooks (reversible)",
            "Disable Mosaic's hooks on the given Claude Code events: take their entries out of \
             settings.json (Claude Code stops running them) and mark them disabled in \
             hooks-config.json. `mosaic config hooks enable` puts them back exactly. An event \
             name Claude Code does not know is a usage error; an event Mosaic has no hook on is \
             an error.",
            "Disable",
        )
    }

    fn run(context: &Context<'_>, args: SwitchArgs) -> Result<i32> {
        switch::run(context, args, false)
    }
}
