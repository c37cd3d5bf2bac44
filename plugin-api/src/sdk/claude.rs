//! Where Claude Code keeps its files. Mosaic manages `CLAUDE_HOME`, else
//! `CLAUDE_CONFIG_DIR` (Claude Code's own variable for its directory), else
//! `~/.claude`; Claude Code itself reads `CLAUDE_CONFIG_DIR`, else `~/.claude`, and
//! keeps its global state (onboarding done, trusted folders) in `.claude.json` in
//! `CLAUDE_CONFIG_DIR`, else in the home directory. The hooks plugin, the fleet and
//! the wizard all look there, so the rules live here, once.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Mosaic's record of its hooks inside the Claude home.
pub const HOOKS_CONFIG_FILE_NAME: &str = "hooks-config.json";

/// Claude Code's settings file, the one it reads hooks from.
pub const SETTINGS_FILE_NAME: &str = "settings.json";

/// Claude Code's global state file (onboarding, trusted folders), in
/// [`CLAUDE_CONFIG_DIR_ENV`] when set, else in the home directory.
pub const GLOBAL_STATE_FILE_NAME: &str = ".claude.json";

/// Mosaic's own override of the Claude Code directory it manages.
pub const CLAUDE_HOME_ENV: &str = "CLAUDE_HOME";

/// Claude Code's variable for its directory (settings, and `.claude.json`).
pub const CLAUDE_CONFIG_DIR_ENV: &str = "CLAUDE_CONFIG_DIR";

/// The directory Mosaic manages: `CLAUDE_HOME`, else `CLAUDE_CONFIG_DIR`, else
/// `$HOME/.claude`. A leading `~/` in either variable (set in a file no shell
/// expanded) means `$HOME`. Variables come from `env`, normally
/// [`crate::Context::env`], so `invoke` overrides apply.
pub fn claude_home(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    if let Some(directory) = variable_dir(&env, CLAUDE_HOME_ENV) {
        return Ok(directory);
    }
    claude_code_dir(env)
}

/// The directory Claude Code itself reads: `CLAUDE_CONFIG_DIR`, else
/// `$HOME/.claude` (`CLAUDE_HOME` is Mosaic's, Claude Code does not know it).
pub fn claude_code_dir(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    if let Some(directory) = variable_dir(&env, CLAUDE_CONFIG_DIR_ENV) {
        return Ok(directory);
    }
    Ok(home_dir(&env)?.join(".claude"))
}

/// Claude Code's global state file: `$CLAUDE_CONFIG_DIR/.claude.json`, else
/// `$HOME/.claude.json`.
pub fn global_state_path(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    let directory = match variable_dir(&env, CLAUDE_CONFIG_DIR_ENV) {
        Some(directory) => directory,
        None => home_dir(&env)?,
    };
    Ok(directory.join(GLOBAL_STATE_FILE_NAME))
}

/// The directory named by `variable`, when set and not empty, with `~` expanded.
fn variable_dir(env: &impl Fn(&str) -> Option<String>, variable: &str) -> Option<PathBuf> {
    let value = env(variable).filter(|value| !value.is_empty())?;
    let home = env("HOME").filter(|value| !value.is_empty());
    Some(match (value.strip_prefix("~/"), &home) {
        (Some(rest), Some(home)) => Path::new(home).join(rest),
        (None, Some(home)) if value == "~" => PathBuf::from(home),
        _ => PathBuf::from(&value),
    })
}

fn home_dir(env: &impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    match env("HOME").filter(|value| !value.is_empty()) {
        Some(home) => Ok(PathBuf::from(home)),
        None => bail!(
            "cannot find Claude Code's directory: none of CLAUDE_HOME, CLAUDE_CONFIG_DIR and \
             HOME is set (set CLAUDE_CONFIG_DIR, e.g. CLAUDE_CONFIG_DIR=$HOME/.claude)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn claude_home_wins_and_tilde_means_home() {
        assert_eq!(
            claude_home(lookup(&[("HOME", "/h")])).unwrap(),
            PathBuf::from("/h/.claude")
        );
        assert_eq!(
            claude_home(lookup(&[("HOME", "/h"), ("CLAUDE_HOME", "/c")])).unwrap(),
            PathBuf::from("/c")
        );
        assert_eq!(
            claude_home(lookup(&[("HOME", "/h"), ("CLAUDE_HOME", "~/cc")])).unwrap(),
            PathBuf::from("/h/cc")
        );
        assert!(claude_home(lookup(&[])).is_err());
    }

    #[test]
    fn claude_config_dir_comes_between_claude_home_and_the_default() {
        let both = [("HOME", "/h"), ("CLAUDE_CONFIG_DIR", "/cfg")];
        assert_eq!(claude_home(lookup(&both)).unwrap(), PathBuf::from("/cfg"));
        assert_eq!(
            claude_code_dir(lookup(&both)).unwrap(),
            PathBuf::from("/cfg")
        );
        let all = [
            ("HOME", "/h"),
            ("CLAUDE_CONFIG_DIR", "/cfg"),
            ("CLAUDE_HOME", "/c"),
        ];
        assert_eq!(claude_home(lookup(&all)).unwrap(), PathBuf::from("/c"));
        assert_eq!(
            claude_code_dir(lookup(&all)).unwrap(),
            PathBuf::from("/cfg"),
            "Claude Code does not read CLAUDE_HOME"
        );
        assert_eq!(
            claude_code_dir(lookup(&[("HOME", "/h"), ("CLAUDE_HOME", "/c")])).unwrap(),
            PathBuf::from("/h/.claude")
        );
        assert_eq!(
            claude_home(lookup(&[("CLAUDE_CONFIG_DIR", "/cfg")])).unwrap(),
            PathBuf::from("/cfg"),
            "no HOME needed"
        );
    }

    #[test]
    fn the_global_state_file_is_in_claude_config_dir_else_in_home() {
        assert_eq!(
            global_state_path(lookup(&[("HOME", "/h"), ("CLAUDE_HOME", "/c")])).unwrap(),
            PathBuf::from("/h/.claude.json")
        );
        assert_eq!(
            global_state_path(lookup(&[("HOME", "/h"), ("CLAUDE_CONFIG_DIR", "~/cfg")])).unwrap(),
            PathBuf::from("/h/cfg/.claude.json")
        );
        assert!(global_state_path(lookup(&[])).is_err());
    }
}
