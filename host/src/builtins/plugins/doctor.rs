//! `mosaic plugins doctor`: the search path and every plugin problem in full, with
//! what to do about it. Exits 1 when there is a problem, so scripts can check.

use anyhow::Result;
use mosaic_plugin_api::{CommandSpec, NoOptions};

use crate::builtins::Builtin;
use crate::registry::PluginRecord;
use crate::session::Session;

/// `mosaic plugins doctor`.
pub struct Doctor;

/// What to do about a plugin's problem.
fn fix_for(record: &PluginRecord) -> &str {
    record
        .fix
        .as_deref()
        .unwrap_or("see the problem and detail above")
}

impl Builtin for Doctor {
    type Options = NoOptions;
    const REPORTS_PLUGIN_PROBLEMS: bool = true;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "doctor",
            "Explain every plugin problem in full, with the fix",
        )
        .long_about(
            "Show the plugin search path and explain every plugin that is not working: \
                 not a library, built for another API version, requiring another host \
                 version, writable by others, or shadowed by another command. Exits 1 if \
                 any problem was found.",
        )
        .example("plugins doctor", "")
        .example("plugins doctor --json", "")
    }

    fn run(session: &Session, _options: NoOptions) -> Result<i32> {
        let registry = &session.registry;
        let problems: Vec<_> = registry.problems().collect();
        if session.json() {
            let value = serde_json::json!({
                "search_path": registry.dirs.iter().map(|report| serde_json::json!({
                    "path": report.dir.path,
                    "origin": report.dir.origin,
                    "exists": report.exists,
                    "untrusted": report.untrusted,
                    "error": report.error,
                })).collect::<Vec<_>>(),
                "problems": problems.iter().map(|record| serde_json::json!({
                    "name": record.name,
                    "path": record.path,
                    "status": record.status.as_str(),
                    "problem": record.problem,
                    "detail": record.detail,
                    "fix": fix_for(record),
                })).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
            return Ok(i32::from(!problems.is_empty()));
        }
        println!("Plugin search path (first wins):");
        for report in &registry.dirs {
            let state = match (&report.error, &report.untrusted, report.exists) {
                (Some(error), _, _) => format!("unreadable: {error}"),
                (None, Some(reason), _) => format!("UNTRUSTED: {reason}"),
                (None, None, true) => "ok".to_string(),
                (None, None, false) => "does not exist".to_string(),
            };
            println!(
                "  {:<20} {} ({state})",
                report.dir.origin,
                report.dir.path.display()
            );
        }
        let healthy = registry.plugins.len() - problems.len();
        println!();
        println!("{healthy} plugin(s) ok, {} with problems.", problems.len());
        for record in &problems {
            println!();
            println!("{} — {}", record.name, record.status.as_str());
            println!("  file:    {}", record.path.display());
            if let Some(problem) = &record.problem {
                println!("  problem: {problem}");
            }
            if let Some(detail) = &record.detail {
                for line in detail.lines() {
                    println!("  detail:  {line}");
                }
            }
            println!("  fix:     {}", fix_for(record));
        }
        Ok(i32::from(!problems.is_empty()))
    }
}
