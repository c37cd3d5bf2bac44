//! The built-in supervisor, for machines without systemd or launchd (containers,
//! minimal hosts).
//!
//! `gateway start` spawns `mosaic … gateway supervise --data-dir D` ([`spawn`]):
//! detached in its own session (closing the terminal does not stop it), stdin from
//! /dev/null, stdout/stderr appended to the log file, and exactly the environment
//! of [`ServiceSpec::daemon_environment`]. The supervisor runs `mosaic … gateway
//! run` ([`spawn_daemon`]) and starts it again when it crashes
//! ([`super::supervision`]). Each of the two holds the lock of its own pid file.
//!
//! Stopping ([`stop`]) signals only pids whose lock is held and whose command line
//! is the expected `mosaic … gateway supervise` / `gateway run`: SIGTERM to the
//! supervisor, which forwards it to the daemon and waits for it (a daemon without a
//! supervisor gets the SIGTERM itself); after a timeout, SIGKILL to both. The report
//! says exactly which of these happened.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::fs::create_dir_all_with_mode;
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::log_rotation::{append_line, open_for_append};
use super::{wait_until, ServiceSpec};
use crate::clock::unix_now;
use crate::layout::Layout;
use crate::pidfile::{lock_is_held, read_pid, running_daemon, running_supervisor};

/// How long stop waits after SIGKILL for the pid-file locks to be released.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Runs `command` (the supervisor or the daemon) with the clean environment, no
/// stdin and stdout/stderr appended to the log file.
fn prepare(spec: &ServiceSpec, arguments: Vec<String>) -> Result<Command> {
    let log_path = spec.layout.log_file();
    let log = open_for_append(&log_path)
        .with_context(|| format!("cannot open the log file {}", log_path.display()))?;
    let stderr = log
        .try_clone()
        .with_context(|| format!("cannot reuse the log file {}", log_path.display()))?;
    let mut command = Command::new(&spec.executable);
    command
        .args(arguments)
        .env_clear()
        .envs(spec.daemon_environment())
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(stderr));
    Ok(command)
}

fn describe_command(spec: &ServiceSpec, arguments: &[String]) -> String {
    format!("`{} {}`", spec.executable.display(), arguments.join(" "))
}

/// Starts the supervisor detached. Nothing of this process's environment (which
/// may hold passwords or keys) reaches it or the daemon.
pub fn spawn(spec: &ServiceSpec) -> Result<Child> {
    create_dir_all_with_mode(&spec.layout.data_dir, 0o700)?;
    let log_path = spec.layout.log_file();
    append_line(
        &log_path,
        &format!(
            "--- mosaic gateway starting (built-in supervisor, unix time {})",
            unix_now()
        ),
    )
    .with_context(|| format!("cannot write the log file {}", log_path.display()))?;
    let arguments = spec.supervisor_arguments();
    let mut command = prepare(spec, arguments.clone())?;
    // SAFETY: the closure runs in the forked child before exec and only calls
    // setsid(2), which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    command
        .spawn()
        .with_context(|| format!("cannot start {}", describe_command(spec, &arguments)))
}

/// Starts the daemon as the supervisor's child, writing to the current log file.
pub fn spawn_daemon(spec: &ServiceSpec) -> Result<Child> {
    let arguments = spec.daemon_arguments();
    prepare(spec, arguments.clone())?
        .spawn()
        .with_context(|| format!("cannot start {}", describe_command(spec, &arguments)))
}

/// What [`stop`] (or a service manager) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReport {
    /// The daemon that was running.
    pub daemon_pid: Option<i32>,
    /// The built-in supervisor that was running.
    pub supervisor_pid: Option<i32>,
    /// The pids that had to be killed with SIGKILL after the timeout.
    pub killed: Vec<i32>,
    /// How long SIGTERM was given before SIGKILL.
    pub timeout: Duration,
}

impl StopReport {
    /// Whether anything was running.
    pub fn stopped_anything(&self) -> bool {
        self.daemon_pid.is_some() || self.supervisor_pid.is_some()
    }

    /// The pid to name when one is enough: the daemon's, else the supervisor's.
    pub fn main_pid(&self) -> Option<i32> {
        self.daemon_pid.or(self.supervisor_pid)
    }

    /// "gateway stopped (daemon pid 12, supervisor pid 11)", with what SIGKILL did.
    pub fn describe(&self) -> String {
        let mut pids = Vec::new();
        if let Some(pid) = self.daemon_pid {
            pids.push(format!("daemon pid {pid}"));
        }
        if let Some(pid) = self.supervisor_pid {
            pids.push(format!("supervisor pid {pid}"));
        }
        if pids.is_empty() {
            return "gateway was not running".to_string();
        }
        let mut text = format!("gateway stopped ({})", pids.join(", "));
        if !self.killed.is_empty() {
            let killed: Vec<String> = self.killed.iter().map(|pid| pid.to_string()).collect();
            text.push_str(&format!(
                "; it did not exit within {} s of SIGTERM, so pid {} got SIGKILL",
                self.timeout.as_secs(),
                killed.join(" and ")
            ));
        }
        text
    }
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
fn send(pid: i32, signal: Signal) -> Result<()> {
    match kill(Pid::from_raw(pid), signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(error) => {
            Err(error).with_context(|| format!("cannot send {signal} to the gateway (pid {pid})"))
        }
    }
}

/// Whether either pid-file lock is still held.
fn any_lock_held(layout: &Layout) -> bool {
    lock_is_held(&layout.pid_file()) || lock_is_held(&layout.supervisor_pid_file())
}

/// Stops the supervisor and the daemon found through their pid files, and waits
/// until both locks are released: SIGTERM first, SIGKILL to what is left after
/// `timeout`. Fails, saying what was sent to whom, when a lock is still held.
pub fn stop(layout: &Layout, timeout: Duration) -> Result<StopReport> {
    let mut report = StopReport {
        timeout,
        ..StopReport::default()
    };
    let deadline = Instant::now() + timeout;
    let mut terminated: Vec<i32> = Vec::new();
    loop {
        let supervisor = running_supervisor(&layout.supervisor_pid_file());
        let daemon = running_daemon(&layout.pid_file());
        if let Some(pid) = supervisor {
            report.supervisor_pid.get_or_insert(pid);
        }
        if let Some(pid) = daemon {
            report.daemon_pid.get_or_insert(pid);
        }
        // The supervisor forwards SIGTERM to its daemon and waits for it; a daemon
        // without a supervisor gets it directly.
        match supervisor.or(daemon) {
            Some(pid) if !terminated.contains(&pid) => {
                send(pid, Signal::SIGTERM)?;
                terminated.push(pid);
            }
            Some(_) => {}
            None if !any_lock_held(layout) => return Ok(report),
            None => {}
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Supervisor first, so it cannot start the daemon again.
    if let Some(pid) = running_supervisor(&layout.supervisor_pid_file()) {
        tracing::warn!("the gateway supervisor (pid {pid}) did not stop; sending SIGKILL");
        send(pid, Signal::SIGKILL)?;
        report.killed.push(pid);
    }
    if let Some(pid) = running_daemon(&layout.pid_file()) {
        tracing::warn!("the gateway (pid {pid}) did not stop; sending SIGKILL");
        send(pid, Signal::SIGKILL)?;
        report.killed.push(pid);
    }
    if wait_until(KILL_WAIT, || !any_lock_held(layout)) {
        return Ok(report);
    }
    bail!("{}", describe_stuck(layout, &report, &terminated))
}

/// Why a stop did not finish: for each lock still held, its pid file's pid and
/// exactly which signals that pid was sent.
fn describe_stuck(layout: &Layout, report: &StopReport, terminated: &[i32]) -> String {
    let mut problems = Vec::new();
    for (what, pid_file) in [
        ("gateway", layout.pid_file()),
        ("gateway supervisor", layout.supervisor_pid_file()),
    ] {
        if !lock_is_held(&pid_file) {
            continue;
        }
        problems.push(describe_holder(what, &pid_file, report, terminated));
    }
    format!("{}; nothing else was signalled", problems.join("; "))
}

fn describe_holder(what: &str, pid_file: &Path, report: &StopReport, terminated: &[i32]) -> String {
    let Some(pid) = read_pid(pid_file) else {
        return format!(
            "the {what}'s lock beside {} is still held, but the file names no pid",
            pid_file.display()
        );
    };
    let sent = match (terminated.contains(&pid), report.killed.contains(&pid)) {
        (_, true) => "even after SIGKILL",
        (true, false) => {
            "after SIGTERM (it was not a verified gateway process any more, so no SIGKILL was sent)"
        }
        (false, false) => "and was not signalled: it is not a verified `mosaic gateway` process",
    };
    format!(
        "the {what} (pid {pid}, from {}) still holds its lock {sent}; check it with `ps -p {pid}`",
        pid_file.display()
    )
}
