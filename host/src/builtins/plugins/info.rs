//! `mosaic plugins info NAME`: one plugin in detail.

use clap::{Arg, ArgMatches, Command};
use mosaic_plugin_api::CommandSpec;

use crate::app::App;
use crate::builtins::fail;
use crate::registry::command_words;

/// Declares the command.
pub fn command() -> Command {
    Command::new("info")
        .about("Show one plugin: version, API, host requirement, commands, config keys, problems")
        .arg(
            Arg::new("name")
                .required(true)
                .help("Plugin name (as in `mosaic plugins list`)"),
        )
        .after_help("Examples:\n  mosaic plugins info fleet\n  mosaic plugins info fleet --json")
}

fn describe_commands(commands: &[CommandSpec], prefix: &str, lines: &mut Vec<String>) {
    for command in commands {
        let words = format!("{prefix}{}", command.name);
        lines.push(format!("  mosaic {words:<28} {}", command.about));
        describe_commands(&command.subcommands, &format!("{words} "), lines);
    }
}

/// Prints the details.
pub fn run(app: &App, matches: &ArgMatches, json: bool) -> i32 {
    let name = matches
        .get_one::<String>("name")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(record) = app.registry.find(name) else {
        let known: Vec<&str> = app
            .registry
            .plugins
            .iter()
            .map(|record| record.name.as_str())
            .collect();
        return fail(format!(
            "no plugin named `{name}` (installed: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    };
    if json {
        let value = serde_json::json!({
            "name": record.name,
            "path": record.path,
            "origin": record.origin,
            "status": record.status.as_str(),
            "api_version": record.api_version,
            "problem": record.problem,
            "detail": record.detail,
            "commands": record.commands,
            "shadowed_commands": record.shadowed,
            "summary": record.summary,
            "manifest": record.manifest(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return 0;
    }
    println!("name:        {}", record.name);
    println!("path:        {} ({})", record.path.display(), record.origin);
    println!("status:      {}", record.status.as_str());
    println!(
        "api version: {}",
        record.api_version.as_deref().unwrap_or("unknown")
    );
    if let Some(summary) = &record.summary {
        println!("version:     {}", summary.version);
        println!("requires:    mosaic {}", summary.host_requirement);
        if !summary.description.is_empty() {
            println!("about:       {}", summary.description);
        }
    }
    if let Some(manifest) = record.manifest() {
        let mut lines = Vec::new();
        for command in &manifest.commands {
            let words = command_words(command.mount, &command.name);
            lines.push(format!("  mosaic {words:<28} {}", command.about));
            describe_commands(&command.subcommands, &format!("{words} "), &mut lines);
        }
        if !lines.is_empty() {
            println!("commands:");
            lines.iter().for_each(|line| println!("{line}"));
        }
        if !manifest.config.is_empty() {
            println!("config keys:");
            for key in &manifest.config {
                let env = key
                    .env
                    .as_deref()
                    .map(|env| format!(" (env {env})"))
                    .unwrap_or_default();
                println!("  {:<30} {}{env}", key.key, key.description);
            }
        }
    }
    if let Some(problem) = &record.problem {
        println!("problem:     {problem}");
    }
    0
}
