//! Where Claude Code's files are: `CLAUDE_HOME` (else `~/.claude`), holding Claude
//! Code's `settings.json` and Mosaic's record, `hooks-config.json`.
//!
//! Variables are read through the caller's lookup (the plugin passes
//! [`mosaic_plugin_api::Context::env`]), so a wizard's `invoke` overrides apply.
//! Nothing is created here.

use std::path::{Path, PathBuf};

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::claude::claude_home;

pub use mosaic_plugin_api::sdk::claude::{HOOKS_CONFIG_FILE_NAME, SETTINGS_FILE_NAME};

/// The files of one Claude Code home directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudePaths {
    /// `CLAUDE_HOME`, else `~/.claude`.
    pub claude_home: PathBuf,
    /// `<claude_home>/settings.json`.
    pub settings: PathBuf,
    /// `<claude_home>/hooks-config.json`.
    pub hooks_config: PathBuf,
}

impl ClaudePaths {
    /// The files inside `claude_home`.
    pub fn new(claude_home: &Path) -> ClaudePaths {
        ClaudePaths {
            claude_home: claude_home.to_path_buf(),
            settings: claude_home.join(SETTINGS_FILE_NAME),
            hooks_config: claude_home.join(HOOKS_CONFIG_FILE_NAME),
        }
    }

    /// Resolves the Claude home from `CLAUDE_HOME`, else `$HOME/.claude` (the rule
    /// is shared with the wizard: [`mosaic_plugin_api::sdk::claude::claude_home`]).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<ClaudePaths> {
        Ok(ClaudePaths::new(&claude_home(env)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // How the Claude home is found is tested in the SDK (`sdk::claude`); here only
    // the files inside it.
    #[test]
    fn the_files_live_in_the_claude_home() {
        let paths = ClaudePaths::new(Path::new("/c"));
        assert_eq!(paths.settings, PathBuf::from("/c/settings.json"));
        assert_eq!(paths.hooks_config, PathBuf::from("/c/hooks-config.json"));
    }
}
