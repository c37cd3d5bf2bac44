//! The fleet's settings in `config.json` (section `fleet`) and the environment,
//! resolved flag > environment > file > default like every Mosaic setting.
//!
//! The keys are declared here once: the manifest lists them (so `mosaic config show`
//! prints them), and the commands resolve them through `Context::config_value`,
//! which knows them from the manifest. Invalid values are errors that name the
//! variable or key, where it was set, and how to fix it.

use std::path::PathBuf;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::sdk::config::{self, ValueSource};
use mosaic_plugin_api::sdk::config_check;
use mosaic_plugin_api::{ConfigKeySpec, Context, ValueCheck};
use serde_json::Value;

use crate::status::Thresholds;

/// `fleet.heartbeat_interval`: seconds between heartbeats.
pub const HEARTBEAT_INTERVAL_KEY: &str = "fleet.heartbeat_interval";
/// The environment variable that overrides [`HEARTBEAT_INTERVAL_KEY`].
pub const HEARTBEAT_INTERVAL_ENV: &str = "MOSAIC_HEARTBEAT_INTERVAL";
/// `fleet.default_runtime`: the runtime `fleet launch` runs without `--runtime`.
pub const DEFAULT_RUNTIME_KEY: &str = "fleet.default_runtime";
/// The environment variable that overrides [`DEFAULT_RUNTIME_KEY`].
pub const DEFAULT_RUNTIME_ENV: &str = "MOSAIC_FLEET_RUNTIME";
/// `fleet.stale_after_intervals`: heartbeat intervals before an agent is stale.
pub const STALE_AFTER_KEY: &str = "fleet.stale_after_intervals";
/// `fleet.dead_after_intervals`: heartbeat intervals before an agent is dead.
pub const DEAD_AFTER_KEY: &str = "fleet.dead_after_intervals";

/// `fleet.trust_worktrees`: whether `fleet launch` marks a git worktree of a
/// repository the user trusts in Claude Code as trusted too, so Claude Code does not
/// stop to ask (see [`crate::claude_setup`]).
pub const TRUST_WORKTREES_KEY: &str = "fleet.trust_worktrees";

/// `fleet.worktree_dir`: where `fleet launch --worktree` puts the agents'
/// worktrees (`{repo}` stands for the repository's directory).
pub const WORKTREE_DIR_KEY: &str = "fleet.worktree_dir";

/// `fleet.on_state_change`: a shell command run (detached, at most 10 s) when an
/// agent's state changes. The hooks plugin runs it, from the activity hook, reading
/// the key from `config.json` itself (see `mosaic_hooks::state_change`).
pub const ON_STATE_CHANGE_KEY: &str = "fleet.on_state_change";

/// The default heartbeat interval in seconds.
pub const DEFAULT_HEARTBEAT_INTERVAL: u64 = 15;
/// The longest heartbeat interval accepted (a day).
pub const MAX_HEARTBEAT_INTERVAL: u64 = 86_400;
/// The runtime used when neither `--runtime` nor the configuration names one.
pub const DEFAULT_RUNTIME: &str = "claude";

/// The check of [`HEARTBEAT_INTERVAL_KEY`]: whole seconds, 1 to a day.
pub fn heartbeat_interval_check() -> ValueCheck {
    ValueCheck::integer(1, MAX_HEARTBEAT_INTERVAL as i64)
}

/// The check of the stale and dead thresholds: whole intervals, at least 1.
pub fn intervals_check() -> ValueCheck {
    ValueCheck::integer_at_least(1)
}

/// The check of [`DEFAULT_RUNTIME_KEY`]: a name that is not blank.
pub fn runtime_check() -> ValueCheck {
    ValueCheck::Text {
        max_len: None,
        non_blank: true,
    }
}

/// The check of [`WORKTREE_DIR_KEY`]: a path that is not blank (whether it is
/// absolute once `{repo}` and `~/` are expanded is checked at launch).
pub fn worktree_dir_check() -> ValueCheck {
    ValueCheck::Text {
        max_len: Some(4096),
        non_blank: true,
    }
}

/// The check of [`ON_STATE_CHANGE_KEY`]: a string (empty: no command).
pub fn on_state_change_check() -> ValueCheck {
    ValueCheck::Text {
        max_len: Some(8192),
        non_blank: false,
    }
}

/// The check of [`TRUST_WORKTREES_KEY`]: `true` or `false`.
pub fn trust_worktrees_check() -> ValueCheck {
    ValueCheck::Boolean
}

/// The `config.json` keys the fleet plugin reads, for its manifest (which is what
/// lets `Context::config_value` resolve them).
pub fn config_keys() -> Vec<ConfigKeySpec> {
    vec![
        ConfigKeySpec::new(
            HEARTBEAT_INTERVAL_KEY,
            "Seconds between an agent's heartbeats (whole seconds, at least 1)",
        )
        .default_value(DEFAULT_HEARTBEAT_INTERVAL)
        .env(HEARTBEAT_INTERVAL_ENV)
        .check(heartbeat_interval_check()),
        ConfigKeySpec::new(
            DEFAULT_RUNTIME_KEY,
            "The runtime `fleet launch` runs without --runtime",
        )
        .default_value(DEFAULT_RUNTIME)
        .env(DEFAULT_RUNTIME_ENV)
        .check(runtime_check()),
        ConfigKeySpec::new(
            STALE_AFTER_KEY,
            "Heartbeat intervals without a beat before `fleet ps` says stale",
        )
        .default_value(Thresholds::DEFAULT.stale_after_intervals())
        .check(intervals_check()),
        ConfigKeySpec::new(
            DEAD_AFTER_KEY,
            "Heartbeat intervals without a beat before `fleet ps` says dead",
        )
        .default_value(Thresholds::DEFAULT.dead_after_intervals())
        .check(intervals_check()),
        ConfigKeySpec::new(
            ON_STATE_CHANGE_KEY,
            "Shell command run when an agent becomes working, waiting or idle, with \
             MOSAIC_AGENT, MOSAIC_AGENT_STATE and MOSAIC_AGENT_MESSAGE set (detached, \
             stopped after 10 s; empty: none)",
        )
        .default_value("")
        .check(on_state_change_check()),
        ConfigKeySpec::new(
            WORKTREE_DIR_KEY,
            "Where `fleet launch --worktree` puts agent worktrees (<dir>/<AGENT>); {repo} \
             is the repository's directory",
        )
        .default_value(crate::worktree::DEFAULT_WORKTREE_DIR)
        .check(worktree_dir_check()),
        ConfigKeySpec::new(
            TRUST_WORKTREES_KEY,
            "Trust a git worktree in Claude Code when its repository is trusted there, so \
             an agent launched in it does not wait at \"Do you trust the files in this \
             folder?\" (true or false)",
        )
        .default_value(true)
        .check(trust_worktrees_check()),
    ]
}

/// The fleet settings of one command run, read through the context (flag >
/// environment > `config.json` > default) and checked with the fleet's rules.
pub struct Settings<'run, 'host> {
    context: &'run Context<'host>,
    file_path: PathBuf,
}

impl<'run, 'host> Settings<'run, 'host> {
    /// The settings of this run. `config.json` is read on the first value asked for
    /// (an error naming file, line and column if it is invalid).
    pub fn new(context: &'run Context<'host>) -> Settings<'run, 'host> {
        Settings {
            context,
            file_path: config::config_path(&context.config_dir()),
        }
    }

    /// The heartbeat interval in whole seconds, 1 to a day.
    pub fn heartbeat_interval(&self) -> Result<u64> {
        let (value, source) = self.resolve(HEARTBEAT_INTERVAL_KEY)?;
        let checked = config_check::check_value(&heartbeat_interval_check(), &value);
        match whole_number(&value) {
            Some(seconds) if checked.is_ok() => Ok(seconds),
            _ => bail!(
                "{}: expected a whole number of seconds from 1 to {MAX_HEARTBEAT_INTERVAL}, \
                 e.g. 15; {}",
                self.describe(HEARTBEAT_INTERVAL_KEY, &value, &source),
                self.fix(HEARTBEAT_INTERVAL_KEY, &source, "15")
            ),
        }
    }

    /// The runtime `fleet launch` uses without `--runtime`.
    pub fn default_runtime(&self) -> Result<String> {
        let (value, source) = self.resolve(DEFAULT_RUNTIME_KEY)?;
        let checked = config_check::check_value(&runtime_check(), &value);
        match value.as_str() {
            Some(name) if checked.is_ok() => Ok(name.trim().to_string()),
            _ => bail!(
                "{}: expected a runtime name such as \"claude\"; {}",
                self.describe(DEFAULT_RUNTIME_KEY, &value, &source),
                self.fix(DEFAULT_RUNTIME_KEY, &source, DEFAULT_RUNTIME)
            ),
        }
    }

    /// `fleet.worktree_dir` as configured (`{repo}` and `~/` not yet expanded).
    pub fn worktree_dir(&self) -> Result<String> {
        let (value, source) = self.resolve(WORKTREE_DIR_KEY)?;
        let checked = config_check::check_value(&worktree_dir_check(), &value);
        match value.as_str() {
            Some(dir) if checked.is_ok() => Ok(dir.trim().to_string()),
            _ => bail!(
                "{}: expected a directory such as \"{}\" or \"~/worktrees\"; {}",
                self.describe(WORKTREE_DIR_KEY, &value, &source),
                crate::worktree::DEFAULT_WORKTREE_DIR,
                self.fix(WORKTREE_DIR_KEY, &source, "'~/worktrees'")
            ),
        }
    }

    /// Whether to trust a worktree of a trusted repository in Claude Code
    /// (`fleet.trust_worktrees`).
    pub fn trust_worktrees(&self) -> Result<bool> {
        let (value, source) = self.resolve(TRUST_WORKTREES_KEY)?;
        match value.as_bool() {
            Some(trust) => Ok(trust),
            None => bail!(
                "{}: expected true or false; {}",
                self.describe(TRUST_WORKTREES_KEY, &value, &source),
                self.fix(TRUST_WORKTREES_KEY, &source, "true")
            ),
        }
    }

    /// The stale and dead thresholds of `fleet ps`.
    pub fn thresholds(&self) -> Result<Thresholds> {
        let stale = self.intervals(STALE_AFTER_KEY)?;
        let dead = self.intervals(DEAD_AFTER_KEY)?;
        Thresholds::new(stale, dead).map_err(|error| {
            error.context(format!(
                "check {STALE_AFTER_KEY} and {DEAD_AFTER_KEY} in {}",
                self.file_path.display()
            ))
        })
    }

    fn intervals(&self, key: &str) -> Result<u64> {
        let (value, source) = self.resolve(key)?;
        let checked = config_check::check_value(&intervals_check(), &value);
        match whole_number(&value) {
            Some(count) if checked.is_ok() => Ok(count),
            _ => bail!(
                "{}: expected a whole number of heartbeat intervals (at least 1); {}",
                self.describe(key, &value, &source),
                self.fix(key, &source, "4")
            ),
        }
    }

    fn resolve(&self, key: &str) -> Result<(Value, ValueSource)> {
        match self.context.config_value(key)? {
            Some(resolved) => Ok(resolved),
            None => bail!("{key} has no value and no default"),
        }
    }

    /// `MOSAIC_HEARTBEAT_INTERVAL="abc"` or `fleet.heartbeat_interval = "abc" in
    /// /home/me/.config/mosaic/config.json`.
    fn describe(&self, key: &str, value: &Value, source: &ValueSource) -> String {
        match source {
            ValueSource::Env(variable) => format!("{variable}={value}"),
            ValueSource::File => format!("{key} = {value} in {}", self.file_path.display()),
            ValueSource::Flag | ValueSource::Default => format!("{key} = {value}"),
        }
    }

    fn fix(&self, key: &str, source: &ValueSource, example: &str) -> String {
        match source {
            ValueSource::Env(variable) => {
                format!("set {variable} to a valid value (e.g. {example}) or unset it")
            }
            _ => format!("fix it with `mosaic config set {key} {example}`"),
        }
    }
}

/// A JSON number or a string holding digits, as a whole number (read as the SDK's
/// integer check reads it, so `mosaic config set` and the fleet agree).
fn whole_number(value: &Value) -> Option<u64> {
    config_check::integer_of(value).and_then(|number| u64::try_from(number).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_numbers_come_from_numbers_or_digit_strings() {
        assert_eq!(whole_number(&json!(15)), Some(15));
        assert_eq!(whole_number(&json!(" 7 ")), Some(7));
        for bad in [
            json!("abc"),
            json!("1.5"),
            json!("-1"),
            json!(1.5),
            json!(-3),
            json!(""),
            json!(null),
        ] {
            assert_eq!(whole_number(&bad), None, "{bad}");
        }
    }

    #[test]
    fn every_key_is_in_the_fleet_section() {
        for spec in config_keys() {
            assert!(spec.key.starts_with("fleet."), "{}", spec.key);
            assert!(spec.default.is_some(), "{}", spec.key);
        }
    }
}
