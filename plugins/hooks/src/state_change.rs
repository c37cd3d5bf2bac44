//! `fleet.on_state_change`: a command the user wants run when an agent changes
//! state (working, waiting, idle) — a desktop notification, a chat webhook, a sound.
//!
//! The change is seen by the activity hook ([`crate::activity::record`] returns it),
//! which runs inside Claude Code's hook call, so nothing here may make Claude Code
//! wait. The hook therefore only *starts* a supervisor and returns:
//!
//! 1. The hook spawns `mosaic config hooks state-change` (hidden) in a session of
//!    its own (`setsid`), stdio on `/dev/null` (Claude Code waits for the hook's
//!    stdout to close, so an inherited pipe would make it wait), and does not wait
//!    for it.
//! 2. The supervisor runs the command with `sh -c`, in a process group of its own,
//!    with `MOSAIC_AGENT`, `MOSAIC_AGENT_STATE` (`working`, `waiting` or `idle`) and
//!    `MOSAIC_AGENT_MESSAGE` (the notification's message when waiting, else empty)
//!    added to the hook's environment. It waits until the group has no process
//!    left, for at most [`TIME_LIMIT`]; then it sends the group SIGTERM, and SIGKILL
//!    [`KILL_GRACE`] later.
//! 3. The command's output and how it ended are appended to
//!    `<config dir>/hooks/on-state-change.log` ([`log_path`]), which is started
//!    afresh when it passes [`LOG_LIMIT`] bytes.
//!
//! The command travels in an environment variable ([`COMMAND_ENV`]) and runs
//! through `eval`, so it never appears in a process's arguments (`ps` shows
//! `sh -c eval… mosaic-on-state-change`): a webhook URL with a token in it stays
//! private to the user's own processes.
//!
//! The key is declared by the fleet plugin (it is a fleet setting, listed by
//! `mosaic config show`); this plugin reads it straight from `config.json`.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::config;
use mosaic_plugin_api::sdk::fs::create_dir_all_with_mode;
use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::activity::StateChange;

/// The `config.json` key (declared by the fleet plugin).
pub const ON_STATE_CHANGE_KEY: &str = "fleet.on_state_change";

/// How long the command may run before its process group is terminated.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);

/// How long after SIGTERM the group gets SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// The log is started afresh when it is larger than this.
pub const LOG_LIMIT: u64 = 256 * 1024;

/// The environment variable that carries the command to the supervisor (and the
/// shell that runs it).
pub const COMMAND_ENV: &str = "MOSAIC_ON_STATE_CHANGE_COMMAND";

/// The agent, in the command's environment.
pub const AGENT_ENV: &str = "MOSAIC_AGENT";
/// The new state, in the command's environment.
pub const STATE_ENV: &str = "MOSAIC_AGENT_STATE";
/// What the agent waits for, in the command's environment (empty unless waiting).
pub const MESSAGE_ENV: &str = "MOSAIC_AGENT_MESSAGE";

/// `$0` of the shell that runs the command, so `ps` shows what it is.
const SHELL_NAME: &str = "mosaic-on-state-change";

/// The configured command; `None` when the key is unset, `null` or blank. A value
/// that is not a string is an error naming the file and the fix.
pub fn configured_command(config_dir: &Path) -> Result<Option<String>> {
    let root = config::load_sections(config_dir, &["fleet"])?;
    match config::get(&root, ON_STATE_CHANGE_KEY) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(command)) if command.trim().is_empty() => Ok(None),
        Some(Value::String(command)) => Ok(Some(command.clone())),
        Some(other) => bail!(
            "{ON_STATE_CHANGE_KEY} = {other} in {}: expected a shell command as a string; fix \
             it with `mosaic config set {ON_STATE_CHANGE_KEY} 'notify-send \"$MOSAIC_AGENT is \
             $MOSAIC_AGENT_STATE\"'` or remove it with `mosaic config unset \
             {ON_STATE_CHANGE_KEY}`",
            config::config_path(config_dir).display()
        ),
    }
}

/// `<config dir>/hooks/on-state-change.log`.
pub fn log_path(config_dir: &Path) -> PathBuf {
    config_dir.join("hooks").join("on-state-change.log")
}

/// Starts the supervisor for `change` (running `mosaic` at `binary`) and returns
/// at once; the supervisor is not waited for.
pub fn start(binary: &Path, command: &str, change: &StateChange) -> Result<()> {
    let mut supervisor = Command::new(binary);
    supervisor
        .args(["config", "hooks", "state-change"])
        .env(COMMAND_ENV, command)
        .env(AGENT_ENV, &change.agent)
        .env(STATE_ENV, change.state.as_str())
        .env(MESSAGE_ENV, change.message.as_deref().unwrap_or(""))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the hook runs between fork and exec and only calls setsid(2), which is
    // async-signal-safe; it allocates nothing.
    unsafe {
        supervisor.pre_exec(|| {
            nix::unistd::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
    // Dropping `Child` neither waits for nor kills the process.
    supervisor.spawn().with_context(|| {
        format!(
            "cannot start {} config hooks state-change for {ON_STATE_CHANGE_KEY}",
            binary.display()
        )
    })?;
    Ok(())
}

/// How the command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It (and everything it started) finished in time; its exit status.
    Finished(ExitStatus),
    /// It was still running at the time limit and was terminated.
    TimedOut,
}

/// The supervisor's work: runs `command` with `sh` in a process group of its own,
/// output appended to `log`, and ends the group after `limit`.
pub fn supervise(command: &str, log: &Path, limit: Duration) -> Result<Outcome> {
    let log_file = open_log(log)?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("eval \"${COMMAND_ENV}\""))
        .arg(SHELL_NAME)
        .env(COMMAND_ENV, command)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .context("cannot run sh for fleet.on_state_change")?;
    let group = Pid::from_raw(i32::try_from(child.id()).context("pid out of range")?);
    let deadline = Instant::now() + limit;
    let mut status = None;
    let step = Duration::from_millis(20);
    loop {
        if status.is_none() {
            status = child.try_wait()?;
        }
        // The shell is waited for (reaped) above, so an empty group means done.
        let group_empty = status.is_some() && killpg(group, None) == Err(Errno::ESRCH);
        if group_empty {
            return Ok(Outcome::Finished(status.expect("checked above")));
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(step);
    }
    let _ = killpg(group, Signal::SIGTERM);
    let grace = Instant::now() + KILL_GRACE;
    while Instant::now() < grace {
        if status.is_none() {
            status = child.try_wait()?;
        }
        if status.is_some() && killpg(group, None) == Err(Errno::ESRCH) {
            return Ok(Outcome::TimedOut);
        }
        std::thread::sleep(step);
    }
    let _ = killpg(group, Signal::SIGKILL);
    let _ = child.wait();
    Ok(Outcome::TimedOut)
}

/// Appends one line to the log (best effort is the caller's choice).
pub fn append_log_line(log: &Path, line: &str) -> Result<()> {
    let mut file = open_log(log)?;
    writeln!(file, "{line}")?;
    Ok(())
}

/// The log, opened for appending (private; started afresh past [`LOG_LIMIT`]).
fn open_log(log: &Path) -> Result<std::fs::File> {
    if let Some(dir) = log.parent() {
        create_dir_all_with_mode(dir, 0o700)?;
    }
    if std::fs::metadata(log).is_ok_and(|metadata| metadata.len() > LOG_LIMIT) {
        let _ = std::fs::remove_file(log);
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_comes_from_the_fleet_section() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(configured_command(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"fleet": {"on_state_change": "echo hi"}}"#,
        )
        .unwrap();
        assert_eq!(
            configured_command(dir.path()).unwrap().as_deref(),
            Some("echo hi")
        );
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"fleet": {"on_state_change": "  "}}"#,
        )
        .unwrap();
        assert_eq!(configured_command(dir.path()).unwrap(), None);
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"fleet": {"on_state_change": 5}}"#,
        )
        .unwrap();
        let error = configured_command(dir.path()).unwrap_err().to_string();
        assert!(error.contains("fleet.on_state_change = 5"), "{error}");
        assert!(error.contains("config.json"), "{error}");
    }

    #[test]
    fn the_command_runs_with_its_output_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("hooks/on-state-change.log");
        let outcome = supervise("echo \"out $0\"; echo err >&2; exit 3", &log, TIME_LIMIT).unwrap();
        match outcome {
            Outcome::Finished(status) => assert_eq!(status.code(), Some(3)),
            other => panic!("{other:?}"),
        }
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("out mosaic-on-state-change"), "{text}");
        assert!(text.contains("err"), "{text}");
    }

    #[test]
    fn a_command_past_the_limit_is_terminated_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("on-state-change.log");
        let pid_file = dir.path().join("child.pid");
        let command = format!("sleep 300 & echo $! > {}; wait", pid_file.to_string_lossy());
        let started = Instant::now();
        let outcome = supervise(&command, &log, Duration::from_millis(500)).unwrap();
        assert_eq!(outcome, Outcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(60));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The background `sleep` was in the group: it is gone (or a zombie of init).
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        assert!(
            state.is_none_or(|rest| rest.starts_with('Z')),
            "sleep {pid} survived: {stat}"
        );
    }
}
