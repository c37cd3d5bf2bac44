//! `mosaic plugins list`: every plugin file on the search path with its status.

use clap::{ArgMatches, Command};
use mosaic_plugin_api::sdk::output::Table;

use crate::app::App;
use crate::builtins::fail;

/// Declares the command.
pub fn command() -> Command {
    Command::new("list")
        .visible_alias("ls")
        .about("List plugins: name, version, API version, path, commands, status")
        .long_about(
            "List every plugin file on the search path, in search order, with its \
             status: ok, shadowed (a command or its name is taken by a built-in or an \
             earlier plugin), incompatible (built for another API or host version), \
             untrusted (writable by others) or broken. `mosaic plugins doctor` explains \
             each problem in full.",
        )
        .after_help("Examples:\n  mosaic plugins list\n  mosaic plugins list --json")
}

/// Prints the table (or JSON).
pub fn run(app: &App, _matches: &ArgMatches, json: bool) -> i32 {
    let plugins = &app.registry.plugins;
    if json {
        let rows: Vec<serde_json::Value> = plugins
            .iter()
            .map(|record| {
                serde_json::json!({
                    "name": record.name,
                    "version": record.version(),
                    "api_version": record.api_version,
                    "path": record.path,
                    "origin": record.origin,
                    "commands": record.commands,
                    "shadowed_commands": record.shadowed,
                    "status": record.status.as_str(),
                    "problem": record.problem,
                    "description": record.summary.as_ref().map(|summary| summary.description.clone()),
                })
            })
            .collect();
        return match serde_json::to_string_pretty(&rows) {
            Ok(text) => {
                println!("{text}");
                0
            }
            Err(error) => fail(error),
        };
    }
    if plugins.is_empty() {
        eprintln!(
            "No plugins found. Searched: {}",
            app.search
                .iter()
                .map(|dir| dir.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return 0;
    }
    let mut table = Table::new(&["name", "version", "api", "status", "commands", "path"]);
    for record in plugins {
        let mut commands = record.commands.clone();
        commands.extend(record.shadowed.iter().map(|words| format!("({words})")));
        table.add_row([
            record.name.clone(),
            record.version().unwrap_or("-").to_string(),
            record
                .api_version
                .clone()
                .unwrap_or_else(|| "-".to_string()),
            record.status.as_str().to_string(),
            if commands.is_empty() {
                "-".to_string()
            } else {
                commands.join(", ")
            },
            record.path.display().to_string(),
        ]);
    }
    print!("{}", table.render());
    let problems = app.registry.problems().count();
    if problems > 0 {
        eprintln!("{problems} plugin(s) with problems; run `mosaic plugins doctor` for details.");
    }
    0
}
