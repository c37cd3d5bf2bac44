//! What `enable` and `disable` share: choosing events and flipping their hooks.
//!
//! Disabling takes Mosaic's entries for the events out of `settings.json` and marks
//! the records disabled (remembering where the entries were); enabling puts them
//! back there. Only the named events are touched, so disable → enable leaves
//! `settings.json` exactly as it was.

use std::io::Write;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::{ArgSpec, CommandSpec, Context, Example};
use serde::Deserialize;

use crate::events::CLAUDE_CODE_EVENTS;
use crate::merge::{mirror, MirrorOptions};
use crate::paths::ClaudePaths;
use crate::store::{self, Written};

/// Which events to switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every event Mosaic has a hook on (`--all`).
    All,
    /// These events (Claude Code event names).
    Events(Vec<String>),
}

/// The arguments of `enable` and `disable`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SwitchArgs {
    /// The events named on the command line.
    pub events: Vec<String>,
    /// `--all`: every event Mosaic has a hook on.
    pub all: bool,
}

impl SwitchArgs {
    /// The events chosen; `None` when neither events nor `--all` were given.
    pub fn selection(self) -> Option<Selection> {
        match (self.all, self.events.is_empty()) {
            (true, _) => Some(Selection::All),
            (false, false) => Some(Selection::Events(self.events)),
            (false, true) => None,
        }
    }
}

/// What `enable`/`disable` do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchOptions {
    /// The events.
    pub selection: Selection,
    /// `true` to enable, `false` to disable.
    pub enabled: bool,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchReport {
    /// Events whose hooks changed state.
    pub switched: Vec<String>,
    /// Events whose hooks already were in that state.
    pub unchanged: Vec<String>,
    /// Which files were written.
    pub written: Written,
}

/// The declaration shared by `enable` and `disable`.
pub fn switch_spec(name: &str, about: &str, long_about: &str, verb: &str) -> CommandSpec {
    CommandSpec::new(name, about)
        .long_about(long_about)
        .arg(
            ArgSpec::positional("events", "Claude Code hook events, e.g. PostToolUse")
                .value_name("EVENT")
                .multiple()
                .possible_values(CLAUDE_CODE_EVENTS),
        )
        .arg(ArgSpec::flag("all", &format!("{verb} every Mosaic hook")).conflicts_with("events"))
        .with_example(Example::new(
            &format!("config hooks {name} PostToolUse"),
            &format!("{verb} the PostToolUse hook"),
        ))
        .with_example(Example::new(
            &format!("config hooks {name} --all"),
            &format!("{verb} all of Mosaic's hooks"),
        ))
}

/// Enables or disables the hooks of the selected events.
pub fn set_enabled(paths: &ClaudePaths, options: &SwitchOptions) -> Result<SwitchReport> {
    let not_installed = || {
        format!(
            "Mosaic's hooks are not installed in {} (no {}) — run `mosaic config hooks install`",
            paths.claude_home.display(),
            paths.hooks_config.display()
        )
    };
    if !paths.claude_home.is_dir() {
        bail!(not_installed());
    }
    let ((switched, unchanged), written) = store::update(paths, false, |record, settings| {
        let Some(config) = record.as_mut() else {
            bail!(not_installed());
        };
        let available = config.events();
        let events = match &options.selection {
            Selection::All => available.clone(),
            Selection::Events(events) => events.clone(),
        };
        for event in &events {
            if !available.contains(event) {
                bail!(
                    "Mosaic has no hook on {event} (Mosaic's hooks are on {})",
                    available.join(", ")
                );
            }
        }
        let mut switched = Vec::new();
        let mut unchanged = Vec::new();
        for event in &events {
            let mut changed = false;
            for record in config
                .hooks
                .iter_mut()
                .filter(|record| &record.event == event)
            {
                changed |= record.enabled != options.enabled;
                record.enabled = options.enabled;
            }
            if changed {
                switched.push(event.clone());
            } else {
                unchanged.push(event.clone());
            }
        }
        mirror(
            settings,
            &mut config.hooks,
            &MirrorOptions {
                events: Some(&events),
                ..MirrorOptions::default()
            },
        );
        Ok((switched, unchanged))
    })?;
    Ok(SwitchReport {
        switched,
        unchanged,
        written,
    })
}

/// Runs `enable` (`enabled` true) or `disable`.
pub fn run(context: &Context<'_>, args: SwitchArgs, enabled: bool) -> Result<i32> {
    let command = if enabled { "enable" } else { "disable" };
    let Some(selection) = args.selection() else {
        writeln!(
            context.err(),
            "error: name at least one EVENT, or use --all\n\n\
             Usage: mosaic config hooks {command} <EVENT>...|--all\n\n\
             For more information, try '--help'."
        )?;
        return Ok(2);
    };
    let paths = super::claude_paths(context)?;
    let report = set_enabled(&paths, &SwitchOptions { selection, enabled })?;
    let state = if enabled { "enabled" } else { "disabled" };
    for event in &report.switched {
        writeln!(context.out(), "{event}: {state}")?;
    }
    for event in &report.unchanged {
        writeln!(context.out(), "{event}: already {state}")?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::commands::install::{install, InstallOptions};

    fn installed() -> (tempfile::TempDir, ClaudePaths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(dir.path());
        std::fs::write(&paths.settings, r#"{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "mine.sh"}]}]}}"#).unwrap();
        let options = InstallOptions {
            force: false,
            binary: PathBuf::from("/m/mosaic"),
        };
        install(&paths, &options).unwrap();
        (dir, paths)
    }

    fn switch(paths: &ClaudePaths, events: &[&str], enabled: bool) -> Result<SwitchReport> {
        let events = events.iter().map(|event| event.to_string()).collect();
        set_enabled(
            paths,
            &SwitchOptions {
                selection: Selection::Events(events),
                enabled,
            },
        )
    }

    #[test]
    fn disable_then_enable_restores_the_file_byte_for_byte() {
        let (_dir, paths) = installed();
        let before = std::fs::read_to_string(&paths.settings).unwrap();
        let report = switch(&paths, &["Stop", "PreToolUse"], false).unwrap();
        assert_eq!(report.switched, ["Stop", "PreToolUse"]);
        let disabled = std::fs::read_to_string(&paths.settings).unwrap();
        assert!(!disabled.contains("bash-guard") && disabled.contains("mine.sh"));
        let again = switch(&paths, &["Stop"], false).unwrap();
        assert_eq!(again.unchanged, ["Stop"]);
        assert!(!again.written.any());
        switch(&paths, &["Stop", "PreToolUse"], true).unwrap();
        assert_eq!(std::fs::read_to_string(&paths.settings).unwrap(), before);
    }

    #[test]
    fn all_switches_every_event() {
        let (_dir, paths) = installed();
        let before = std::fs::read_to_string(&paths.settings).unwrap();
        let all = |enabled| SwitchOptions {
            selection: Selection::All,
            enabled,
        };
        set_enabled(&paths, &all(false)).unwrap();
        let disabled = std::fs::read_to_string(&paths.settings).unwrap();
        assert!(!disabled.contains("config hooks run"), "{disabled}");
        set_enabled(&paths, &all(true)).unwrap();
        assert_eq!(std::fs::read_to_string(&paths.settings).unwrap(), before);
    }

    #[test]
    fn an_event_without_a_mosaic_hook_changes_nothing() {
        let (_dir, paths) = installed();
        let before = std::fs::read_to_string(&paths.hooks_config).unwrap();
        let error = switch(&paths, &["Stop", "PreCompact"], false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("Mosaic has no hook on PreCompact"),
            "{error}"
        );
        assert!(error.contains("PreToolUse"), "{error}");
        assert_eq!(
            std::fs::read_to_string(&paths.hooks_config).unwrap(),
            before
        );
    }

    #[test]
    fn not_installed_says_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        for home in [dir.path().to_path_buf(), dir.path().join("missing")] {
            let error = switch(&ClaudePaths::new(&home), &["Stop"], false)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("run `mosaic config hooks install`"),
                "{error}"
            );
        }
    }
}
