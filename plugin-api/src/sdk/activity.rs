//! Agent activity records: what the hooks plugin learns from Claude Code's hook
//! events and the fleet plugin shows in `mosaic fleet ps`.
//!
//! Both plugins live in separate libraries, so the record format and its location are
//! defined here, once: `<fleet run dir>/<AGENT>.activity.json`, written atomically.
//! The fleet run dir is `HB_RUN_DIR`, else `<config dir>/fleet/run`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::sdk::fs::{atomic_write, create_dir_all_with_mode, parse_json_text};

/// The fleet run directory: `HB_RUN_DIR` if set, else `<config_dir>/fleet/run`.
pub fn fleet_run_dir(env: impl Fn(&str) -> Option<String>, config_dir: &Path) -> PathBuf {
    env("HB_RUN_DIR")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| config_dir.join("fleet").join("run"))
}

/// What an agent did last, as recorded by the hooks plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentActivity {
    /// The agent name (`MOSAIC_AGENT`), or the Claude session id when unset.
    pub agent: String,
    /// Claude Code's session id.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The session's working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// The last hook event seen (`PreToolUse`, `Stop`, …).
    #[serde(default)]
    pub last_event: String,
    /// When it was seen (Unix seconds).
    #[serde(default)]
    pub last_event_at: u64,
    /// The last tool used (`Bash`, `Edit`, …).
    #[serde(default)]
    pub last_tool: Option<String>,
    /// When that tool was used (Unix seconds).
    #[serde(default)]
    pub last_tool_at: Option<u64>,
    /// Set when the agent stopped and waits for input (Unix seconds); cleared when it
    /// works again.
    #[serde(default)]
    pub idle_since: Option<u64>,
    /// When the session started (Unix seconds).
    #[serde(default)]
    pub session_started_at: Option<u64>,
    /// What the agent is doing, as the last hook event says (absent in records
    /// written before states existed: see [`AgentActivity::current_state`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AgentState>,
    /// When it entered that state (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_since: Option<u64>,
    /// Why it waits: the message of Claude Code's `Notification` ("Claude needs your
    /// permission to use Bash"); only while the state is `waiting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_message: Option<String>,
}

/// What an agent is doing, from Claude Code's hook events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    /// A prompt was submitted or a tool is running.
    Working,
    /// Claude Code asks the user for something: a permission, an answer.
    Waiting,
    /// It stopped and waits for the next prompt.
    Idle,
}

impl AgentState {
    /// Every state, in display order.
    pub const ALL: [AgentState; 3] = [AgentState::Working, AgentState::Waiting, AgentState::Idle];

    /// `working`, `waiting` or `idle`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Working => "working",
            AgentState::Waiting => "waiting",
            AgentState::Idle => "idle",
        }
    }

    /// The state named `name` (as [`AgentState::as_str`] writes it).
    pub fn parse(name: &str) -> Option<AgentState> {
        AgentState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

impl std::fmt::Display for AgentState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl AgentActivity {
    /// The state and since when: the recorded one, else (a record written before
    /// states existed) idle from `idle_since`, or working since the last event.
    /// `None` for a record without any event.
    pub fn current_state(&self) -> Option<(AgentState, u64)> {
        if let Some(state) = self.state {
            return Some((state, self.state_since.unwrap_or(self.last_event_at)));
        }
        if let Some(since) = self.idle_since {
            return Some((AgentState::Idle, since));
        }
        (!self.last_event.is_empty()).then_some((AgentState::Working, self.last_event_at))
    }
}

/// `<run_dir>/<agent>.activity.json`.
pub fn activity_path(run_dir: &Path, agent: &str) -> PathBuf {
    run_dir.join(format!("{agent}.activity.json"))
}

/// Reads an agent's activity record; `Ok(None)` when there is none.
pub fn read_activity(run_dir: &Path, agent: &str) -> Result<Option<AgentActivity>> {
    let path = activity_path(run_dir, agent);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let value = parse_json_text(&path, &text)?;
    Ok(Some(serde_json::from_value(value)?))
}

/// Writes an agent's activity record atomically (creating the run dir, mode 0700).
pub fn write_activity(run_dir: &Path, activity: &AgentActivity) -> Result<()> {
    create_dir_all_with_mode(run_dir, 0o700)?;
    let text = serde_json::to_vec_pretty(activity)?;
    atomic_write(&activity_path(run_dir, &activity.agent), &text, Some(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dir_prefers_hb_run_dir() {
        let config = Path::new("/c");
        assert_eq!(
            fleet_run_dir(|_| None, config),
            PathBuf::from("/c/fleet/run")
        );
        assert_eq!(
            fleet_run_dir(|_| Some("/r".into()), config),
            PathBuf::from("/r")
        );
    }

    #[test]
    fn activity_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let activity = AgentActivity {
            agent: "a1".into(),
            last_event: "Stop".into(),
            idle_since: Some(5),
            ..AgentActivity::default()
        };
        write_activity(dir.path(), &activity).unwrap();
        assert_eq!(read_activity(dir.path(), "a1").unwrap(), Some(activity));
        assert_eq!(read_activity(dir.path(), "none").unwrap(), None);
    }

    #[test]
    fn states_are_read_from_new_and_old_records() {
        let old: AgentActivity =
            serde_json::from_str(r#"{"agent":"a1","last_event":"PostToolUse","last_event_at":7}"#)
                .unwrap();
        assert_eq!(old.current_state(), Some((AgentState::Working, 7)));
        let old_idle = AgentActivity {
            idle_since: Some(3),
            ..old.clone()
        };
        assert_eq!(old_idle.current_state(), Some((AgentState::Idle, 3)));
        let waiting = AgentActivity {
            state: Some(AgentState::Waiting),
            state_since: Some(5),
            ..old
        };
        let text = serde_json::to_string(&waiting).unwrap();
        assert!(text.contains("\"state\":\"waiting\""), "{text}");
        assert_eq!(waiting.current_state(), Some((AgentState::Waiting, 5)));
        assert_eq!(AgentActivity::default().current_state(), None);
        assert_eq!(AgentState::parse("idle"), Some(AgentState::Idle));
        assert_eq!(AgentState::parse("busy"), None);
    }
}
