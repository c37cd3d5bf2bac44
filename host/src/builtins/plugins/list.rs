//! `mosaic plugins list`: every plugin file on the search path with its status.

use anyhow::Result;
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{CommandSpec, NoOptions};

use crate::builtins::Builtin;
use crate::distribution::provenance::{self, Origin};
use crate::registry::{Holder, ShadowedCommand};
use crate::session::Session;

/// `mosaic plugins list`.
pub struct List;

impl Builtin for List {
    type Options = NoOptions;
    const REPORTS_PLUGIN_PROBLEMS: bool = true;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "list",
            "List plugins: name, version, API version, path, commands, status",
        )
        .alias("ls")
        .long_about(
            "List every plugin file on the search path, in search order, with its \
             status: ok, overrides (it takes a command that a plugin later in the \
             search path declares too), shadowed (a command or its name is taken by a \
             built-in or an earlier plugin), incompatible (built for another API or \
             host version), untrusted (writable by others) or broken. Built-ins always \
             win; between plugins, the first on the search path does. The commands \
             column shows who has a command the plugin does not get; the from column \
             (shown when a plugin was installed by name) names the index and signer it \
             came from, and --json gives it in full as `provenance` (null for plugins \
             not installed from an index). `mosaic plugins doctor` explains each \
             problem in full.",
        )
        .example("plugins list", "")
        .example("plugins list --json", "")
    }

    fn run(session: &Session, _options: NoOptions) -> Result<i32> {
        let plugins = &session.registry.plugins;
        let user_dir = session.dirs.user_plugin_dir();
        // Where each plugin was installed from, when from an index.
        let provenance: Vec<Option<Origin>> = plugins
            .iter()
            .map(|record| {
                (record.path.parent() == Some(user_dir.as_path()))
                    .then(|| provenance::read_current(&user_dir, &record.name, &record.path))
                    .flatten()
            })
            .collect();
        if session.json() {
            let rows: Vec<serde_json::Value> = plugins
                .iter()
                .zip(&provenance)
                .map(|(record, installed_from)| {
                    serde_json::json!({
                        "name": record.name,
                        "version": record.version(),
                        "api_version": record.api_version,
                        "path": record.path,
                        "origin": record.origin,
                        "provenance": installed_from,
                        "commands": record.commands,
                        "shadowed_commands": record.shadowed,
                        "shadowed_by": record.shadowed_by,
                        "takes": record.takes,
                        "status": record.status.as_str(),
                        "problem": record.problem,
                        "description": record.summary.as_ref().map(|summary| summary.description.clone()),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
            return Ok(0);
        }
        if plugins.is_empty() {
            eprintln!(
                "No plugins found. Searched: {}",
                session
                    .search
                    .iter()
                    .map(|dir| dir.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return Ok(0);
        }
        let from_index = provenance.iter().any(Option::is_some);
        let mut headers = vec!["name", "version", "api", "status", "commands", "path"];
        if from_index {
            headers.push("from");
        }
        let mut table = Table::new(&headers);
        for (record, installed_from) in plugins.iter().zip(&provenance) {
            let mut commands: Vec<String> = record
                .commands
                .iter()
                .map(
                    |words| match record.takes.iter().find(|taken| taken.command == *words) {
                        Some(taken) => format!("{words} (taken from {})", taken.from),
                        None => words.clone(),
                    },
                )
                .collect();
            commands.extend(record.shadowed.iter().map(|words| {
                match record
                    .shadowed_by
                    .iter()
                    .find(|lost| lost.command == *words)
                {
                    Some(ShadowedCommand {
                        holder: Holder::Plugin { name, .. },
                        ..
                    }) => format!("({words}: taken by {name})"),
                    Some(ShadowedCommand {
                        holder: Holder::BuiltIn,
                        ..
                    }) => format!("({words}: built-in)"),
                    None => format!("({words})"),
                }
            }));
            let mut row = vec![
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
            ];
            if from_index {
                row.push(match installed_from {
                    Some(origin) => format!("{} ({})", origin.index, origin.signer_name),
                    None => "-".to_string(),
                });
            }
            table.add_row(row);
        }
        print!("{}", table.render());
        let problems = session.registry.problems().count();
        if problems > 0 {
            eprintln!(
                "{problems} plugin(s) with problems; run `mosaic plugins doctor` for details."
            );
        }
        Ok(0)
    }
}
