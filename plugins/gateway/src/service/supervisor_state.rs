//! What the built-in supervisor tells the CLI: a small JSON file in the run
//! directory (`supervisor.json`, see [`crate::layout`]) with its pid, the daemon's
//! pid, how many times it restarted the daemon, how the daemon last exited and what
//! it is doing now. It is rewritten atomically (temp file + fsync + rename) at each
//! change, so `gateway status` always reads a whole one; it stays after the
//! supervisor exits, so "gave up after 5 crashes" can still be shown.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;

use anyhow::Result;
use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode};
use serde::{Deserialize, Serialize};

use crate::clock::unix_now;

/// How the daemon ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonExit {
    /// Its exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that killed it ("SIGKILL"), when it was killed.
    pub signal: Option<String>,
    /// When (Unix seconds).
    pub unix_time: i64,
}

impl DaemonExit {
    /// The exit of `status`, now.
    pub fn from_status(status: ExitStatus) -> DaemonExit {
        DaemonExit {
            code: status.code(),
            signal: status.signal().map(signal_name),
            unix_time: unix_now(),
        }
    }

    /// Whether the daemon ended by itself with code 0 (then it is not restarted).
    pub fn is_clean(&self) -> bool {
        self.code == Some(0)
    }

    /// "exited with code 1", "killed by SIGKILL".
    pub fn describe(&self) -> String {
        match (&self.signal, self.code) {
            (Some(signal), _) => format!("killed by {signal}"),
            (None, Some(code)) => format!("exited with code {code}"),
            (None, None) => "ended".to_string(),
        }
    }
}

/// The name of a signal number ("SIGKILL"), or "signal N".
pub fn signal_name(number: i32) -> String {
    nix::sys::signal::Signal::try_from(number)
        .map(|signal| signal.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {number}"))
}

/// What the supervisor is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SupervisorPhase {
    /// The daemon runs.
    Running,
    /// The daemon crashed; it is started again after a pause.
    Restarting {
        /// The pause, in milliseconds.
        delay_ms: u64,
    },
    /// The daemon crashed too often in a short time; the supervisor exited.
    GaveUp {
        /// How many crashes.
        crashes: u32,
        /// Within how many seconds.
        window_s: u64,
    },
    /// Stopped on request (SIGTERM), or the daemon exited cleanly by itself.
    Stopped,
}

impl SupervisorPhase {
    /// One line for `gateway status`.
    pub fn describe(&self) -> String {
        match self {
            SupervisorPhase::Running => "running".to_string(),
            SupervisorPhase::Restarting { delay_ms } => {
                format!(
                    "restarting the daemon in {:.1} s",
                    *delay_ms as f64 / 1000.0
                )
            }
            SupervisorPhase::GaveUp { crashes, window_s } => {
                format!("gave up after {crashes} crashes within {window_s} s")
            }
            SupervisorPhase::Stopped => "stopped".to_string(),
        }
    }
}

/// The content of `supervisor.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorState {
    /// The supervisor's pid.
    pub supervisor_pid: i32,
    /// The daemon's pid while one runs.
    pub daemon_pid: Option<i32>,
    /// How many times the daemon was started again after a crash.
    pub restarts: u32,
    /// How the daemon last ended, if it did.
    pub last_exit: Option<DaemonExit>,
    /// What the supervisor is doing.
    #[serde(flatten)]
    pub phase: SupervisorPhase,
    /// When this was written (Unix seconds).
    pub updated_unix: i64,
}

impl SupervisorState {
    /// The state of a supervisor that has just started.
    pub fn new(supervisor_pid: i32) -> SupervisorState {
        SupervisorState {
            supervisor_pid,
            daemon_pid: None,
            restarts: 0,
            last_exit: None,
            phase: SupervisorPhase::Running,
            updated_unix: unix_now(),
        }
    }

    /// Writes it atomically (0600).
    pub fn save(&mut self, path: &Path) -> Result<()> {
        if let Some(directory) = path.parent() {
            create_dir_all_with_mode(directory, 0o700)?;
        }
        self.updated_unix = unix_now();
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        atomic_write(path, text.as_bytes(), Some(0o600))
    }

    /// Reads it; `None` when there is none or it cannot be read (it is advisory:
    /// whether anything runs is always decided by the pid-file locks).
    pub fn load(path: &Path) -> Option<SupervisorState> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described_by_code_or_signal() {
        let killed = DaemonExit::from_status(ExitStatus::from_raw(9));
        assert_eq!(killed.describe(), "killed by SIGKILL");
        assert!(!killed.is_clean());
        let failed = DaemonExit::from_status(ExitStatus::from_raw(1 << 8));
        assert_eq!(failed.describe(), "exited with code 1");
        assert!(DaemonExit::from_status(ExitStatus::from_raw(0)).is_clean());
    }

    #[test]
    fn the_state_round_trips_through_its_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("run/supervisor.json");
        let mut state = SupervisorState::new(42);
        state.restarts = 2;
        state.phase = SupervisorPhase::GaveUp {
            crashes: 5,
            window_s: 60,
        };
        state.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"state\": \"gave_up\""), "{text}");
        assert_eq!(SupervisorState::load(&path), Some(state));
        std::fs::write(&path, "{ torn").unwrap();
        assert_eq!(SupervisorState::load(&path), None);
    }
}
