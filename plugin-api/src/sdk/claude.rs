//! Where Claude Code keeps its files: `CLAUDE_HOME`, else `~/.claude`. The hooks
//! plugin writes there and the wizard looks there, so the rule lives here, once.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Mosaic's record of its hooks inside the Claude home.
pub const HOOKS_CONFIG_FILE_NAME: &str = "hooks-config.json";

/// Claude Code's settings file, the one it reads hooks from.
pub const SETTINGS_FILE_NAME: &str = "settings.json";

/// `CLAUDE_HOME`, else `$HOME/.claude`. A leading `~/` in `CLAUDE_HOME` (set in a
/// file no shell expanded) means `$HOME`. Variables come from `env`, normally
/// [`crate::Context::env`], so `invoke` overrides apply.
pub fn claude_home(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf> {
    let home = env("HOME").filter(|value| !value.is_empty());
    if let Some(claude_home) = env("CLAUDE_HOME").filter(|value| !value.is_empty()) {
        return Ok(match (claude_home.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => Path::new(home).join(rest),
            (None, Some(home)) if claude_home == "~" => PathBuf::from(home),
            _ => PathBuf::from(&claude_home),
        });
    }
    match home {
        Some(home) => Ok(Path::new(&home).join(".claude")),
        None => bail!(
            "cannot find Claude Code's directory: neither CLAUDE_HOME nor HOME is set \
             (set CLAUDE_HOME, e.g. CLAUDE_HOME=$HOME/.claude)"
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
}
