//! `mosaic config hooks list [--json]`: every Mosaic hook with its event, matcher,
//! state and command, and how `settings.json` drifted from Mosaic's record.

use std::io::Write;
use std::path::{Path, PathBuf};

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::output::Table;
use mosaic_plugin_api::{Command, CommandSpec, Context, Example, NoOptions};
use serde::Serialize;

use crate::guard::{GuardConfig, GuardSettings};
use crate::hook_command::{mosaic_binary, parse_hook_command};
use crate::merge::{drift, orphans};
use crate::paths::ClaudePaths;
use crate::store;

/// `mosaic config hooks list`.
pub struct List;

impl Command for List {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("list", "Show Mosaic's hooks and whether they are enabled")
            .long_about(
                "Show Mosaic's hooks: event, matcher, hook, enabled or disabled, and the \
                 command Claude Code runs. The DRIFT column says where settings.json no longer \
                 matches Mosaic's record (an entry removed or edited by hand, a moved mosaic \
                 binary); `mosaic config hooks install` repairs it. Mosaic entries in \
                 settings.json that the record does not know are listed as `unrecorded`. \
                 Problems in the Bash guard's configuration (hooks.bash_guard in config.json, \
                 e.g. an extra rule whose pattern is not a valid regular expression) are \
                 reported as warnings naming the file (`warnings` with --json), and so is a \
                 CLAUDE_HOME that is not the directory Claude Code reads (CLAUDE_CONFIG_DIR, \
                 else ~/.claude).",
            )
            .alias("ls")
            .with_example(
                Example::new("config hooks list", "Show all hooks and their status")
                    .expect_stdout_contains("bash-guard"),
            )
            .with_example(
                Example::new("config hooks list --json", "The same as one JSON document")
                    .expect_stdout_contains("\"installed\": true"),
            )
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        let paths = super::claude_paths(context)?;
        let binary = mosaic_binary(|key| context.env(key)).ok();
        let mut listing = list(
            &paths,
            binary.as_deref(),
            &GuardConfig::from_context(context),
        )?;
        listing
            .warnings
            .extend(paths.unread_warning(|key| context.env(key)));
        if context.json() {
            context.print_json(&listing)?;
        } else {
            print_listing(context, &paths, &listing)?;
        }
        Ok(0)
    }
}

/// One row of the listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookRow {
    /// The Claude Code event.
    pub event: String,
    /// The matcher, if the event has one.
    pub matcher: Option<String>,
    /// The Mosaic hook.
    pub name: String,
    /// `enabled`, `disabled` or `unrecorded`.
    pub state: String,
    /// The command Claude Code runs.
    pub command: String,
    /// How `settings.json` differs from the record (empty: it does not).
    pub drift: Vec<String>,
}

/// The whole listing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listing {
    /// Whether `hooks-config.json` exists.
    pub installed: bool,
    /// Claude Code's settings file.
    pub settings: PathBuf,
    /// Mosaic's record.
    pub hooks_config: PathBuf,
    /// One row per hook, then unrecorded Mosaic entries.
    pub hooks: Vec<HookRow>,
    /// Problems in the Bash guard's configuration (`hooks.bash_guard`), and a
    /// Claude home that Claude Code does not read.
    pub warnings: Vec<String>,
}

impl Listing {
    /// Whether any hook drifted.
    pub fn drifted(&self) -> bool {
        self.hooks.iter().any(|row| !row.drift.is_empty())
    }
}

/// Lists Mosaic's hooks in the Claude home of `paths`. `binary` is this `mosaic`
/// (to spot commands that call another one); `guard_config` is where the Bash guard's
/// settings come from (checked for problems).
pub fn list(
    paths: &ClaudePaths,
    binary: Option<&Path>,
    guard_config: &GuardConfig<'_>,
) -> Result<Listing> {
    let (record, settings) = store::read(paths)?;
    let records = record.map(|config| config.hooks);
    let mut hooks = Vec::new();
    for record in records.iter().flatten() {
        let mut problems = drift(&settings, record);
        if let Some(problem) = binary_drift(&record.command, binary) {
            problems.push(problem);
        }
        hooks.push(HookRow {
            event: record.event.clone(),
            matcher: record.matcher.clone(),
            name: record.name.clone(),
            state: if record.enabled {
                "enabled"
            } else {
                "disabled"
            }
            .to_string(),
            command: record.command.clone(),
            drift: problems,
        });
    }
    for (event, command) in orphans(&settings, records.as_deref().unwrap_or_default()) {
        hooks.push(HookRow {
            event,
            matcher: None,
            name: command.hook.clone(),
            state: "unrecorded".to_string(),
            command: command.binary.display().to_string(),
            drift: vec!["in settings.json, but not in hooks-config.json".to_string()],
        });
    }
    let (_, warnings) = GuardSettings::load(guard_config);
    Ok(Listing {
        installed: records.is_some(),
        settings: paths.settings.clone(),
        hooks_config: paths.hooks_config.clone(),
        hooks,
        warnings,
    })
}

/// A problem with the binary a command calls: gone, or not this `mosaic`.
fn binary_drift(command: &str, current: Option<&Path>) -> Option<String> {
    let called = parse_hook_command(command)?.binary;
    if !called.exists() {
        return Some(format!(
            "calls {}, which does not exist (mosaic moved?)",
            called.display()
        ));
    }
    let current = current?;
    let same = match (
        std::fs::canonicalize(&called),
        std::fs::canonicalize(current),
    ) {
        (Ok(called), Ok(current)) => called == current,
        _ => called == current,
    };
    (!same).then(|| {
        format!(
            "calls {}, not this mosaic ({})",
            called.display(),
            current.display()
        )
    })
}

/// Prints a listing as a table, with its warnings and drift on stderr.
fn print_listing(context: &Context<'_>, paths: &ClaudePaths, listing: &Listing) -> Result<()> {
    for warning in &listing.warnings {
        writeln!(context.err(), "warning: {warning}")?;
    }
    if !listing.installed {
        writeln!(
            context.out(),
            "Mosaic's hooks are not installed — run `mosaic config hooks install` (there is \
             no {})",
            paths.hooks_config.display()
        )?;
    }
    if listing.hooks.is_empty() {
        return Ok(());
    }
    let mut table = Table::new(&["event", "matcher", "hook", "state", "drift", "command"]);
    for row in &listing.hooks {
        table.add_row([
            row.event.clone(),
            row.matcher.clone().unwrap_or_else(|| "-".to_string()),
            row.name.clone(),
            row.state.clone(),
            if row.drift.is_empty() {
                "-".to_string()
            } else {
                row.drift.join("; ")
            },
            row.command.clone(),
        ]);
    }
    write!(context.out(), "{}", table.render())?;
    if listing.drifted() {
        writeln!(
            context.err(),
            "settings.json differs from Mosaic's record; run `mosaic config hooks install` to \
             repair it"
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::install::{install, InstallOptions};

    #[test]
    fn reports_not_installed_then_hooks_then_drift() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(&dir.path().join(".claude"));
        let binary = std::env::current_exe().unwrap();
        let listing = list(&paths, Some(&binary), &GuardConfig::from_dir(dir.path())).unwrap();
        assert!(!listing.installed);
        assert!(listing.hooks.is_empty());

        install(
            &paths,
            &InstallOptions {
                force: false,
                binary: binary.clone(),
            },
        )
        .unwrap();
        let listing = list(&paths, Some(&binary), &GuardConfig::from_dir(dir.path())).unwrap();
        assert!(listing.installed && !listing.drifted(), "{listing:?}");

        let text = std::fs::read_to_string(&paths.settings).unwrap();
        let edited = text.replace("\"matcher\": \"Bash\"", "\"matcher\": \"Bash|Edit\"");
        std::fs::write(&paths.settings, edited).unwrap();
        let listing = list(&paths, Some(&binary), &GuardConfig::from_dir(dir.path())).unwrap();
        let guard = listing
            .hooks
            .iter()
            .find(|row| row.name == "bash-guard")
            .unwrap();
        assert_eq!(guard.drift, ["matcher changed in settings.json"]);

        let other = list(
            &paths,
            Some(Path::new("/elsewhere/mosaic")),
            &GuardConfig::from_dir(dir.path()),
        )
        .unwrap();
        assert!(
            other.hooks[1].drift[0].contains("not this mosaic"),
            "{other:?}"
        );
    }

    #[test]
    fn unrecorded_entries_and_bad_guard_configuration_are_shown() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(dir.path());
        std::fs::write(
            &paths.settings,
            r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "/gone/mosaic config hooks run activity"}]}]}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"hooks": {"bash_guard": {"extra_rules": ["("]}}}"#,
        )
        .unwrap();
        let listing = list(&paths, None, &GuardConfig::from_dir(dir.path())).unwrap();
        assert!(!listing.installed);
        assert_eq!(listing.hooks[0].state, "unrecorded");
        assert_eq!(listing.warnings.len(), 1, "{listing:?}");
        let warning = &listing.warnings[0];
        let config_file = dir.path().join("config.json");
        assert!(
            warning.starts_with(&format!("{}: ", config_file.display())),
            "{warning}"
        );
        assert!(warning.contains("extra_rules[0]"), "{warning}");
        assert!(warning.contains("invalid pattern `(`"), "{warning}");
    }
}
