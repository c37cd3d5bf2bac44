//! `mosaic plugins info NAME`: one plugin in detail.

use anyhow::{bail, Result};
use mosaic_plugin_api::{ArgSpec, CommandSpec};
use serde::Deserialize;

use crate::builtins::Builtin;
use crate::registry::command_words;
use crate::session::Session;

/// `mosaic plugins info`.
pub struct Info;

/// The options of `mosaic plugins info`.
#[derive(Debug, Deserialize)]
pub struct InfoOptions {
    /// The plugin's name.
    pub name: String,
}

fn describe_commands(commands: &[CommandSpec], prefix: &str, lines: &mut Vec<String>) {
    for command in commands {
        let words = format!("{prefix}{}", command.name);
        lines.push(format!("  mosaic {words:<28} {}", command.about));
        describe_commands(&command.subcommands, &format!("{words} "), lines);
    }
}

impl Builtin for Info {
    type Options = InfoOptions;
    const REPORTS_PLUGIN_PROBLEMS: bool = true;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "info",
            "Show one plugin: version, API, host requirement, commands, config keys, problems",
        )
        .arg(
            ArgSpec::positional("name", "Plugin name (as in `mosaic plugins list`)")
                .required()
                .value_name("name"),
        )
        .example("plugins info fleet", "")
        .example("plugins info fleet --json", "")
    }

    fn run(session: &Session, options: InfoOptions) -> Result<i32> {
        let name = options.name;
        let registry = &session.registry;
        let Some(record) = registry.find(&name) else {
            let known: Vec<&str> = registry
                .plugins
                .iter()
                .map(|record| record.name.as_str())
                .collect();
            bail!(
                "no plugin named `{name}` (installed: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        };
        if session.json() {
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
                "shadowed_by": record.shadowed_by,
                "takes": record.takes,
                "fix": record.fix,
                "summary": record.summary,
                "manifest": record.manifest(),
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
            return Ok(0);
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
        if let Some(fix) = &record.fix {
            println!("fix:         {fix}");
        }
        Ok(0)
    }
}
