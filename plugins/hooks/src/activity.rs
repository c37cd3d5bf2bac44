//! What a hook event says about the agent, written to the fleet run dir for
//! `mosaic fleet ps` (record format: [`mosaic_plugin_api::sdk::activity`]).
//!
//! The record is keyed by `MOSAIC_AGENT`, which fleet sets in the tmux session it
//! starts Claude Code in (hooks inherit Claude Code's environment), else by the
//! Claude session id. Events update it like this:
//!
//! - every event: session id, cwd, last event and its time;
//! - `SessionStart`: a new session id starts a fresh record; the agent waits for a
//!   prompt (idle) unless the session was only compacted;
//! - `UserPromptSubmit`, `PreToolUse`, `PostToolUse`(`Failure`): the agent works
//!   (not idle); `PostToolUse`(`Failure`) also sets the last tool and its time;
//! - `Stop`, `SessionEnd`: the agent is idle from now (an earlier idle time is kept).
//!
//! Claude Code runs the hooks of parallel tool calls at the same time, so the
//! read-change-write of a record happens under the record's [`FileLock`]: no event
//! is lost to another that read the record before it was written. The record itself
//! is replaced atomically, so `fleet ps` (which reads without the lock) never sees
//! a torn file.

use std::path::Path;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::sdk::activity::{
    activity_path, read_activity, write_activity, AgentActivity,
};
use mosaic_plugin_api::sdk::fs::{create_dir_all_with_mode, FileLock};

use crate::protocol::HookInput;

/// The key of the activity record: `MOSAIC_AGENT` if set, else the session id.
pub fn agent_key(mosaic_agent: Option<&str>, input: &HookInput) -> Result<String> {
    let (key, source) = match mosaic_agent.filter(|name| !name.is_empty()) {
        Some(name) => (name.to_string(), "MOSAIC_AGENT"),
        None => match input.session_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => (id.to_string(), "session_id"),
            None => bail!("neither MOSAIC_AGENT nor a session_id is known; activity not recorded"),
        },
    };
    let usable = key.len() <= 128
        && !key.starts_with('.')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !usable {
        bail!(
            "{source} `{key}` cannot name an activity file (use letters, digits, `-`, `_` \
             and `.`); activity not recorded"
        );
    }
    Ok(key)
}

/// The record after `event` happened at `now` (Unix seconds).
pub fn next_activity(
    previous: Option<AgentActivity>,
    agent: &str,
    event: &str,
    input: &HookInput,
    now: u64,
) -> AgentActivity {
    let mut activity = previous.unwrap_or_default();
    let new_session = event == "SessionStart"
        && input.session_id.is_some()
        && activity.session_id != input.session_id;
    if new_session {
        activity = AgentActivity::default();
    }
    activity.agent = agent.to_string();
    if input.session_id.is_some() {
        activity.session_id = input.session_id.clone();
    }
    if input.cwd.is_some() {
        activity.cwd = input.cwd.clone();
    }
    activity.last_event = event.to_string();
    activity.last_event_at = now;
    match event {
        "SessionStart" if input.source.as_deref() != Some("compact") => {
            activity.session_started_at = Some(now);
            activity.idle_since = Some(now);
        }
        "UserPromptSubmit" | "PreToolUse" => activity.idle_since = None,
        "PostToolUse" | "PostToolUseFailure" => {
            activity.idle_since = None;
            activity.last_tool = input.tool_name.clone();
            activity.last_tool_at = Some(now);
        }
        "Stop" | "SessionEnd" => activity.idle_since = activity.idle_since.or(Some(now)),
        _ => {}
    }
    activity
}

/// Reads, updates and writes the agent's record in `run_dir`, holding the record's
/// lock throughout (the run dir is created, mode 0700, if need be).
pub fn record(run_dir: &Path, agent: &str, event: &str, input: &HookInput, now: u64) -> Result<()> {
    create_dir_all_with_mode(run_dir, 0o700)?;
    let _lock = FileLock::exclusive(&activity_path(run_dir, agent))?;
    let previous = read_activity(run_dir, agent)?;
    write_activity(run_dir, &next_activity(previous, agent, event, input, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(event: &str, tool: Option<&str>) -> HookInput {
        HookInput {
            session_id: Some("s1".into()),
            cwd: Some("/work".into()),
            hook_event_name: Some(event.into()),
            tool_name: tool.map(str::to_string),
            source: Some("startup".into()),
            ..HookInput::default()
        }
    }

    #[test]
    fn a_session_goes_idle_busy_idle() {
        let started = next_activity(None, "a1", "SessionStart", &input("SessionStart", None), 10);
        assert_eq!(started.session_started_at, Some(10));
        assert_eq!(started.idle_since, Some(10));
        let prompted = next_activity(
            Some(started),
            "a1",
            "UserPromptSubmit",
            &input("UserPromptSubmit", None),
            11,
        );
        assert_eq!(prompted.idle_since, None);
        let used = next_activity(
            Some(prompted),
            "a1",
            "PostToolUse",
            &input("PostToolUse", Some("Bash")),
            12,
        );
        assert_eq!(used.last_tool.as_deref(), Some("Bash"));
        assert_eq!(used.last_tool_at, Some(12));
        let stopped = next_activity(Some(used), "a1", "Stop", &input("Stop", None), 13);
        assert_eq!(stopped.idle_since, Some(13));
        assert_eq!(stopped.last_event, "Stop");
        let still = next_activity(Some(stopped), "a1", "Stop", &input("Stop", None), 20);
        assert_eq!(still.idle_since, Some(13), "idle since the first stop");
        assert_eq!(still.session_started_at, Some(10));
        assert_eq!(still.cwd.as_deref(), Some("/work"));
    }

    #[test]
    fn a_new_session_starts_a_fresh_record() {
        let used = next_activity(
            None,
            "a1",
            "PostToolUse",
            &input("PostToolUse", Some("Edit")),
            5,
        );
        let mut next = input("SessionStart", None);
        next.session_id = Some("s2".into());
        let fresh = next_activity(Some(used), "a1", "SessionStart", &next, 9);
        assert_eq!(fresh.last_tool, None);
        assert_eq!(fresh.session_id.as_deref(), Some("s2"));
    }

    #[test]
    fn agent_key_prefers_mosaic_agent_and_refuses_paths() {
        let hook_input = input("Stop", None);
        assert_eq!(
            agent_key(Some("builder-1"), &hook_input).unwrap(),
            "builder-1"
        );
        assert_eq!(agent_key(None, &hook_input).unwrap(), "s1");
        assert_eq!(agent_key(Some(""), &hook_input).unwrap(), "s1");
        assert!(agent_key(Some("../etc/x"), &hook_input).is_err());
        assert!(agent_key(None, &HookInput::default()).is_err());
    }

    #[test]
    fn recording_waits_for_the_records_lock() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().to_path_buf();
        let held = FileLock::exclusive(&activity_path(&run_dir, "a1")).unwrap();
        let (done_sender, done) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            let result = record(
                &run_dir,
                "a1",
                "PostToolUse",
                &input("PostToolUse", Some("Bash")),
                7,
            );
            done_sender.send(()).unwrap();
            result
        });
        let waited = done.recv_timeout(std::time::Duration::from_millis(300));
        assert!(
            waited.is_err(),
            "record() changed the record while it was locked"
        );
        assert_eq!(read_activity(dir.path(), "a1").unwrap(), None);
        drop(held);
        writer.join().unwrap().unwrap();
        let saved = read_activity(dir.path(), "a1").unwrap().unwrap();
        assert_eq!(saved.last_tool.as_deref(), Some("Bash"));
    }

    #[test]
    fn records_in_the_run_dir() {
        let dir = tempfile::tempdir().unwrap();
        record(
            dir.path(),
            "a1",
            "PostToolUse",
            &input("PostToolUse", Some("Bash")),
            7,
        )
        .unwrap();
        let saved = read_activity(dir.path(), "a1").unwrap().unwrap();
        assert_eq!(saved.last_tool.as_deref(), Some("Bash"));
    }
}
