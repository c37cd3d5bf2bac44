//! Safe file handling shared by the host and every plugin: atomic replacement,
//! advisory locks, and JSON reading with errors that name file, line and column.
//!
//! The rule everywhere in Mosaic: a file a user may care about is never written in
//! place. It is written to a temporary file in the same directory, fsynced, and
//! renamed over the old one, so a crash leaves the old or the new file, never a torn
//! one. Files two processes may edit at once are edited under [`FileLock`].
//!
//! A writer killed between creating its temporary file and renaming it (`kill -9`,
//! power loss) leaves the temporary file, `.<name>.tmp.<pid>.<n>`, behind. Every
//! successful [`atomic_write`] or [`atomic_copy`] of `<name>` therefore removes the
//! temporary files of `<name>` whose writer is gone, so they do not pile up, e.g.
//! in the user's own `~/.claude`. A writer is gone when no process has its PID, or
//! when the process that has it now started after the file was last changed (the
//! PID was reused: a writer starts before it writes). A file whose writer may still
//! be running is never removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

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
    sweep_stale_temp_files(path);
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
    sweep_stale_temp_files(destination);
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

/// How much later than a temporary file's last change a process must have started
/// for its PID to count as reused: start times are known to a clock tick at best,
/// and file times and the boot clock may disagree by a little.
const PID_REUSE_MARGIN: Duration = Duration::from_secs(2);

/// Where start times of processes cannot be read (no `/proc`), a temporary file
/// whose PID is in use is taken as stale only once it is this old.
const STALE_AGE_WITHOUT_START_TIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The PID in the name of a temporary file `<prefix><pid>` or `<prefix><pid>.<n>`,
/// or `None` when `file_name` is not one of those.
fn temp_file_pid(file_name: &str, prefix: &str) -> Option<i32> {
    let rest = file_name.strip_prefix(prefix)?;
    let (pid, counter) = match rest.split_once('.') {
        Some((pid, counter)) => (pid, Some(counter)),
        None => (rest, None),
    };
    let all_digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(pid) || !counter.is_none_or(all_digits) {
        return None;
    }
    pid.parse().ok().filter(|pid| *pid > 0)
}

/// Whether a temporary file written by process `pid` and last changed at `modified`
/// was left behind by a writer that is gone. The rule:
///
/// - no process `pid` exists: stale;
/// - process `pid` started more than [`PID_REUSE_MARGIN`] after the file was last
///   changed: stale (the PID was reused; the writer made the file after it started,
///   and a live writer's file changes only while it writes, so its start is always
///   earlier);
/// - the start time cannot be read (no `/proc`): stale only when the file is older
///   than [`STALE_AGE_WITHOUT_START_TIME`];
/// - otherwise the writer may be alive (it may be this very process, in another
///   thread): kept.
///
/// PIDs are those of this PID namespace: a writer in another container sharing the
/// directory would look gone. Its rename would then fail with an error; no file is
/// ever torn.
fn temp_file_is_stale(pid: i32, modified: SystemTime) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    match kill(Pid::from_raw(pid), None) {
        Err(Errno::ESRCH) => return true,
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return false,
    }
    match process_start_time(pid) {
        Some(started) => started > modified + PID_REUSE_MARGIN,
        None => SystemTime::now()
            .duration_since(modified)
            .is_ok_and(|age| age > STALE_AGE_WITHOUT_START_TIME),
    }
}

/// When process `pid` started, by the wall clock (Linux: `/proc/<pid>/stat` field
/// 22, clock ticks since boot, against `/proc/uptime`); `None` elsewhere.
fn process_start_time(pid: i32) -> Option<SystemTime> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; field 3 is
    // the first after the last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let start_ticks: u64 = after_name.split_whitespace().nth(22 - 3)?.parse().ok()?;
    let uptime_text = fs::read_to_string("/proc/uptime").ok()?;
    let uptime: f64 = uptime_text.split_whitespace().next()?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks_per_second <= 0 {
        return None;
    }
    let started_after_boot = start_ticks as f64 / ticks_per_second as f64;
    let running_for = (uptime - started_after_boot).max(0.0);
    SystemTime::now().checked_sub(Duration::from_secs_f64(running_for))
}

/// Removes the temporary files of `path` left by writers that are gone (best effort:
/// errors are ignored; the write itself already succeeded). Returns what it removed.
fn sweep_stale_temp_files(path: &Path) -> Vec<PathBuf> {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return Vec::new();
    };
    remove_stale_temp_files(&parent_dir(path), &format!(".{name}.tmp."))
}

/// Removes the regular files in `directory` named `<prefix><pid>` or
/// `<prefix><pid>.<n>` whose writing process is gone, and returns their paths.
///
/// For temporary files a program names after its own PID (like this module's
/// `.<name>.tmp.<pid>.<n>`, which [`atomic_write`] and [`atomic_copy`] already sweep):
/// a process killed before it removed or renamed its file leaves it behind. The
/// writer is gone when no process has the PID, or when the process that has it now
/// started after the file was last changed (the PID was reused); without process
/// start times (no `/proc`) only files older than a day count as left behind. A file
/// whose writer may still run is kept. Best effort: what cannot be read or removed
/// is left alone.
pub fn remove_stale_temp_files(directory: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(directory) else {
        return removed;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|file| temp_file_pid(file, prefix))
        else {
            continue;
        };
        // Never follow a link or touch a directory named like a temporary file.
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if !metadata.file_type().is_file() {
            continue;
        }
        let Ok(modified) = metadata.modified() else {
            continue;
        };
        if temp_file_is_stale(pid, modified) && fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
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
    serde_json::from_str(text).map_err(|error| invalid_json(path, &error))
}

/// A JSON syntax error in `path` as `FILE:LINE:COLUMN: invalid JSON: …`.
pub fn invalid_json(path: &Path, error: &serde_json::Error) -> anyhow::Error {
    anyhow!(
        "{}:{}:{}: invalid JSON: {}",
        path.display(),
        error.line(),
        error.column(),
        strip_position(&error.to_string())
    )
}

/// serde_json appends " at line L column C"; we lead with the position or a name.
pub fn strip_position(message: &str) -> &str {
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

#[cfg(test)]
mod sweep_tests {
    use super::*;
    use std::process::Command;

    /// The PID of a process that has exited (and been reaped).
    fn dead_pid() -> i32 {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        pid
    }

    fn names_in(directory: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn temp_file_names_are_recognized_for_their_file_only() {
        let prefix = ".a.json.tmp.";
        assert_eq!(temp_file_pid(".a.json.tmp.42.7", prefix), Some(42));
        assert_eq!(temp_file_pid(".a.json.tmp.42", prefix), Some(42));
        assert_eq!(temp_file_pid(".a.json.tmp.42.x", prefix), None);
        assert_eq!(temp_file_pid(".a.json.tmp.42.", prefix), None);
        assert_eq!(temp_file_pid(".a.json.tmp..7", prefix), None);
        assert_eq!(temp_file_pid(".a.json.tmp.0.7", prefix), None);
        assert_eq!(temp_file_pid(".a.json.tmp.-1.7", prefix), None);
        assert_eq!(temp_file_pid(".a.json.tmp.99999999999.7", prefix), None);
        assert_eq!(temp_file_pid(".ba.json.tmp.42.7", prefix), None);
        assert_eq!(temp_file_pid(".a.json.tmp.42.7", ".b.json.tmp."), None);
        assert_eq!(temp_file_pid("a.json.tmp.42.7", prefix), None);
        assert_eq!(temp_file_pid(".a.json.lock", prefix), None);
    }

    #[test]
    fn stale_files_with_another_prefix_are_removed_by_directory() {
        let dir = tempfile::tempdir().unwrap();
        let pid = dead_pid();
        let stale = dir.path().join(format!(".write-probe.{pid}"));
        let live = dir
            .path()
            .join(format!(".write-probe.{}", std::process::id()));
        let unrelated = dir.path().join(format!(".other.{pid}"));
        for path in [&stale, &live, &unrelated] {
            fs::write(path, "").unwrap();
        }
        let removed = remove_stale_temp_files(dir.path(), ".write-probe.");
        assert_eq!(removed, vec![stale.clone()]);
        assert!(!stale.exists() && live.exists() && unrelated.exists());
    }

    #[test]
    fn next_write_removes_temp_files_of_dead_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let pid = dead_pid();
        for counter in 0..3 {
            fs::write(
                dir.path().join(format!(".config.json.tmp.{pid}.{counter}")),
                "{",
            )
            .unwrap();
        }
        // Another file's temp file and a look-alike directory are not this file's.
        fs::write(dir.path().join(format!(".other.json.tmp.{pid}.0")), "{").unwrap();
        fs::create_dir(dir.path().join(format!(".config.json.tmp.{pid}.9"))).unwrap();
        atomic_write(&path, b"{}", None).unwrap();
        assert_eq!(
            names_in(dir.path()),
            [
                format!(".config.json.tmp.{pid}.9"),
                format!(".other.json.tmp.{pid}.0"),
                "config.json".to_string()
            ]
        );
    }

    #[test]
    fn temp_files_of_live_writers_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        // This process is alive and started before the file was written: another
        // thread of it may be writing right now.
        let own = dir
            .path()
            .join(format!(".settings.json.tmp.{}.999", std::process::id()));
        fs::write(&own, "{").unwrap();
        let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let other = dir
            .path()
            .join(format!(".settings.json.tmp.{}.0", sleeper.id()));
        fs::write(&other, "{").unwrap();
        atomic_write(&path, b"{}", None).unwrap();
        atomic_copy(&path, &dir.path().join("copy.json"), 0o644).unwrap();
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert!(own.exists(), "a live writer's temp file was removed");
        assert!(other.exists(), "a live writer's temp file was removed");
    }

    #[test]
    fn temp_file_older_than_the_process_with_its_pid_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.so");
        // The PID is in use, but by a process that started after the file was last
        // written: the writer is gone and its PID was reused.
        let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
        let reused = dir.path().join(format!(".a.so.tmp.{}.3", sleeper.id()));
        let file = File::create(&reused).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        drop(file);
        let source = dir.path().join("source");
        fs::write(&source, "library").unwrap();
        atomic_copy(&source, &path, 0o755).unwrap();
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        if process_start_time(std::process::id() as i32).is_some() {
            assert!(!reused.exists(), "the temp file of a reused PID was kept");
        } else {
            assert!(reused.exists(), "without start times only age decides");
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), "library");
    }

    #[test]
    fn process_start_time_is_in_the_past_and_recent_for_a_child() {
        let before = SystemTime::now();
        let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
        let started = process_start_time(sleeper.id() as i32);
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        if let Some(started) = started {
            let now = SystemTime::now();
            assert!(started <= now + PID_REUSE_MARGIN);
            assert!(
                started + PID_REUSE_MARGIN >= before,
                "{started:?} vs {before:?}"
            );
        } else {
            assert!(!Path::new("/proc/self/stat").exists());
        }
    }
}
