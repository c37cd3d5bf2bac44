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
//! Each record also holds the agent's state ([`AgentState`]) and since when:
//! `working` after `UserPromptSubmit` and the tool events; `waiting`, with the
//! notification's message, after a `Notification` that asks the user for something
//! (`permission_prompt`, `elicitation_dialog`, or a notification of an older Claude
//! Code without a type); `idle` after `SessionStart`, `Stop`, `SessionEnd` and the
//! `idle_prompt` notification (Claude Code's reminder that it waits for the next
//! prompt, which it sends after `Stop`). Other events leave the state as it is.
//! [`record`] returns the change, if any, for `fleet.on_state_change`
//! ([`crate::state_change`]).
//!
//! Claude Code runs the hooks of parallel tool calls at the same time, so the
//! read-change-write of a record happens under the record's [`FileLock`]: no event
//! is lost to another that read the record before it was written. The record itself
//! is replaced atomically, so `fleet ps` (which reads without the lock) never sees
//! a torn file.

use std::path::Path;

use mosaic_plugin_api::anyhow::{bail, Result};
use mosaic_plugin_api::sdk::activity::{
    activity_path, read_activity, write_activity, AgentActivity, AgentState,
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
    let previous_state = activity.current_state();
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
    if let Some(state) = state_after(event, input) {
        let since = match previous_state {
            Some((previous, since)) if previous == state => since,
            _ => now,
        };
        activity.state = Some(state);
        activity.state_since = Some(since);
        activity.waiting_message = match state {
            AgentState::Waiting => input
                .message
                .clone()
                .or_else(|| Some("Claude Code is waiting for you".to_string())),
            _ => None,
        };
        activity.idle_since = match state {
            AgentState::Idle => Some(since),
            _ => None,
        };
    } else if activity.state.is_none() {
        // Keep a record from before states existed readable the same way.
        if let Some((state, since)) = previous_state {
            activity.state = Some(state);
            activity.state_since = Some(since);
        }
    }
    activity
}

/// The state `event` puts the agent in; `None` when it says nothing about it.
pub fn state_after(event: &str, input: &HookInput) -> Option<AgentState> {
    match event {
        "UserPromptSubmit" | "PreToolUse" | "PostToolUse" | "PostToolUseFailure" => {
            Some(AgentState::Working)
        }
        "SessionStart" if input.source.as_deref() == Some("compact") => None,
        "SessionStart" | "Stop" | "StopFailure" | "SessionEnd" => Some(AgentState::Idle),
        "Notification" => match input.notification_type.as_deref() {
            Some("idle_prompt") => Some(AgentState::Idle),
            Some("auth_success") => None,
            Some("elicitation_complete" | "elicitation_response") => Some(AgentState::Working),
            Some(_) => Some(AgentState::Waiting),
            // Older Claude Code sends no type; its idle reminder has this text.
            None if input.message.as_deref() == Some(IDLE_PROMPT_MESSAGE) => Some(AgentState::Idle),
            None => Some(AgentState::Waiting),
        },
        _ => None,
    }
}

/// The message of Claude Code's `idle_prompt` notification.
const IDLE_PROMPT_MESSAGE: &str = "Claude is waiting for your input";

/// A change of an agent's state, for `fleet.on_state_change`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The agent (the record's key).
    pub agent: String,
    /// Its new state.
    pub state: AgentState,
    /// What it waits for (`waiting` only).
    pub message: Option<String>,
}

/// Reads, updates and writes the agent's record in `run_dir`, holding the record's
/// lock throughout (the run dir is created, mode 0700, if need be). Returns the
/// change of state the event made, if it made one.
pub fn record(
    run_dir: &Path,
    agent: &str,
    event: &str,
    input: &HookInput,
    now: u64,
) -> Result<Option<StateChange>> {
    create_dir_all_with_mode(run_dir, 0o700)?;
    let _lock = FileLock::exclusive(&activity_path(run_dir, agent))?;
    let previous = read_activity(run_dir, agent)?;
    let previous_state = previous
        .as_ref()
        .and_then(AgentActivity::current_state)
        .map(|(state, _)| state);
    let next = next_activity(previous, agent, event, input, now);
    write_activity(run_dir, &next)?;
    Ok(match next.state {
        Some(state) if Some(state) != previous_state => Some(StateChange {
            agent: agent.to_string(),
            state,
            message: next.waiting_message,
        }),
        _ => None,
    })
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

    fn notification(kind: Option<&str>, message: &str) -> HookInput {
        HookInput {
            message: Some(message.into()),
            notification_type: kind.map(str::to_string),
            ..input("Notification", None)
        }
    }

    #[test]
    fn states_follow_the_events_with_their_times() {
        let run = tempfile::tempdir().unwrap();
        let dir = run.path();
        let change = |event: &str, input: &HookInput, now: u64| {
            record(dir, "a1", event, input, now)
                .unwrap()
                .map(|change| (change.state, change.message))
        };
        assert_eq!(
            change("SessionStart", &input("SessionStart", None), 10),
            Some((AgentState::Idle, None))
        );
        assert_eq!(
            change("UserPromptSubmit", &input("UserPromptSubmit", None), 11),
            Some((AgentState::Working, None))
        );
        assert_eq!(
            change("PostToolUse", &input("PostToolUse", Some("Bash")), 12),
            None,
            "still working"
        );
        let asked = "Claude needs your permission to use Bash";
        assert_eq!(
            change(
                "Notification",
                &notification(Some("permission_prompt"), asked),
                13
            ),
            Some((AgentState::Waiting, Some(asked.to_string())))
        );
        let saved = read_activity(dir, "a1").unwrap().unwrap();
        assert_eq!(saved.state, Some(AgentState::Waiting));
        assert_eq!(saved.state_since, Some(13));
        assert_eq!(saved.waiting_message.as_deref(), Some(asked));
        assert_eq!(saved.idle_since, None);
        assert_eq!(
            change("PostToolUse", &input("PostToolUse", Some("Bash")), 20),
            Some((AgentState::Working, None))
        );
        let saved = read_activity(dir, "a1").unwrap().unwrap();
        assert_eq!((saved.state_since, saved.waiting_message), (Some(20), None));
        assert_eq!(
            change("Stop", &input("Stop", None), 30),
            Some((AgentState::Idle, None))
        );
        // Claude Code's reminder a minute after Stop changes nothing.
        assert_eq!(
            change(
                "Notification",
                &notification(Some("idle_prompt"), "Claude is waiting for your input"),
                90
            ),
            None
        );
        let saved = read_activity(dir, "a1").unwrap().unwrap();
        assert_eq!(saved.current_state(), Some((AgentState::Idle, 30)));
        assert_eq!(saved.idle_since, Some(30));
    }

    #[test]
    fn notifications_without_a_type_wait_unless_they_are_the_idle_reminder() {
        let waiting = notification(None, "Claude needs your permission to use Edit");
        assert_eq!(
            state_after("Notification", &waiting),
            Some(AgentState::Waiting)
        );
        let reminder = notification(None, "Claude is waiting for your input");
        assert_eq!(
            state_after("Notification", &reminder),
            Some(AgentState::Idle)
        );
        assert_eq!(
            state_after("Notification", &notification(Some("auth_success"), "ok")),
            None
        );
        assert_eq!(
            state_after(
                "Notification",
                &notification(Some("elicitation_dialog"), "MCP server asks")
            ),
            Some(AgentState::Waiting)
        );
        let mut compacted = input("SessionStart", None);
        compacted.source = Some("compact".into());
        assert_eq!(state_after("SessionStart", &compacted), None);
        assert_eq!(state_after("PreCompact", &input("PreCompact", None)), None);
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
