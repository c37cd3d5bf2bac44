//! What `fleet watch` shows, read afresh on every refresh: one row per agent from
//! the run directory (the same files `fleet ps` reads, so no tmux call per agent),
//! the filter, and the selection that follows an agent by name.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mosaic_plugin_api::anyhow::Result;
use mosaic_plugin_api::sdk::output::format_duration;

use crate::commands::ps::describe_activity;
use crate::gateway::AgentUsage;
use crate::record::AgentRecord;
use crate::state::{record_state, AgentStateInfo};
use crate::status::{Status, Thresholds};

/// One agent as the view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchRow {
    /// The agent name.
    pub agent: String,
    /// Liveness from the heartbeat.
    pub status: Status,
    /// working, waiting or idle and for how long (with the waiting message), from
    /// the hooks plugin's activity record.
    pub state: Option<String>,
    /// What it did last, from the same record (`-` without one).
    pub activity: String,
    /// The last tool it used.
    pub last_tool: Option<String>,
    /// Its worktree's branch (`fleet launch --worktree`).
    pub branch: Option<String>,
    /// Seconds since launch, while it may be running.
    pub uptime_seconds: Option<u64>,
    /// Its tmux session.
    pub session: String,
    /// The tmux server it was launched on.
    pub tmux_socket: Option<String>,
    /// Files of the agent that could not be read.
    pub problems: usize,
}

impl WatchRow {
    fn from_record(record: AgentRecord, now: u64) -> WatchRow {
        let session = record.session();
        let tmux_socket = record.tmux_socket();
        let metadata = record.metadata.as_ref();
        let uptime_seconds = metadata
            .map(|metadata| metadata.started_at)
            .filter(|_| record.status.may_be_running())
            .map(|at| now.saturating_sub(at));
        WatchRow {
            state: record_state(&record).map(|info| describe_state(&info, now)),
            activity: record.activity.as_ref().map_or_else(
                || "-".to_string(),
                |activity| describe_activity(activity, now),
            ),
            last_tool: record
                .activity
                .as_ref()
                .and_then(|activity| activity.last_tool.clone()),
            branch: metadata
                .and_then(|metadata| metadata.worktree.as_ref())
                .map(|worktree| worktree.branch.clone()),
            uptime_seconds,
            session,
            tmux_socket,
            problems: record.problems.len(),
            status: record.status,
            agent: record.agent,
        }
    }

    /// Whether the row matches a filter: every word of it, case-insensitively, in
    /// the name, status, activity, last tool or branch.
    pub fn matches(&self, filter: &str) -> bool {
        if filter.trim().is_empty() {
            return true;
        }
        let haystack = format!(
            "{} {} {} {} {} {}",
            self.agent,
            self.status,
            self.state.as_deref().unwrap_or_default(),
            self.activity,
            self.last_tool.as_deref().unwrap_or_default(),
            self.branch.as_deref().unwrap_or_default()
        )
        .to_lowercase();
        filter
            .to_lowercase()
            .split_whitespace()
            .all(|word| haystack.contains(word))
    }
}

/// `waiting 2m 5s: Claude needs your permission`, `working 3s`, `idle 1m 0s`.
pub fn describe_state(info: &AgentStateInfo, now: u64) -> String {
    let mut text = format!(
        "{} {}",
        info.state,
        format_duration(Duration::from_secs(now.saturating_sub(info.since)))
    );
    if let Some(message) = &info.message {
        text.push_str(": ");
        text.push_str(message);
    }
    text
}

/// Every agent in the run directory, sorted by name.
pub fn load_rows(run_dir: &Path, now: u64, thresholds: Thresholds) -> Result<Vec<WatchRow>> {
    Ok(AgentRecord::load_all(run_dir, now, thresholds)?
        .into_iter()
        .map(|record| WatchRow::from_record(record, now))
        .collect())
}

/// The agents on screen and which one is selected.
#[derive(Debug, Default)]
pub struct Model {
    /// Every agent from the last refresh.
    pub rows: Vec<WatchRow>,
    /// The filter (empty: all agents).
    pub filter: String,
    /// The selected agent, by name, so it stays selected as rows come and go.
    pub selected: Option<String>,
    /// Today's gateway usage per agent, when the gateway reported it.
    pub usage: Option<BTreeMap<String, AgentUsage>>,
}

impl Model {
    /// The rows that pass the filter.
    pub fn visible(&self) -> Vec<&WatchRow> {
        self.rows
            .iter()
            .filter(|row| row.matches(&self.filter))
            .collect()
    }

    /// Replaces the rows; the selection stays on its agent, else moves to the first.
    pub fn set_rows(&mut self, rows: Vec<WatchRow>) {
        self.rows = rows;
        self.keep_selection_visible();
    }

    /// Sets the filter and keeps the selection on a visible row.
    pub fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.keep_selection_visible();
    }

    fn keep_selection_visible(&mut self) {
        let visible = self.visible();
        let still_there = self
            .selected
            .as_ref()
            .is_some_and(|name| visible.iter().any(|row| &row.agent == name));
        if !still_there {
            self.selected = visible.first().map(|row| row.agent.clone());
        }
    }

    /// The index of the selected row among the visible ones.
    pub fn selected_index(&self) -> Option<usize> {
        let name = self.selected.as_ref()?;
        self.visible().iter().position(|row| &row.agent == name)
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&WatchRow> {
        let name = self.selected.as_ref()?;
        self.rows.iter().find(|row| &row.agent == name)
    }

    /// Moves the selection by `delta` visible rows (clamped at both ends).
    pub fn move_selection(&mut self, delta: isize) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let current = self.selected_index().unwrap_or(0) as isize;
        let last = visible.len() as isize - 1;
        let next = (current + delta).clamp(0, last) as usize;
        self.selected = Some(visible[next].agent.clone());
    }

    /// How many agents have each liveness status, in display order.
    pub fn status_counts(&self) -> Vec<(Status, usize)> {
        [
            Status::Alive,
            Status::Stale,
            Status::Dead,
            Status::Stopped,
            Status::Unknown,
        ]
        .into_iter()
        .map(|status| {
            (
                status,
                self.rows.iter().filter(|row| row.status == status).count(),
            )
        })
        .filter(|(_, count)| *count > 0)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosaic_plugin_api::sdk::activity::AgentState;

    #[test]
    fn states_say_how_long_and_why_waiting() {
        let waiting = AgentStateInfo {
            state: AgentState::Waiting,
            since: 40,
            message: Some("Claude needs your permission to use Bash".into()),
        };
        assert_eq!(
            describe_state(&waiting, 100),
            "waiting 1m 0s: Claude needs your permission to use Bash"
        );
        let idle = AgentStateInfo {
            state: AgentState::Idle,
            since: 100,
            message: None,
        };
        assert_eq!(describe_state(&idle, 100), "idle 0s");
    }

    fn row(agent: &str, status: Status, branch: Option<&str>) -> WatchRow {
        WatchRow {
            agent: agent.into(),
            status,
            state: Some("waiting 5s: needs permission".into()),
            activity: "Bash 3s ago".into(),
            last_tool: Some("Bash".into()),
            branch: branch.map(str::to_string),
            uptime_seconds: None,
            session: format!("mosaic-{agent}"),
            tmux_socket: None,
            problems: 0,
        }
    }

    #[test]
    fn filters_match_every_word_in_any_field() {
        let reviewer = row("reviewer", Status::Alive, Some("mosaic/reviewer"));
        assert!(reviewer.matches(""));
        assert!(reviewer.matches("REV alive"));
        assert!(reviewer.matches("bash mosaic/"));
        assert!(reviewer.matches("waiting permission"));
        assert!(!reviewer.matches("rev dead"));
    }

    #[test]
    fn the_selection_follows_its_agent_and_the_filter() {
        let mut model = Model::default();
        model.set_rows(vec![
            row("a1", Status::Alive, None),
            row("b2", Status::Dead, None),
            row("c3", Status::Alive, None),
        ]);
        assert_eq!(model.selected.as_deref(), Some("a1"));
        model.move_selection(5);
        assert_eq!(model.selected.as_deref(), Some("c3"));
        model.set_rows(vec![
            row("c3", Status::Alive, None),
            row("d4", Status::Alive, None),
        ]);
        assert_eq!(model.selected.as_deref(), Some("c3"), "kept by name");
        model.set_filter("d4".into());
        assert_eq!(model.selected.as_deref(), Some("d4"));
        model.move_selection(-1);
        assert_eq!(model.selected_index(), Some(0));
        model.set_filter("nothing".into());
        assert_eq!(model.selected, None);
        assert_eq!(model.status_counts(), [(Status::Alive, 2)]);
    }
}
