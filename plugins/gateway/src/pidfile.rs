//! The pid files of the daemon and of the built-in supervisor, and how the CLI
//! decides whether either is running.
//!
//! A pid number alone cannot be trusted: after a crash or a SIGKILL the file stays,
//! and the number may later belong to any other process. So the daemon holds an
//! exclusive `flock` on `.gateway.pid.lock` beside the pid file for as long as it
//! lives — the kernel drops the lock when the process dies, however it dies. The CLI
//! trusts a pid only while that lock is held *and* the process's command line is a
//! `mosaic … gateway run`; only then does it ever send it a signal. The supervisor
//! (`mosaic … gateway supervise`) does the same with `supervisor.pid`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode, FileLock};
use nix::fcntl::{Flock, FlockArg};

/// How long a starting daemon waits for the lock (a `status` may hold it briefly).
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// The pid file of the running daemon; removed when dropped.
pub struct PidFile {
    path: PathBuf,
    _lock: Flock<File>,
}

fn open_lock(path: &Path, create: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .mode(0o600)
        .open(FileLock::lock_path(path))
}

impl PidFile {
    /// Takes the daemon lock and writes this process's pid to `path`. Fails, naming
    /// the running daemon, when another one holds the lock.
    pub fn acquire(path: &Path) -> Result<PidFile> {
        PidFile::acquire_for(path, "gateway")
    }

    /// Like [`PidFile::acquire`]; `what` names the process in the error ("gateway",
    /// "gateway supervisor").
    pub fn acquire_for(path: &Path, what: &str) -> Result<PidFile> {
        if let Some(directory) = path.parent() {
            create_dir_all_with_mode(directory, 0o700)?;
        }
        let deadline = Instant::now() + LOCK_WAIT;
        let lock = loop {
            let file = open_lock(path, true)
                .with_context(|| format!("cannot open {}", FileLock::lock_path(path).display()))?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => break lock,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(_) => {
                    let holder = read_pid(path)
                        .map(|pid| format!(" (pid {pid})"))
                        .unwrap_or_default();
                    bail!(
                        "another {what} is already running{holder}: it holds the lock \
                         beside {}; stop it with `mosaic gateway stop`",
                        path.display()
                    );
                }
            }
        };
        atomic_write(
            path,
            format!("{}\n", std::process::id()).as_bytes(),
            Some(0o644),
        )?;
        Ok(PidFile {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The number in a pid file, if it holds one.
pub fn read_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|pid| *pid > 0)
}

/// Whether some process holds the daemon lock of `path`.
pub fn lock_is_held(path: &Path) -> bool {
    let Ok(file) = open_lock(path, false) else {
        return false;
    };
    // A shared lock is refused only while a daemon holds its exclusive one.
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        Ok(_released_on_drop) => false,
        Err(_) => true,
    }
}

/// The command line of a process, if it exists and is not a zombie.
pub fn process_command_line(pid: i32) -> Option<Vec<String>> {
    if cfg!(target_os = "linux") {
        let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let words: Vec<String> = bytes
            .split(|byte| *byte == 0)
            .filter(|word| !word.is_empty())
            .map(|word| String::from_utf8_lossy(word).into_owned())
            .collect();
        (!words.is_empty()).then_some(words)
    } else {
        let output = std::process::Command::new("ps")
            .args(["-o", "command=", "-p", &pid.to_string()])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        (output.status.success() && !words.is_empty()).then_some(words)
    }
}

/// Whether a command line is `… mosaic … gateway run …`.
pub fn is_gateway_daemon(words: &[String]) -> bool {
    is_gateway_command(words, "run")
}

/// Whether a command line is `… mosaic … gateway supervise …`.
pub fn is_gateway_supervisor(words: &[String]) -> bool {
    is_gateway_command(words, "supervise")
}

/// Whether a command line is `… mosaic … gateway SUBCOMMAND …`.
fn is_gateway_command(words: &[String], subcommand: &str) -> bool {
    let runs_mosaic = words.first().is_some_and(|program| {
        Path::new(program)
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("mosaic"))
    });
    runs_mosaic
        && words
            .windows(2)
            .any(|pair| pair[0] == "gateway" && pair[1] == subcommand)
}

/// The pid of the running daemon: the lock is held and the pid file names a live
/// `mosaic gateway run`. A stale file, or one naming another program, gives `None`.
pub fn running_daemon(path: &Path) -> Option<i32> {
    running_process(path, is_gateway_daemon)
}

/// The pid of the running built-in supervisor (`path`: its pid file), verified like
/// [`running_daemon`] but against `mosaic … gateway supervise`.
pub fn running_supervisor(path: &Path) -> Option<i32> {
    running_process(path, is_gateway_supervisor)
}

fn running_process(path: &Path, is_expected: fn(&[String]) -> bool) -> Option<i32> {
    if !lock_is_held(path) {
        return None;
    }
    let pid = read_pid(path)?;
    let words = process_command_line(pid)?;
    is_expected(&words).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn only_gateway_run_command_lines_are_daemons() {
        assert!(is_gateway_daemon(&words(
            "/usr/local/bin/mosaic gateway run"
        )));
        assert!(is_gateway_daemon(&words(
            "/p/bin/mosaic --plugin-dir /p/lib gateway run --data-dir /d"
        )));
        assert!(!is_gateway_daemon(&words("/usr/bin/sleep 1000")));
        assert!(!is_gateway_daemon(&words("/usr/bin/mosaic gateway status")));
        assert!(!is_gateway_daemon(&words("/bin/sh -c mosaic gateway run")));
        assert!(!is_gateway_daemon(&words(
            "/p/bin/mosaic gateway supervise --data-dir /d"
        )));
        assert!(is_gateway_supervisor(&words(
            "/p/bin/mosaic --plugin-dir /p/lib gateway supervise --data-dir /d"
        )));
        assert!(!is_gateway_supervisor(&words("/p/bin/mosaic gateway run")));
    }

    #[test]
    fn the_lock_tells_a_live_daemon_from_a_stale_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("run/gateway.pid");
        assert!(!lock_is_held(&path));
        let pid_file = PidFile::acquire(&path).unwrap();
        assert_eq!(read_pid(&path), Some(std::process::id() as i32));
        assert!(lock_is_held(&path));
        // The test binary is not `mosaic gateway run`: never trusted as the daemon.
        assert_eq!(running_daemon(&path), None);
        drop(pid_file);
        assert!(!path.exists());
        assert!(!lock_is_held(&path));
        std::fs::write(&path, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(
            running_daemon(&path),
            None,
            "a stale pid file is not trusted"
        );
    }
}
