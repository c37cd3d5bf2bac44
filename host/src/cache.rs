//! The manifest cache: what loading each plugin file found out, so a warm run builds
//! the whole command tree without opening a single library.
//!
//! An index file in the cache dir (`plugin-manifests.bin`, compact binary because it
//! is decoded on every run) holds, per plugin file, its stamp and a summary of its
//! manifest; each full manifest is a JSON file of its own under `plugin-manifests/`,
//! read only when that plugin's command runs. An entry is valid for one path with
//! the same size, mtime, ctime and inode (a rebuild of the same size within one timer
//! tick still changes the ctime or, renamed into place, the inode); the whole index
//! is valid for one host version and API version. A changed, added or removed plugin
//! file therefore invalidates its own entry. A corrupt or half-written index is
//! ignored and rebuilt. Writers take a lock, merge with what is on disk and replace
//! the file atomically, so two `mosaic` processes refreshing it at once cannot
//! corrupt it.
//!
//! Only successes are cached. Why a file failed to load can lie outside the file — a
//! `manifest()` that panics on something in the environment, a library it links to
//! that is missing for now — and a cached failure would outlive its cause until the
//! file is touched. So a broken or incompatible plugin file is loaded again on every
//! run (one `dlopen` and a manifest call each); the warm start of the good plugins
//! stays free of loads.

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode, FileLock};
use mosaic_plugin_api::API_VERSION;
use serde::{Deserialize, Serialize};

use crate::discovery::FileStamp;
use crate::loader::{LoadedPlugin, PluginSummary, HOST_VERSION};

/// Bumped whenever the layout of the index changes (6: successes only,
/// [`CachedPlugin`]).
const CACHE_FORMAT: u32 = 6;

/// The first bytes of the cache file, so that any other file (an older JSON cache,
/// garbage) is recognised as not ours before it is decoded.
const CACHE_MAGIC: &[u8] = b"mosaic-manifest-cache\n";

/// The cache index's name in the cache dir.
pub const CACHE_FILE_NAME: &str = "plugin-manifests.bin";

/// Where a plugin's full manifest JSON is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestJson {
    /// In memory: inline in the index, when its own file could not be written.
    Text(String),
    /// In a file of the cache, under `plugin-manifests/`.
    CacheFile(PathBuf),
}

impl ManifestJson {
    /// The JSON text.
    pub fn read(&self) -> std::io::Result<String> {
        match self {
            ManifestJson::Text(text) => Ok(text.clone()),
            ManifestJson::CacheFile(path) => std::fs::read_to_string(path),
        }
    }
}

/// What the cache remembers of a plugin file that loaded and whose manifest passed
/// every check.
///
/// The full manifest is kept apart from the summary: a run decodes only the
/// summaries, plus the manifest of the plugin it runs, so start-up does not grow
/// with every command of every installed plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedPlugin {
    /// The `mosaic-plugin-api` version it was built against.
    pub api_version: String,
    /// Its manifest's summary.
    pub summary: Box<PluginSummary>,
    /// Where its whole manifest is.
    pub manifest: ManifestJson,
}

/// One cached plugin file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheEntry {
    /// The file as it was when it was loaded.
    stamp: FileStamp,
    /// What loading it found.
    plugin: CachedPlugin,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    host_version: String,
    api_version: String,
    entries: BTreeMap<String, CacheEntry>,
}

/// The directory (inside the cache dir) holding one JSON file per cached manifest.
const MANIFEST_DIR_NAME: &str = "plugin-manifests";

/// Unreferenced manifest files younger than this are kept: another process may have
/// written one and not yet saved the index that refers to it.
const MANIFEST_FILE_GRACE: Duration = Duration::from_secs(60);

/// The cache of one run: what was on disk, handed out entry by entry, plus what
/// this run learned.
///
/// Keys are paths as text in a `BTreeMap`: hashing and comparing `PathBuf` goes
/// component by component, which showed up in start-up profiles with 100 plugins.
#[derive(Debug)]
pub struct ManifestCache {
    path: PathBuf,
    manifest_dir: PathBuf,
    entries: BTreeMap<String, CacheEntry>,
    fresh: BTreeMap<String, CacheEntry>,
    /// Files whose entry on disk is out of date and which did not load this run:
    /// their entry goes, unless it is for the stamp given here (another process
    /// loaded this very file meanwhile).
    stale: BTreeMap<String, FileStamp>,
}

fn key_of(path: &Path) -> Cow<'_, str> {
    path.to_string_lossy()
}

impl ManifestCache {
    /// Reads the cache; anything unreadable or from another host is treated as empty.
    pub fn load(cache_dir: &Path) -> ManifestCache {
        let path = cache_dir.join(CACHE_FILE_NAME);
        let entries = read_entries(&path).unwrap_or_default();
        ManifestCache {
            path,
            manifest_dir: cache_dir.join(MANIFEST_DIR_NAME),
            entries,
            fresh: BTreeMap::new(),
            stale: BTreeMap::new(),
        }
    }

    /// Takes the cached plugin for a file out of the cache, if it is still the same
    /// file (moved, not copied: each file is asked for once per run). The entry stays
    /// in the file on disk.
    pub fn take(&mut self, path: &Path, stamp: &FileStamp) -> Option<CachedPlugin> {
        let key = key_of(path);
        match self.entries.remove(key.as_ref()) {
            Some(entry) if entry.stamp == *stamp => Some(entry.plugin),
            Some(_) => {
                self.stale.insert(key.into_owned(), *stamp);
                None
            }
            None => None,
        }
    }

    /// Records a plugin file that loaded and returns it as the cache keeps it. A full
    /// manifest goes to a file of its own (the index then holds only the summary);
    /// if that file cannot be written the manifest stays inline, which is only
    /// slower.
    pub fn insert(&mut self, path: &Path, stamp: FileStamp, plugin: LoadedPlugin) -> CachedPlugin {
        let manifest = match self.write_manifest_file(&plugin.summary.name, &plugin.manifest_json) {
            Ok(file) => ManifestJson::CacheFile(file),
            Err(error) => {
                tracing::debug!(
                    "keeping the manifest of {} inline: {error:#}",
                    path.display()
                );
                ManifestJson::Text(plugin.manifest_json)
            }
        };
        let cached = CachedPlugin {
            api_version: plugin.api_version,
            summary: Box::new(plugin.summary),
            manifest,
        };
        let key = key_of(path).into_owned();
        self.stale.remove(&key);
        self.fresh.insert(
            key,
            CacheEntry {
                stamp,
                plugin: cached.clone(),
            },
        );
        cached
    }

    fn write_manifest_file(&self, plugin: &str, text: &str) -> Result<PathBuf> {
        create_dir_all_with_mode(&self.manifest_dir, 0o700)?;
        let mut hasher = DefaultHasher::new();
        text.hash(&mut hasher);
        let file = self
            .manifest_dir
            .join(format!("{plugin}-{:016x}.json", hasher.finish()));
        if !file.exists() {
            atomic_write(&file, text.as_bytes(), Some(0o600))?;
        }
        Ok(file)
    }

    /// Writes what this run learned into the cache file, if anything. Entries of
    /// files that no longer exist are dropped then. Failures only cost speed, so they
    /// are logged, not reported as errors.
    pub fn save(&self, searched_dirs: &[PathBuf]) {
        // What was not taken belongs to files this run did not find: if one of them
        // was in a searched directory, it is gone and the file should forget it.
        let forgotten = self.entries.keys().any(|key| {
            let path = Path::new(key);
            path.parent()
                .is_some_and(|parent| searched_dirs.iter().any(|dir| dir == parent))
                && !path.exists()
        });
        if self.fresh.is_empty() && self.stale.is_empty() && !forgotten {
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
        merged.retain(|key, entry| {
            Path::new(key).exists()
                && self
                    .stale
                    .get(key)
                    .is_none_or(|current| entry.stamp == *current)
        });
        for (key, entry) in &self.fresh {
            merged.insert(key.clone(), entry.clone());
        }
        let referenced: HashSet<PathBuf> = merged
            .values()
            .filter_map(|entry| match &entry.plugin.manifest {
                ManifestJson::CacheFile(file) => Some(file.clone()),
                ManifestJson::Text(_) => None,
            })
            .collect();
        let file = CacheFile {
            format: CACHE_FORMAT,
            host_version: HOST_VERSION.to_string(),
            api_version: API_VERSION.to_string(),
            entries: merged,
        };
        let mut bytes = CACHE_MAGIC.to_vec();
        bytes.extend(postcard::to_allocvec(&file)?);
        atomic_write(&self.path, &bytes, Some(0o600))?;
        self.remove_unreferenced_manifests(&referenced);
        Ok(())
    }

    fn remove_unreferenced_manifests(&self, referenced: &HashSet<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(&self.manifest_dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let old_enough = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > MANIFEST_FILE_GRACE);
            if old_enough && !referenced.contains(&path) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

fn read_entries(path: &Path) -> Option<BTreeMap<String, CacheEntry>> {
    let bytes = std::fs::read(path).ok()?;
    let Some(body) = bytes.strip_prefix(CACHE_MAGIC) else {
        tracing::debug!(
            "ignoring manifest cache {} of another format",
            path.display()
        );
        return None;
    };
    let file: CacheFile = match postcard::from_bytes(body) {
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

    fn loaded() -> LoadedPlugin {
        LoadedPlugin {
            api_version: API_VERSION.to_string(),
            summary: PluginSummary {
                name: "x".into(),
                version: "1.0.0".into(),
                description: String::new(),
                host_requirement: "*".into(),
                commands: Vec::new(),
            },
            manifest_json: "{}".into(),
        }
    }

    const STAMP: FileStamp = FileStamp {
        size: 1,
        mtime_ns: 5,
        ctime_ns: 7,
        inode: 9,
    };

    #[test]
    fn entry_is_invalidated_by_any_part_of_the_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("libmosaic_x.so");
        std::fs::write(&plugin, b"x").unwrap();
        let stamp = STAMP;
        let mut cache = ManifestCache::load(dir.path());
        cache.insert(&plugin, stamp, loaded());
        cache.save(&[]);
        assert!(ManifestCache::load(dir.path())
            .take(&plugin, &stamp)
            .is_some());
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
            let mut cache = ManifestCache::load(dir.path());
            assert!(cache.take(&plugin, &changed).is_none(), "{changed:?}");
        }
    }

    #[test]
    fn corrupt_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CACHE_FILE_NAME), b"{\"format\":1,\"entr").unwrap();
        let cache = ManifestCache::load(dir.path());
        assert!(cache.entries.is_empty());
    }

    #[test]
    fn an_entry_whose_file_changed_and_failed_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let plugin = dir.path().join("libmosaic_x.so");
        std::fs::write(&plugin, b"x").unwrap();
        let mut cache = ManifestCache::load(dir.path());
        cache.insert(&plugin, STAMP, loaded());
        cache.save(&[]);

        // The file changed and no longer loads: nothing is inserted for it.
        let changed = FileStamp { size: 2, ..STAMP };
        let mut cache = ManifestCache::load(dir.path());
        assert!(cache.take(&plugin, &changed).is_none());
        cache.save(&[]);
        let cache = ManifestCache::load(dir.path());
        assert!(cache.entries.is_empty(), "{:?}", cache.entries);
    }
}
