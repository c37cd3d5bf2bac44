//! Safe file handling shared by the host and every plugin: atomic replacement,
//! advisory locks, and JSON reading with errors that name file, line and column.
//!
//! The rule everywhere in Mosaic: a file a user may care about is never written in
//! place. It is written to a temporary file in the same directory, fsynced, and
//! renamed over the old one, so a crash leaves the old or the new file, never a torn
//! one. Files two processes may edit at once are edited under [`FileLock`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{anyhow, bail, Context as _, Result};
use nix::fcntl::{Flock, FlockArg};
use serde_json::Value;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `contents` atomically (temp file + fsync + rename + fsync of
/// the directory).
///
/// `mode` sets the permissions of the new file; `None` keeps the mode of the file
/// being replaced, or 0644 for a new one. Secrets files pass `Some(0o600)`.
pub fn atomic_write(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<()> {
    let directory = parent_dir(path);
    let mode = match mode {
        Some(mode) => mode,
        None => match fs::metadata(path) {
            Ok(metadata) => metadata.permissions().mode() & 0o7777,
            Err(_) => 0o644,
        },
    };
    let temp_path = temp_path_for(path);
    let write_temp = || -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp_path)?;
        // `mode` above is filtered by the umask; set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        Ok(())
    };
    if let Err(error) = write_temp() {
        let _ = fs::remove_file(&temp_path);
        return Err(error).with_context(|| format!("cannot write {}", temp_path.display()));
    }
    if let Err(error) = fs::rename(&temp_path, path) {
        let _ = fs::remove_file(&temp_path);
        return Err(error).with_context(|| format!("cannot replace {}", path.display()));
    }
    sync_dir(&directory);
    Ok(())
}

/// Copies `source` over `destination` atomically (temp copy in the destination's
/// directory, fsync, rename), e.g. to replace a plugin library that running
/// processes still have mapped.
pub fn atomic_copy(source: &Path, destination: &Path, mode: u32) -> Result<()> {
    let temp_path = temp_path_for(destination);
    let copy = || -> io::Result<()> {
        let mut input = File::open(source)?;
        let mut output = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp_path)?;
        output.set_permissions(fs::Permissions::from_mode(mode))?;
        io::copy(&mut input, &mut output)?;
        output.sync_all()?;
        Ok(())
    };
    if let Err(error) = copy() {
        let _ = fs::remove_file(&temp_path);
        return Err(error).with_context(|| {
            format!(
                "cannot copy {} to {}",
                source.display(),
                temp_path.display()
            )
        });
    }
    if let Err(error) = fs::rename(&temp_path, destination) {
        let _ = fs::remove_file(&temp_path);
        return Err(error).with_context(|| format!("cannot replace {}", destination.display()));
    }
    sync_dir(&parent_dir(destination));
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let unique = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    parent_dir(path).join(format!(".{name}.tmp.{}.{unique}", std::process::id()))
}

fn sync_dir(directory: &Path) {
    // Makes the rename itself durable; best effort (some filesystems refuse).
    if let Ok(handle) = File::open(directory) {
        let _ = handle.sync_all();
    }
}

/// Creates a directory and its parents with the given mode for the ones it creates.
pub fn create_dir_all_with_mode(path: &Path, mode: u32) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .with_context(|| format!("cannot create directory {}", path.display()))
}

/// An exclusive advisory lock (`flock`) held until dropped.
///
/// The lock is taken on a separate `.<name>.lock` file beside the protected file, so
/// the protected file itself can still be replaced by rename while locked.
pub struct FileLock {
    _lock: Flock<File>,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until the lock for `protected` is held.
    pub fn exclusive(protected: &Path) -> Result<FileLock> {
        let path = Self::lock_path(protected);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open lock file {}", path.display()))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| anyhow!("cannot lock {}: {errno}", path.display()))?;
        Ok(FileLock { _lock: lock, path })
    }

    /// The lock file used for `protected`.
    pub fn lock_path(protected: &Path) -> PathBuf {
        let name = protected
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_string());
        parent_dir(protected).join(format!(".{name}.lock"))
    }

    /// Where the lock file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads and parses a JSON file. `Ok(None)` when it does not exist; an error naming
/// the file, line and column when it is not valid JSON.
pub fn read_json_file(path: &Path) -> Result<Option<Value>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    parse_json_text(path, &text).map(Some)
}

/// Parses JSON text read from `path`, naming the file, line and column on error.
pub fn parse_json_text(path: &Path, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|error| {
        anyhow!(
            "{}:{}:{}: invalid JSON: {}",
            path.display(),
            error.line(),
            error.column(),
            strip_position(&error.to_string())
        )
    })
}

/// serde_json appends " at line L column C"; we already lead with the position.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(index) => &message[..index],
        None => message,
    }
}

/// Writes `value` as pretty JSON (with a final newline) atomically.
pub fn write_json_file(path: &Path, value: &Value, mode: Option<u32>) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("encoding JSON")?;
    text.push('\n');
    atomic_write(path, text.as_bytes(), mode)
}

/// Fails unless `value` is a JSON object, naming the file.
pub fn expect_object<'a>(
    path: &Path,
    value: &'a mut Value,
) -> Result<&'a mut serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => bail!(
            "{}: expected a JSON object at the top level, found {}",
            path.display(),
            json_type_name(other)
        ),
    }
}

/// "an array", "a string", … for error messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        atomic_write(&path, b"one", Some(0o600)).unwrap();
        atomic_write(&path, b"two", None).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn invalid_json_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        fs::write(&path, "{\n  \"a\": 1,\n  oops\n}").unwrap();
        let message = read_json_file(&path).unwrap_err().to_string();
        assert!(message.contains("bad.json:3:3: invalid JSON"), "{message}");
    }

    #[test]
    fn missing_json_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_json_file(&dir.path().join("nope.json"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn lock_is_exclusive_between_handles() {
        let dir = tempfile::tempdir().unwrap();
        let protected = dir.path().join("x.json");
        let held = FileLock::exclusive(&protected).unwrap();
        let second = OpenOptions::new().write(true).open(held.path()).unwrap();
        assert!(Flock::lock(second, FlockArg::LockExclusiveNonblock).is_err());
        drop(held);
        let third = OpenOptions::new()
            .write(true)
            .open(FileLock::lock_path(&protected))
            .unwrap();
        assert!(Flock::lock(third, FlockArg::LockExclusiveNonblock).is_ok());
    }
}
