//! `mosaic hello dirs`: print the directories the host gave this plugin.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context, Example, NoOptions};

/// The `dirs` subcommand.
pub struct Dirs;

impl Command for Dirs {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("dirs", "Show the directories mosaic gives plugins")
            .example("hello dirs", "One directory per line")
            .with_example(
                Example::new("hello dirs --json", "As JSON").expect_stdout_contains("\"config\""),
            )
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        show_dirs(context)
    }
}

/// The directories, by the name shown for each.
pub fn directories(context: &Context<'_>) -> BTreeMap<&'static str, PathBuf> {
    BTreeMap::from([
        ("config", context.config_dir()),
        ("data", context.data_dir()),
        ("cache", context.cache_dir()),
        ("run", context.run_dir()),
    ])
}

/// Prints the directories as a list, or as one JSON object with `--json`.
pub fn show_dirs(context: &Context<'_>) -> Result<i32> {
    let directories = directories(context);
    if context.json() {
        context.print_json(&directories)?;
    } else {
        for (name, path) in &directories {
            writeln!(context.out(), "{name:<7} {}", path.display())?;
        }
    }
    Ok(0)
}
