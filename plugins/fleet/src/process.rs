//! Processes, programs and time as the fleet sees them: whether a pid still runs,
//! finding a program on a `PATH`, bounded polling, and the clock in Unix seconds.
//!
//! Nothing here knows about agents or tmux.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// Whether process `pid` runs: `kill(pid, 0)` succeeds (or is refused, which means
/// it exists but belongs to someone else) and, where `/proc` tells, it is not a
/// zombie. Zombies count as gone: they have exited, and in containers whose init does
/// not reap orphans they stay in the process table forever.
pub fn process_running(pid: u32) -> bool {
    let Some(target) = as_pid(pid) else {
        return false;
    };
    match kill(target, None) {
        Ok(()) | Err(Errno::EPERM) => !is_zombie(pid),
        Err(_) => false,
    }
}

/// Sends `signal` to process `pid`; `false` when there is no such process.
pub fn send_signal(pid: u32, signal: Signal) -> bool {
    as_pid(pid).is_some_and(|target| kill(target, signal).is_ok())
}

/// Sends `signal` to every process in the group led by `leader`.
pub fn signal_process_group(leader: u32, signal: Signal) -> bool {
    as_pid(leader).is_some_and(|target| kill(Pid::from_raw(-target.as_raw()), signal).is_ok())
}

/// A pid `kill` may be given: 0 and negative values address process groups.
fn as_pid(pid: u32) -> Option<Pid> {
    i32::try_from(pid)
        .ok()
        .filter(|raw| *raw > 0)
        .map(Pid::from_raw)
}

/// The process state letter from `/proc/<pid>/stat` is `Z`. `false` where there is
/// no `/proc` (the caller then relies on `kill` alone).
fn is_zombie(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The command name is in parentheses and may itself hold spaces or ")".
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Whether process `pid` was started with `name=value` in its environment, from
/// `/proc/<pid>/environ`. `false` when that cannot be read (another user's process,
/// or no `/proc`), so callers that act on the answer only act on processes they can
/// prove are theirs: a pid recorded long ago may belong to someone else by now.
pub fn started_with_environment(pid: u32, name: &str, value: &str) -> bool {
    let Ok(environment) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{name}={value}");
    environment
        .split(|byte| *byte == 0)
        .any(|entry| entry == wanted.as_bytes())
}

// Program lookup is shared with the wizard, so it lives in the SDK.
pub use mosaic_plugin_api::sdk::programs::{find_program, is_executable};

/// Calls `check` every `step` until it returns true or `timeout` has passed; returns
/// whether it did. `check` runs at least once.
pub fn poll_until(timeout: Duration, step: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_runs_and_absurd_pids_do_not() {
        assert!(process_running(std::process::id()));
        assert!(!process_running(0));
        assert!(!process_running(u32::MAX));
    }

    #[test]
    fn exited_child_is_not_running_even_before_it_is_reaped() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not waited for yet: a zombie, which must count as gone.
        assert!(poll_until(
            Duration::from_secs(5),
            Duration::from_millis(10),
            || !process_running(pid)
        ));
        child.wait().unwrap();
    }

    #[test]
    fn environment_of_a_child_is_readable() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("MOSAIC_AGENT", "probe-1")
            .spawn()
            .unwrap();
        // `spawn` may return before the child has exec'd (and has its environment).
        assert!(poll_until(
            Duration::from_secs(5),
            Duration::from_millis(10),
            || started_with_environment(child.id(), "MOSAIC_AGENT", "probe-1")
        ));
        assert!(!started_with_environment(
            child.id(),
            "MOSAIC_AGENT",
            "probe"
        ));
        assert!(!started_with_environment(
            u32::MAX,
            "MOSAIC_AGENT",
            "probe-1"
        ));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn polling_stops_at_the_deadline() {
        let mut calls = 0;
        let done = poll_until(Duration::from_millis(30), Duration::from_millis(10), || {
            calls += 1;
            false
        });
        assert!(!done);
        assert!(calls >= 2, "{calls}");
        assert!(poll_until(Duration::ZERO, Duration::ZERO, || true));
    }
}
