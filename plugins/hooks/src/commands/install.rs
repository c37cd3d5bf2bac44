//! `mosaic config hooks install [--force]`: write Mosaic's default hook set to
//! `hooks-config.json` and mirror it into `settings.json`.
//!
//! Idempotent: a second run changes nothing. Without `--force` it keeps what the
//! user chose (disabled hooks stay disabled, a hand-edited matcher or timeout in
//! `hooks-config.json` stays) and only adds missing default hooks, points every
//! command at this `mosaic`, and repairs `settings.json` (missing, duplicated,
//! stale or hand-edited Mosaic entries). `--force` resets the record to the defaults.

use std::io::Write;
use std::path::PathBuf;

use mosaic_plugin_api::anyhow::{Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example};
use serde::Deserialize;
use serde_json::json;

use crate::hook_command::{hook_command, mosaic_binary, parse_hook_command};
use crate::hooks_config::{default_hooks, HookRecord, HooksConfig};
use crate::merge::{mirror, MirrorOptions};
use crate::paths::ClaudePaths;
use crate::store::{self, Written};

/// `mosaic config hooks install`.
pub struct Install;

/// The arguments of `install`; `run` adds the binary to make [`InstallOptions`].
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct InstallArgs {
    /// `--force`: reset to the defaults.
    pub force: bool,
}

impl Command for Install {
    type Options = InstallArgs;

    fn spec() -> CommandSpec {
        CommandSpec::new(
            "install",
            "Install Mosaic's hooks into Claude Code's settings.json",
        )
        .long_about(
            "Install Mosaic's default hooks: write them to $CLAUDE_HOME/hooks-config.json and \
             mirror the enabled ones into $CLAUDE_HOME/settings.json (created if missing; a \
             missing CLAUDE_HOME is created with mode 0700). Other hooks and settings are \
             left as they are. Running it again changes nothing, except that it repairs \
             Mosaic's entries in settings.json and points them at this mosaic binary (run it \
             after moving mosaic).",
        )
        .arg(ArgSpec::flag(
            "force",
            "Reset Mosaic's hooks to the defaults (re-enables disabled hooks, undoes edits)",
        ))
        .with_example(
            Example::new("config hooks install", "Install (or repair) Mosaic's hooks")
                .expect_stdout_contains("hooks"),
        )
    }

    fn run(context: &Context<'_>, args: InstallArgs) -> Result<i32> {
        let paths = super::claude_paths(context)?;
        let binary = mosaic_binary(|key| context.env(key))
            .context("cannot tell where the mosaic binary is, for the hook commands")?;
        let options = InstallOptions {
            force: args.force,
            binary,
        };
        let report = install(&paths, &options)?;
        print_report(context, &paths, &report)?;
        Ok(0)
    }
}

/// What `install` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    /// Reset the record to the defaults instead of keeping the user's choices.
    pub force: bool,
    /// The `mosaic` the hook commands call.
    pub binary: PathBuf,
}

/// What `install` did.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallReport {
    /// Mosaic's hooks after the install.
    pub hooks: Vec<HookRecord>,
    /// Which files changed.
    pub written: Written,
}

/// Installs Mosaic's hooks into the Claude home of `paths`.
pub fn install(paths: &ClaudePaths, options: &InstallOptions) -> Result<InstallReport> {
    let (hooks, written) = store::update(paths, true, |record, settings| {
        let defaults = default_hooks(&options.binary);
        let mut config = match record.take() {
            Some(existing) if options.force => reset(existing, defaults),
            Some(existing) => keep_choices(existing, defaults, options),
            None => HooksConfig::new(defaults),
        };
        mirror(
            settings,
            &mut config.hooks,
            &MirrorOptions {
                events: None,
                update_existing: true,
                remove_orphans: true,
            },
        );
        let hooks = config.hooks.clone();
        *record = Some(config);
        Ok(hooks)
    })?;
    Ok(InstallReport { hooks, written })
}

/// The existing record with every command pointed at `options.binary`, the
/// descriptions of known hooks refreshed, and missing default hooks added.
fn keep_choices(
    mut existing: HooksConfig,
    defaults: Vec<HookRecord>,
    options: &InstallOptions,
) -> HooksConfig {
    for record in &mut existing.hooks {
        if let Some(command) = parse_hook_command(&record.command) {
            record.command = hook_command(&options.binary, &command.hook);
        }
        let default = defaults
            .iter()
            .find(|default| default.event == record.event && default.name == record.name);
        if let Some(default) = default {
            record.description = default.description.clone();
        }
    }
    for default in defaults {
        let known = existing
            .hooks
            .iter()
            .any(|record| record.event == default.event && record.name == default.name);
        if !known {
            existing.hooks.push(default);
        }
    }
    existing
}

/// The default hooks, each at the place in `settings.json` its disabled
/// predecessor in `existing` had, so re-enabling it puts it back there.
fn reset(existing: HooksConfig, mut defaults: Vec<HookRecord>) -> HooksConfig {
    for default in &mut defaults {
        default.settings_position = existing
            .hooks
            .iter()
            .find(|record| record.event == default.event && record.name == default.name)
            .and_then(|record| record.settings_position);
    }
    HooksConfig::new(defaults)
}

/// Prints what `install` did: a summary, or the JSON document with `--json`.
fn print_report(context: &Context<'_>, paths: &ClaudePaths, report: &InstallReport) -> Result<()> {
    let enabled = report.hooks.iter().filter(|hook| hook.enabled).count();
    if context.json() {
        context.print_json(&json!({
            "changed": report.written.any(),
            "settings": paths.settings,
            "hooks_config": paths.hooks_config,
            "hooks": report.hooks,
        }))?;
    } else if report.written.any() {
        writeln!(
            context.out(),
            "Installed Mosaic's Claude Code hooks: {enabled} enabled, {} disabled.\n  \
             Claude Code settings: {}\n  Mosaic's record:      {}\n\
             Run `mosaic config hooks list` to see them.",
            report.hooks.len() - enabled,
            paths.settings.display(),
            paths.hooks_config.display()
        )?;
    } else {
        writeln!(
            context.out(),
            "Mosaic's Claude Code hooks are already installed in {} ({enabled} enabled); \
             nothing changed.",
            paths.settings.display()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn options(binary: &str, force: bool) -> InstallOptions {
        InstallOptions {
            force,
            binary: PathBuf::from(binary),
        }
    }

    #[test]
    fn keeps_disabled_hooks_and_moves_commands_to_the_new_binary() {
        let mut existing = HooksConfig::new(default_hooks(Path::new("/old/mosaic")));
        existing.hooks[0].enabled = false;
        existing.hooks[0].timeout = Some(3);
        existing.hooks.remove(1);
        let kept = keep_choices(
            existing,
            default_hooks(Path::new("/new/mosaic")),
            &options("/new/mosaic", false),
        );
        assert!(!kept.hooks[0].enabled);
        assert_eq!(kept.hooks[0].timeout, Some(3));
        assert_eq!(kept.hooks.len(), default_hooks(Path::new("/x")).len());
        assert!(kept
            .hooks
            .iter()
            .all(|hook| hook.command.starts_with("/new/mosaic ")));
    }

    #[test]
    fn force_resets_disabled_hooks_and_a_plain_install_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(dir.path());
        install(&paths, &options("/m/mosaic", false)).unwrap();
        let installed = std::fs::read_to_string(&paths.settings).unwrap();
        let mut config = crate::hooks_config::load(&paths.hooks_config)
            .unwrap()
            .unwrap();
        config.hooks[0].enabled = false;
        crate::hooks_config::save(&paths.hooks_config, &config).unwrap();
        let kept = install(&paths, &options("/m/mosaic", false)).unwrap();
        assert!(!kept.hooks[0].enabled);
        assert!(!std::fs::read_to_string(&paths.settings)
            .unwrap()
            .contains("bash-guard"));
        let reset = install(&paths, &options("/m/mosaic", true)).unwrap();
        assert!(reset.hooks.iter().all(|hook| hook.enabled));
        assert_eq!(std::fs::read_to_string(&paths.settings).unwrap(), installed);
    }

    #[test]
    fn install_twice_writes_nothing_the_second_time() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(&dir.path().join(".claude"));
        let first = install(&paths, &options("/m/mosaic", false)).unwrap();
        assert!(first.written.settings && first.written.hooks_config);
        let settings = std::fs::read_to_string(&paths.settings).unwrap();
        let second = install(&paths, &options("/m/mosaic", false)).unwrap();
        assert!(!second.written.any());
        assert_eq!(std::fs::read_to_string(&paths.settings).unwrap(), settings);
    }
}
