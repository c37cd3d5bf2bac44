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
}
