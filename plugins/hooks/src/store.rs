//! Changing `hooks-config.json` and `settings.json` together, safely.
//!
//! Every command that changes either file goes through [`update`]: it takes an
//! exclusive lock (`<CLAUDE_HOME>/.hooks-config.json.lock`) so two `mosaic config
//! hooks …` processes run one after the other and lose no update, reads and
//! validates *both* files before changing anything (an invalid file aborts the
//! command with both files untouched), and writes only the files whose content
//! changed, each atomically (temp file + fsync + rename).
//!
//! The record is written before `settings.json` (and deleted after it): if the
//! process dies between the two writes, running the same command again finishes
//! the job, because every command re-mirrors the record into `settings.json`.
//! Claude Code itself does not take this lock; a write it makes at the same moment
//! can still win, but never leaves a torn file.

use mosaic_plugin_api::anyhow::{Context as _, Result};
use mosaic_plugin_api::sdk::fs::{create_dir_all_with_mode, FileLock};
use serde_json::{Map, Value};

use crate::hooks_config::{self, HooksConfig};
use crate::paths::ClaudePaths;
use crate::settings;

/// Which files an [`update`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// `hooks-config.json` was written or deleted.
    pub hooks_config: bool,
    /// `settings.json` was written.
    pub settings: bool,
}

impl Written {
    /// Whether anything changed on disk.
    pub fn any(&self) -> bool {
        self.hooks_config || self.settings
    }
}

/// Loads both files under the lock, lets `change` edit them (setting the record to
/// `None` deletes `hooks-config.json`), and saves what changed. With
/// `create_home`, a missing Claude home is created with mode 0700.
pub fn update<T>(
    paths: &ClaudePaths,
    create_home: bool,
    change: impl FnOnce(&mut Option<HooksConfig>, &mut Map<String, Value>) -> Result<T>,
) -> Result<(T, Written)> {
    if create_home {
        create_dir_all_with_mode(&paths.claude_home, 0o700)?;
    }
    let _lock = FileLock::exclusive(&paths.hooks_config).with_context(|| {
        format!(
            "cannot lock Mosaic's hooks in {} (is the directory writable?)",
            paths.claude_home.display()
        )
    })?;
    let original_record = hooks_config::load(&paths.hooks_config)?;
    let original_settings = settings::load(&paths.settings)?;
    let mut record = original_record.clone();
    let mut settings_value = original_settings.clone();
    let result = change(&mut record, &mut settings_value)?;

    let mut written = Written::default();
    let new_settings = settings::render(&settings_value)?;
    let settings_changed = if paths.settings.exists() {
        settings::render(&original_settings)? != new_settings
    } else {
        !settings_value.is_empty()
    };
    if let (Some(new_record), true) = (&record, record != original_record) {
        hooks_config::save(&paths.hooks_config, new_record)?;
        written.hooks_config = true;
    }
    if settings_changed {
        settings::save(&paths.settings, &new_settings)?;
        written.settings = true;
    }
    if record.is_none() && original_record.is_some() {
        std::fs::remove_file(&paths.hooks_config)
            .with_context(|| format!("cannot delete {}", paths.hooks_config.display()))?;
        written.hooks_config = true;
    }
    Ok((result, written))
}

/// Reads both files for a report. Takes the lock when it can, so a report never
/// shows the moment between the two writes of a running command; a Claude home
/// this user cannot write is still readable.
pub fn read(paths: &ClaudePaths) -> Result<(Option<HooksConfig>, Map<String, Value>)> {
    let _lock = paths
        .claude_home
        .is_dir()
        .then(|| FileLock::exclusive(&paths.hooks_config).ok())
        .flatten();
    Ok((
        hooks_config::load(&paths.hooks_config)?,
        settings::load(&paths.settings)?,
    ))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;
    use crate::hooks_config::default_hooks;

    #[test]
    fn creates_a_missing_home_private_and_writes_only_changes() {
        let root = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(&root.path().join("deep/.claude"));
        let ((), written) = update(&paths, true, |record, settings| {
            *record = Some(HooksConfig::new(default_hooks(Path::new("/m/mosaic"))));
            settings.insert("a".into(), Value::from(1));
            Ok(())
        })
        .unwrap();
        assert_eq!(
            written,
            Written {
                hooks_config: true,
                settings: true
            }
        );
        let mode = std::fs::metadata(&paths.claude_home)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
        let ((), written) = update(&paths, false, |_, _| Ok(())).unwrap();
        assert!(!written.any());
    }

    #[test]
    fn a_reformatted_but_equal_settings_file_is_not_rewritten() {
        let root = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(root.path());
        std::fs::write(&paths.settings, "{\"b\":1,    \"a\":[1,2]}").unwrap();
        let ((), written) = update(&paths, false, |_, _| Ok(())).unwrap();
        assert!(!written.any());
        assert_eq!(
            std::fs::read_to_string(&paths.settings).unwrap(),
            "{\"b\":1,    \"a\":[1,2]}"
        );
    }

    #[test]
    fn an_invalid_file_stops_the_change_before_anything_is_written() {
        let root = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(root.path());
        std::fs::write(&paths.settings, "{\"hooks\": [}").unwrap();
        let error = update(&paths, false, |record, _| {
            *record = Some(HooksConfig::new(Vec::new()));
            Ok(())
        })
        .unwrap_err();
        assert!(error.to_string().contains("settings.json:1:12"), "{error}");
        assert!(!paths.hooks_config.exists());
    }

    #[test]
    fn setting_the_record_to_none_deletes_it() {
        let root = tempfile::tempdir().unwrap();
        let paths = ClaudePaths::new(root.path());
        update(&paths, false, |record, _| {
            *record = Some(HooksConfig::new(Vec::new()));
            Ok(())
        })
        .unwrap();
        assert!(paths.hooks_config.exists());
        let ((), written) = update(&paths, false, |record, _| {
            *record = None;
            Ok(())
        })
        .unwrap();
        assert!(written.hooks_config);
        assert!(!paths.hooks_config.exists());
    }
}
