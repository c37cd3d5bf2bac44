//! The manifest cache: what loading each plugin file found out, so a warm run builds
//! the whole command tree without opening a single library.
//!
//! One JSON file in the cache dir. An entry is valid for one path with the same size,
//! mtime, ctime and inode (a rebuild of the same size within one timer tick still
//! changes the ctime or, when renamed into place, the inode); the whole file is valid for one host version and API version. A changed,
//! added or removed plugin file therefore invalidates its own entry. A corrupt or
//! half-written cache is ignored and rebuilt. Writers take a lock, merge with what is
//! on disk and replace the file atomically, so two `mosaic` processes refreshing it at
//! once cannot corrupt it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode, FileLock};
use mosaic_plugin_api::API_VERSION;
use serde::{Deserialize, Serialize};

use crate::loader::{LoadOutcome, HOST_VERSION};

const CACHE_FORMAT: u32 = 2;

/// The cache file's name in the cache dir.
pub const CACHE_FILE_NAME: &str = "plugin-manifests.json";

/// What identifies one version of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds.
    pub mtime_ns: i64,
    /// Status-change time in nanoseconds (changes on every write, chmod, rename).
    pub ctime_ns: i64,
    /// Inode number.
    pub inode: u64,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(metadata: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            size: metadata.size(),
            mtime_ns: metadata.mtime() * 1_000_000_000 + metadata.mtime_nsec(),
            ctime_ns: metadata.ctime() * 1_000_000_000 + metadata.ctime_nsec(),
            inode: metadata.ino(),
        }
    }
}

/// One cached plugin file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheEntry {
    /// The file as it was when it was loaded.
    pub stamp: FileStamp,
    /// What loading it found.
    pub outcome: LoadOutcome,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    host_version: String,
    api_version: String,
    entries: BTreeMap<PathBuf, CacheEntry>,
}

/// The cache of one run: what was on disk plus what this run learned.
#[derive(Debug)]
pub struct ManifestCache {
    path: PathBuf,
    entries: BTreeMap<PathBuf, CacheEntry>,
    changed: bool,
}

impl ManifestCache {
    /// Reads the cache; anything unreadable or from another host is treated as empty.
    pub fn load(cache_dir: &Path) -> ManifestCache {
        let path = cache_dir.join(CACHE_FILE_NAME);
        let entries = read_entries(&path).unwrap_or_default();
        ManifestCache {
            path,
            entries,
            changed: false,
        }
    }

    /// The cached outcome for a file, if it is still the same file.
    pub fn get(&self, path: &Path, stamp: &FileStamp) -> Option<&LoadOutcome> {
        self.entries
            .get(path)
            .filter(|entry| entry.stamp == *stamp)
            .map(|entry| &entry.outcome)
    }

    /// Records what loading a file found.
    pub fn insert(&mut self, path: &Path, stamp: FileStamp, outcome: LoadOutcome) {
        self.entries
            .insert(path.to_path_buf(), CacheEntry { stamp, outcome });
        self.changed = true;
    }

    /// Drops entries for files not in `present` (removed plugins).
    pub fn retain_only(&mut self, present: &[PathBuf], searched_dirs: &[PathBuf]) {
        let before = self.entries.len();
        // Only forget files in directories this run searched: another run with other
        // `--plugin-dir`s may still use the rest.
        self.entries.retain(|path, _| {
            present.contains(path)
                || !path
                    .parent()
                    .is_some_and(|parent| searched_dirs.iter().any(|dir| dir == parent))
        });
        if self.entries.len() != before {
            self.changed = true;
        }
    }

    /// Writes the cache back if this run changed it. Failures only cost speed, so
    /// they are logged, not reported as errors.
    pub fn save(&self) {
        if !self.changed {
            return;
        }
        if let Err(error) = self.merge_and_write() {
            tracing::debug!(
                "cannot write the manifest cache {}: {error:#}",
                self.path.display()
            );
        }
    }

    fn merge_and_write(&self) -> Result<()> {
        if let Some(parent) = self.path.parent() {
            create_dir_all_with_mode(parent, 0o700)?;
        }
        let _lock = FileLock::exclusive(&self.path)?;
        // Another process may have written entries for other files meanwhile: keep
        // theirs, ours win for the files we just examined.
        let mut merged = read_entries(&self.path).unwrap_or_default();
        merged.retain(|path, _| path.exists());
        for (path, entry) in &self.entries {
            merged.insert(path.clone(), entry.clone());
        }
        let file = CacheFile {
            format: CACHE_FORMAT,
            host_version: HOST_VERSION.to_string(),
            api_version: API_VERSION.to_string(),
            entries: merged,
        };
        let text = serde_json::to_vec(&file)?;
        atomic_write(&self.path, &text, Some(0o600))
    }
}

fn read_entries(path: &Path) -> Option<BTreeMap<PathBuf, CacheEntry>> {
    let bytes = std::fs::read(path).ok()?;
    let file: CacheFile = match serde_json::from_slice(&bytes) {
        Ok(file) => file,
        Err(error) => {
            tracing::debug!(
                "ignoring unreadable manifest cache {}: {error}",
                path.display()
            );
            return None;
        }
    };
    (file.format == CACHE_FORMAT
        && file.host_version == HOST_VERSION
        && file.api_version == API_VERSION)
        .then_some(file.entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken() -> LoadOutcome {
        LoadOutcome::Broken {
            reason: "r".into(),
            detail: "d".into(),
        }
    }

    #[test]
    fn entry_is_invalidated_by_any_part_of_the_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("libmosaic_x.so");
        std::fs::write(&plugin, b"x").unwrap();
        let stamp = FileStamp {
            size: 1,
            mtime_ns: 5,
            ctime_ns: 7,
            inode: 9,
        };
        let mut cache = ManifestCache::load(dir.path());
        cache.insert(&plugin, stamp, broken());
        cache.save();
        let cache = ManifestCache::load(dir.path());
        assert!(cache.get(&plugin, &stamp).is_some());
        for changed in [
            FileStamp { size: 2, ..stamp },
            FileStamp {
                mtime_ns: 6,
                ..stamp
            },
            FileStamp {
                ctime_ns: 8,
                ..stamp
            },
            FileStamp { inode: 10, ..stamp },
        ] {
            assert!(cache.get(&plugin, &changed).is_none(), "{changed:?}");
        }
    }

    #[test]
    fn corrupt_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CACHE_FILE_NAME), b"{\"format\":1,\"entr").unwrap();
        let cache = ManifestCache::load(dir.path());
        assert!(cache.entries.is_empty());
    }
}
