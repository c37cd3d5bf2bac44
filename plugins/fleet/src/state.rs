//! What an agent is doing — working, waiting or idle — and for how long, as `fleet
//! ps`, `fleet status-line` and `fleet watch` show it.
//!
//! The state comes from the hooks plugin's activity record
//! ([`AgentActivity::current_state`]), which Claude Code's own hook events keep up
//! to date (`mosaic_hooks::activity` lists which event means what). An agent only
//! has a state while it may be running (alive, stale or unknown): a dead or stopped
//! agent is not working, whatever its last event said. An agent whose runtime
//! sends no hook events (a plain command, Codex) has none.

use mosaic_plugin_api::sdk::activity::{AgentActivity, AgentState};
use serde::Serialize;

use crate::record::AgentRecord;
use crate::status::Status;

/// An agent's state, since when, and why it waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentStateInfo {
    /// working, waiting or idle.
    pub state: AgentState,
    /// When it entered the state (Unix seconds).
    pub since: u64,
    /// What it waits for (waiting only).
    pub message: Option<String>,
}

/// The state of an agent with `status`: the activity record's, except that a
/// question Claude Code was expected to ask before any hook fires (`pending`: the
/// question and the launch time, see `crate::claude_setup`) means waiting for it
/// until a hook event newer than the launch arrives. `None` when the agent is not
/// running or nothing is known.
pub fn state_of(
    status: Status,
    activity: Option<&AgentActivity>,
    pending: Option<(&str, u64)>,
) -> Option<AgentStateInfo> {
    if !matches!(status, Status::Alive | Status::Stale | Status::Unknown) {
        return None;
    }
    if let Some((question, launched_at)) = pending {
        let answered = activity.is_some_and(|activity| {
            !activity.last_event.is_empty() && activity.last_event_at >= launched_at
        });
        if !answered {
            return Some(AgentStateInfo {
                state: AgentState::Waiting,
                since: launched_at,
                message: Some(question.to_string()),
            });
        }
    }
    let activity = activity?;
    let (state, since) = activity.current_state()?;
    Some(AgentStateInfo {
        state,
        since,
        message: match state {
            AgentState::Waiting => activity.waiting_message.clone(),
            _ => None,
        },
    })
}

/// [`state_of`] for a record read from the run directory.
pub fn record_state(record: &AgentRecord) -> Option<AgentStateInfo> {
    let pending = record.metadata.as_ref().and_then(|metadata| {
        metadata
            .pending_question
            .as_deref()
            .map(|question| (question, metadata.started_at))
    });
    state_of(record.status, record.activity.as_ref(), pending)
}

/// How many running agents are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    /// Agents working.
    pub working: usize,
    /// Agents waiting for the user.
    pub waiting: usize,
    /// Agents idle.
    pub idle: usize,
}

impl StateCounts {
    /// Counts one agent in `state`.
    pub fn add(&mut self, state: AgentState) {
        match state {
            AgentState::Working => self.working += 1,
            AgentState::Waiting => self.waiting += 1,
            AgentState::Idle => self.idle += 1,
        }
    }

    /// The count of `state`.
    pub fn get(&self, state: AgentState) -> usize {
        match state {
            AgentState::Working => self.working,
            AgentState::Waiting => self.waiting,
            AgentState::Idle => self.idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(state: AgentState) -> AgentActivity {
        AgentActivity {
            agent: "a1".into(),
            last_event: "Notification".into(),
            last_event_at: 5,
            state: Some(state),
            state_since: Some(4),
            waiting_message: Some("Claude needs your permission to use Bash".into()),
            ..AgentActivity::default()
        }
    }

    #[test]
    fn only_running_agents_have_a_state() {
        let waiting = activity(AgentState::Waiting);
        let info = state_of(Status::Alive, Some(&waiting), None).unwrap();
        assert_eq!(info.state, AgentState::Waiting);
        assert_eq!(info.since, 4);
        assert_eq!(
            info.message.as_deref(),
            Some("Claude needs your permission to use Bash")
        );
        for status in [Status::Dead, Status::Stopped, Status::Pruned] {
            assert_eq!(state_of(status, Some(&waiting), None), None, "{status}");
        }
        assert_eq!(state_of(Status::Alive, None, None), None);
        let idle = activity(AgentState::Idle);
        assert_eq!(
            state_of(Status::Stale, Some(&idle), None).unwrap().message,
            None
        );
    }

    #[test]
    fn a_pending_question_waits_until_a_hook_event_after_the_launch() {
        let trust = "Do you trust the files in this folder?";
        let info = state_of(Status::Alive, None, Some((trust, 3))).unwrap();
        assert_eq!(
            (info.state, info.since, info.message.as_deref()),
            (AgentState::Waiting, 3, Some(trust))
        );
        // An event from before the launch (an earlier run) does not answer it.
        let idle = activity(AgentState::Idle);
        let info = state_of(Status::Alive, Some(&idle), Some((trust, 9))).unwrap();
        assert_eq!(info.state, AgentState::Waiting);
        let info = state_of(Status::Alive, Some(&idle), Some((trust, 5))).unwrap();
        assert_eq!((info.state, info.message), (AgentState::Idle, None));
        assert_eq!(state_of(Status::Dead, None, Some((trust, 3))), None);
    }

    #[test]
    fn counts_add_up() {
        let mut counts = StateCounts::default();
        for state in [AgentState::Working, AgentState::Idle, AgentState::Working] {
            counts.add(state);
        }
        assert_eq!(counts.get(AgentState::Working), 2);
        assert_eq!(counts.get(AgentState::Waiting), 0);
        assert_eq!(counts.get(AgentState::Idle), 1);
    }
}
