//! The built-in supervisor, for machines without systemd or launchd: the daemon is a
//! detached `mosaic gateway run` in its own session (so closing the terminal does
//! not stop it), with stdin from /dev/null and stdout/stderr appended to the log
//! file. The daemon writes its own pid file and holds its lock; stopping sends
//! SIGTERM to a verified pid and escalates to SIGKILL after a timeout.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::create_dir_all_with_mode;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{wait_until, ServiceSpec};
use crate::clock::unix_now;
use crate::pidfile::{lock_is_held, running_daemon};

/// Starts the daemon detached. The environment is exactly
/// [`ServiceSpec::daemon_environment`]: nothing of this process's environment
/// (which may hold passwords or keys) reaches the daemon.
pub fn spawn(spec: &ServiceSpec) -> Result<Child> {
    let layout = &spec.layout;
    create_dir_all_with_mode(&layout.data_dir, 0o700)?;
    let log_path = layout.log_file();
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .with_context(|| format!("cannot open the log file {}", log_path.display()))?;
    writeln!(
        log,
        "--- mosaic gateway starting (built-in supervisor, unix time {})",
        unix_now()
    )
    .with_context(|| format!("cannot write the log file {}", log_path.display()))?;
    let stderr = log
        .try_clone()
        .with_context(|| format!("cannot reuse the log file {}", log_path.display()))?;
    let mut command = Command::new(&spec.executable);
    command
        .args(spec.daemon_arguments())
        .env_clear()
        .envs(spec.daemon_environment())
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr));
    // SAFETY: the closure runs in the forked child before exec and only calls
    // setsid(2), which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    command.spawn().with_context(|| {
        format!(
            "cannot start `{} {}`",
            spec.executable.display(),
            spec.daemon_arguments().join(" ")
        )
    })
}

/// Sends SIGTERM to the daemon `pid` and waits up to `timeout` for it to release
/// its pid-file lock; then SIGKILL. The pid is re-verified before each signal.
pub fn terminate(pid: i32, pid_file: &Path, timeout: Duration) -> Result<()> {
    let target = Pid::from_raw(pid);
    if running_daemon(pid_file) != Some(pid) {
        return Ok(());
    }
    kill(target, Signal::SIGTERM)
        .with_context(|| format!("cannot send SIGTERM to the gateway (pid {pid})"))?;
    if wait_until(timeout, || !lock_is_held(pid_file)) {
        return Ok(());
    }
    if running_daemon(pid_file) == Some(pid) {
        tracing::warn!(
            "the gateway (pid {pid}) did not stop within {} s; sending SIGKILL",
            timeout.as_secs()
        );
        kill(target, Signal::SIGKILL)
            .with_context(|| format!("cannot send SIGKILL to the gateway (pid {pid})"))?;
    }
    if wait_until(Duration::from_secs(5), || !lock_is_held(pid_file)) {
        return Ok(());
    }
    bail!("the gateway (pid {pid}) is still running after SIGKILL; check it with `ps -p {pid}`")
}
