//! `mosaic hello dirs`: print the directories the host gave this plugin.

use std::io::Write;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::{CommandSpec, Context, Invocation};

/// The command's declaration.
pub fn spec() -> CommandSpec {
    CommandSpec::new("dirs", "Show the directories mosaic gives plugins")
        .example("hello dirs --json", "As JSON")
}

/// Runs the command.
pub fn run(context: &Context<'_>, _invocation: &Invocation) -> Result<i32> {
    let rows = [
        ("config", context.config_dir()),
        ("data", context.data_dir()),
        ("cache", context.cache_dir()),
        ("run", context.run_dir()),
    ];
    if context.json() {
        let map: std::collections::BTreeMap<&str, String> = rows
            .iter()
            .map(|(name, path)| (*name, path.display().to_string()))
            .collect();
        context.print_json(&map)?;
    } else {
        for (name, path) in rows {
            writeln!(context.out(), "{name:<7} {}", path.display())?;
        }
    }
    Ok(0)
}
