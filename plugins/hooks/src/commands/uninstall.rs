//! `mosaic config hooks uninstall`: remove Mosaic's entries from `settings.json`
//! and delete `hooks-config.json` — nothing else.
//!
//! Entries are recognised by their command, so ones written by an older or moved
//! `mosaic` go too. The audit log and the activity records are left in place.

use std::io::Write;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::{Command, CommandSpec, Context, NoOptions};

use crate::merge::{orphans, remove_all};
use crate::paths::ClaudePaths;
use crate::store::{self, Written};

/// `mosaic config hooks uninstall`.
pub struct Uninstall;

impl Command for Uninstall {
    type Options = NoOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("uninstall", "Remove Mosaic's hooks from Claude Code")
            .long_about(
                "Remove Mosaic's entries from $CLAUDE_HOME/settings.json and delete \
                 $CLAUDE_HOME/hooks-config.json. The user's own hooks and every other \
                 setting stay as they are.",
            )
            .example("config hooks uninstall", "Remove Mosaic's hooks")
    }

    fn run(context: &Context<'_>, _options: NoOptions) -> Result<i32> {
        let paths = super::claude_paths(context)?;
        let report = uninstall(&paths)?;
        print_report(context, &paths, &report)?;
        Ok(0)
    }
}

/// What `uninstall` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UninstallReport {
    /// How many Mosaic entries were removed from `settings.json`.
    pub removed_entries: usize,
    /// Which files were written or deleted.
    pub written: Written,
}

/// Uninstalls Mosaic's hooks from the Claude home of `paths`.
pub fn uninstall(paths: &ClaudePaths) -> Result<UninstallReport> {
    if !paths.claude_home.is_dir() {
        return Ok(UninstallReport {
            removed_entries: 0,
            written: Written::default(),
        });
    }
    let (removed_entries, written) = store::update(paths, false, |record, settings| {
        let removed = orphans(settings, &[]).len();
        remove_all(settings);
        *record = None;
        Ok(removed)
    })?;
    Ok(UninstallReport {
        removed_entries,
        written,
    })
}

/// Prints what `uninstall` did.
fn print_report(
    context: &Context<'_>,
    paths: &ClaudePaths,
    report: &UninstallReport,
) -> Result<()> {
    if report.written.any() {
        writeln!(
            context.out(),
            "Removed Mosaic's hooks: {} entries from {}{}.",
            report.removed_entries,
            paths.settings.display(),
            if report.written.hooks_config {
                format!(", and {}", paths.hooks_config.display())
            } else {
                String::new()
            }
        )?;
    } else {
        writeln!(
            context.out(),
            "Mosaic's hooks are not installed in {}; nothing to remove.",
            paths.claude_home.display()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::commands::install::{install, InstallOptions};
    use crate::hooks_config::default_hooks;

    #[test]
    fn uninstall_after_install_gives_back_the_users_settings() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(dir.path());
        let original = "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"mine.sh\"\n          }\n        ]\n      }\n    ]\n  }\n}\n";
        std::fs::write(&paths.settings, original).unwrap();
        let options = InstallOptions {
            force: false,
            binary: PathBuf::from("/m/mosaic"),
        };
        install(&paths, &options).unwrap();
        let report = uninstall(&paths).unwrap();
        assert_eq!(report.removed_entries, default_hooks(&options.binary).len());
        assert_eq!(std::fs::read_to_string(&paths.settings).unwrap(), original);
        assert!(!paths.hooks_config.exists());
        assert!(!uninstall(&paths).unwrap().written.any());
    }

    #[test]
    fn nothing_to_do_without_a_claude_home() {
        let dir = tempfile::tempdir().unwrap();
        let report = uninstall(&ClaudePaths::new(&dir.path().join("none"))).unwrap();
        assert!(!report.written.any());
        assert!(!dir.path().join("none").exists());
    }
}
