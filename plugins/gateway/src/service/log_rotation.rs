//! The daemon's log file and its rotation.
//!
//! Every service manager — systemd (`StandardError=append:…`), launchd
//! (`StandardErrorPath`) and the built-in supervisor — opens `<data>/gateway.log`
//! and hands it to the daemon as its stdout and stderr. None of them rotates it, so
//! the daemon rotates it itself, which works the same under every manager: after
//! each log line it looks at the size of its own stderr, and once that passes the
//! cap it renames `gateway.log` to `gateway.log.1` (`.1` to `.2`, …, the oldest of
//! [`KEPT_FILES`] dropped), opens a fresh `gateway.log` and puts it in place of its
//! stdout and stderr (`dup2`). The descriptors are the daemon's own, so no manager
//! has to cooperate. Rotation happens only while stderr *is* that file (same device
//! and inode), never for a terminal or a pipe (`mosaic gateway run` in a shell).
//!
//! The supervisor's own few lines are written by opening the file by name each
//! time ([`append_line`]), so they always land in the current file; each daemon it
//! starts gets the current file too.
//!
//! The cap is [`DEFAULT_MAX_BYTES`]; the environment variable
//! [`MAX_BYTES_VARIABLE`] (a number of bytes) overrides it. The lifecycle commands
//! pass it on to the daemon when it is set, so it is read where it is set: e.g.
//! `MOSAIC_GATEWAY_LOG_MAX_BYTES=1000000 mosaic gateway start`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::layout::rotated_log_path;

/// The size at which the log is rotated, unless [`MAX_BYTES_VARIABLE`] says otherwise.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// How many rotated files are kept (`gateway.log.1` … `gateway.log.3`).
pub const KEPT_FILES: u32 = 3;
/// The environment variable that overrides [`DEFAULT_MAX_BYTES`].
pub const MAX_BYTES_VARIABLE: &str = "MOSAIC_GATEWAY_LOG_MAX_BYTES";
/// The smallest cap accepted, so a typo cannot make every line a rotation.
const MIN_MAX_BYTES: u64 = 4096;

/// The cap given by the value of [`MAX_BYTES_VARIABLE`]: a whole number of bytes,
/// at least 4096; anything else (or nothing) gives [`DEFAULT_MAX_BYTES`].
pub fn max_bytes_from(value: Option<&str>) -> u64 {
    value
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(|bytes| bytes.max(MIN_MAX_BYTES))
        .unwrap_or(DEFAULT_MAX_BYTES)
}

/// Opens `path` for appending, creating it private to the user (0600).
pub fn open_for_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Appends one line to the log file at `path` (opened by name, so it is the current
/// file even after a rotation).
pub fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let mut file = open_for_append(path)?;
    file.write_all(format!("{line}\n").as_bytes())
}

/// Shifts the rotated copies up by one (`.1` → `.2`, …; the copy numbered `kept`
/// is overwritten) and renames `log_file` to `log_file.1`.
pub fn shift_rotated_files(log_file: &Path, kept: u32) -> io::Result<()> {
    for number in (1..kept).rev() {
        let from = rotated_log_path(log_file, number);
        match std::fs::rename(&from, rotated_log_path(log_file, number + 1)) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    std::fs::rename(log_file, rotated_log_path(log_file, 1))
}

/// Rotation of the log file this process writes to through stdout and stderr.
pub struct StderrRotation {
    log_file: PathBuf,
    max_bytes: u64,
    busy: Mutex<()>,
}

/// The device and inode of an open descriptor, if it is a regular file.
fn file_identity(fd: i32) -> Option<(u64, u64)> {
    let stat = nix::sys::stat::fstat(fd).ok()?;
    let is_file = (stat.st_mode & libc::S_IFMT) == libc::S_IFREG;
    is_file.then_some((stat.st_dev as u64, stat.st_ino as u64))
}

impl StderrRotation {
    /// Rotation of `log_file` at `max_bytes`, or `None` when this process's stderr
    /// is not that file (a terminal, a pipe, another file).
    pub fn for_stderr(log_file: &Path, max_bytes: u64) -> Option<StderrRotation> {
        let metadata = std::fs::metadata(log_file).ok()?;
        let stderr = file_identity(libc::STDERR_FILENO)?;
        (stderr == (metadata.dev(), metadata.ino())).then(|| StderrRotation {
            log_file: log_file.to_path_buf(),
            max_bytes,
            busy: Mutex::new(()),
        })
    }

    /// Rotates when stderr has reached the cap. Cheap otherwise (one `fstat`).
    /// Errors are reported on stderr and leave the current file in use.
    pub fn rotate_if_full(&self) {
        let Ok(_only_one) = self.busy.try_lock() else {
            return;
        };
        let Ok(stat) = nix::sys::stat::fstat(libc::STDERR_FILENO) else {
            return;
        };
        if (stat.st_size as u64) < self.max_bytes {
            return;
        }
        if let Err(error) = self.rotate() {
            let _ = writeln!(
                io::stderr(),
                "mosaic gateway: cannot rotate the log {}: {error}",
                self.log_file.display()
            );
        }
    }

    fn rotate(&self) -> io::Result<()> {
        let old = file_identity(libc::STDERR_FILENO);
        let on_disk = std::fs::metadata(&self.log_file)
            .ok()
            .map(|metadata| (metadata.dev(), metadata.ino()));
        // Someone else may have moved the file away (e.g. logrotate): then only
        // follow it to the new file at the path.
        if old.is_some() && old == on_disk {
            shift_rotated_files(&self.log_file, KEPT_FILES)?;
        }
        let fresh = open_for_append(&self.log_file)?;
        for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
            if fd == libc::STDERR_FILENO || file_identity(fd) == old {
                nix::unistd::dup2(fresh.as_raw_fd(), fd).map_err(io::Error::from)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_comes_from_the_variable_with_a_floor() {
        assert_eq!(max_bytes_from(None), DEFAULT_MAX_BYTES);
        assert_eq!(max_bytes_from(Some("50000")), 50_000);
        assert_eq!(max_bytes_from(Some("10")), MIN_MAX_BYTES);
        assert_eq!(max_bytes_from(Some("ten")), DEFAULT_MAX_BYTES);
    }

    #[test]
    fn shifting_keeps_the_newest_copies() {
        let directory = tempfile::tempdir().unwrap();
        let log = directory.path().join("gateway.log");
        for round in 0..5 {
            std::fs::write(&log, format!("round {round}\n")).unwrap();
            shift_rotated_files(&log, 3).unwrap();
        }
        assert!(!log.exists());
        let read = |number| std::fs::read_to_string(rotated_log_path(&log, number)).unwrap();
        assert_eq!(read(1), "round 4\n");
        assert_eq!(read(2), "round 3\n");
        assert_eq!(read(3), "round 2\n");
        assert!(!rotated_log_path(&log, 4).exists());
    }
}
