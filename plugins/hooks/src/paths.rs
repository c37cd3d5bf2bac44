//! Where Claude Code's files are: `CLAUDE_HOME`, else `CLAUDE_CONFIG_DIR`, else
//! `~/.claude`, holding Claude Code's `settings.json` and Mosaic's record,
//! `hooks-config.json` — and whether that is the directory Claude Code reads
//! (`CLAUDE_CONFIG_DIR`, else `~/.claude`).
//!
//! Variables are read through the caller's lookup (the plugin passes
//! [`mosaic_plugin_api::Context::env`]), so a wizard's `invoke` overrides apply.
//! Nothing is created here.

use std::path::{Path, PathBuf};

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::claude::{claude_code_dir, claude_home};

pub use mosaic_plugin_api::sdk::claude::{HOOKS_CONFIG_FILE_NAME, SETTINGS_FILE_NAME};

/// The files of one Claude Code home directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudePaths {
    /// `CLAUDE_HOME`, else `CLAUDE_CONFIG_DIR`, else `~/.claude`.
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

    /// Resolves the Claude home from `CLAUDE_HOME`, else `CLAUDE_CONFIG_DIR`, else
    /// `$HOME/.claude` (the rule is shared with the wizard and the fleet:
    /// [`mosaic_plugin_api::sdk::claude::claude_home`]).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<ClaudePaths> {
        Ok(ClaudePaths::new(&claude_home(env)?))
    }

    /// A warning when this Claude home is not the directory Claude Code reads (as
    /// `env` sets it: `CLAUDE_CONFIG_DIR`, else `~/.claude`), so the hooks written
    /// here would never run; `None` when they are the same directory.
    pub fn unread_warning(&self, env: impl Fn(&str) -> Option<String>) -> Option<String> {
        let read_by_claude = claude_code_dir(env).ok()?;
        unread_warning(&self.claude_home, &read_by_claude)
    }
}

/// The warning of [`ClaudePaths::unread_warning`] for a managed directory and the
/// one Claude Code reads (compared as real paths where they exist).
pub fn unread_warning(managed: &Path, read_by_claude: &Path) -> Option<String> {
    let real = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if real(managed) == real(read_by_claude) {
        return None;
    }
    Some(format!(
        "Mosaic manages hooks in {} (CLAUDE_HOME), but Claude Code reads {} \
         (CLAUDE_CONFIG_DIR, else ~/.claude), so it will not run these hooks; unset \
         CLAUDE_HOME or set it to {}",
        managed.display(),
        read_by_claude.display(),
        read_by_claude.display()
    ))
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

    #[test]
    fn a_claude_home_claude_code_does_not_read_is_a_warning() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == key)
                    .map(|(_, value)| value.to_string())
            }
        };
        let same =
            ClaudePaths::from_env(env(&[("HOME", "/h"), ("CLAUDE_CONFIG_DIR", "/cfg")])).unwrap();
        assert_eq!(
            same.unread_warning(env(&[("HOME", "/h"), ("CLAUDE_CONFIG_DIR", "/cfg")])),
            None
        );
        let pairs: &'static [(&str, &str)] = &[
            ("HOME", "/h"),
            ("CLAUDE_CONFIG_DIR", "/cfg"),
            ("CLAUDE_HOME", "/h/.claude"),
        ];
        let paths = ClaudePaths::from_env(env(pairs)).unwrap();
        let warning = paths.unread_warning(env(pairs)).unwrap();
        assert!(warning.contains("manages hooks in /h/.claude"), "{warning}");
        assert!(warning.contains("Claude Code reads /cfg"), "{warning}");
        assert!(warning.contains("set it to /cfg"), "{warning}");

        let directory = tempfile::tempdir().unwrap();
        let real = directory.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, directory.path().join("link")).unwrap();
        assert_eq!(unread_warning(&directory.path().join("link"), &real), None);
    }
}
