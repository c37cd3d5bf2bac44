//! Finding plugin files on the search path: every `libmosaic_*.so` in each search
//! directory, with the facts the cache and the trust check need (the file's
//! [`FileStamp`], its owner and mode). Nothing is loaded here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::paths::{plugin_name_from_file, SearchDir};
use crate::trust::untrusted_reason;

/// What identifies one version of a file on disk: the key of the manifest cache,
/// and the proof the loader needs to skip a layout check it already did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// A search directory as found on disk.
#[derive(Debug, Clone)]
pub struct DirReport {
    /// The directory and why it is searched.
    pub dir: SearchDir,
    /// Whether it exists.
    pub exists: bool,
    /// Why it is not trusted (its plugins are then not loaded).
    pub untrusted: Option<String>,
    /// Why it could not be read.
    pub error: Option<String>,
}

/// A plugin file found on the search path.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Full path of the library.
    pub path: PathBuf,
    /// The plugin name its file name stands for.
    pub file_plugin_name: String,
    /// Which search directory it is in.
    pub origin: &'static str,
    /// Size, times and inode: the cache key.
    pub stamp: FileStamp,
    /// Why the file (or its directory) is not trusted.
    pub untrusted: Option<String>,
}

/// Lists the search directories and the plugin files in them, in search order
/// (within a directory, by file name).
pub fn discover(search: &[SearchDir]) -> (Vec<DirReport>, Vec<Candidate>) {
    let mut reports = Vec::new();
    let mut candidates = Vec::new();
    for dir in search {
        let metadata = match std::fs::metadata(&dir.path) {
            Ok(metadata) if metadata.is_dir() => metadata,
            Ok(_) => {
                reports.push(DirReport {
                    dir: dir.clone(),
                    exists: true,
                    untrusted: None,
                    error: Some("not a directory".to_string()),
                });
                continue;
            }
            Err(_) => {
                reports.push(DirReport {
                    dir: dir.clone(),
                    exists: false,
                    untrusted: None,
                    error: None,
                });
                continue;
            }
        };
        let dir_untrusted = untrusted_reason(&dir.path, &metadata);
        let entries = match std::fs::read_dir(&dir.path) {
            Ok(entries) => entries,
            Err(error) => {
                reports.push(DirReport {
                    dir: dir.clone(),
                    exists: true,
                    untrusted: dir_untrusted,
                    error: Some(error.to_string()),
                });
                continue;
            }
        };
        let mut found: Vec<Candidate> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let file_name = entry.file_name();
                let plugin_name = plugin_name_from_file(file_name.to_str()?)?.to_string();
                let path = entry.path();
                let metadata = std::fs::metadata(&path).ok()?;
                if !metadata.is_file() {
                    return None;
                }
                let untrusted = dir_untrusted
                    .clone()
                    .or_else(|| untrusted_reason(&path, &metadata));
                Some(Candidate {
                    path,
                    file_plugin_name: plugin_name,
                    origin: dir.origin,
                    stamp: FileStamp::of(&metadata),
                    untrusted,
                })
            })
            .collect();
        // Byte order of the file names: comparing `Path`s goes component by component.
        found.sort_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        candidates.extend(found);
        reports.push(DirReport {
            dir: dir.clone(),
            exists: true,
            untrusted: dir_untrusted,
            error: None,
        });
    }
    (reports, candidates)
}
