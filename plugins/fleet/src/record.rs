//! What the run directory says about one agent: its metadata, last heartbeat and
//! activity, read together, with the status they imply and the problems found.
//!
//! A file that cannot be read does not stop the others: the record keeps what it
//! could read and says what it could not, so `fleet ps` can show every row.

use std::path::Path;

use mosaic_plugin_api::sdk::activity::{read_activity, AgentActivity};

use crate::agent::{
    list_agents, read_heartbeat, read_metadata, session_name, AgentFiles, AgentMetadata, Heartbeat,
    ListedAgent,
};
use crate::status::{classify, Status, Thresholds};

/// One agent as the files describe it.
#[derive(Debug, Clone)]
pub struct AgentRecord {
    /// The agent name.
    pub agent: String,
    /// Where its files are.
    pub files: AgentFiles,
    /// Its metadata, if readable.
    pub metadata: Option<AgentMetadata>,
    /// Its last heartbeat, if any and readable.
    pub heartbeat: Option<Heartbeat>,
    /// Its hook activity, if any and readable.
    pub activity: Option<AgentActivity>,
    /// The status the files imply.
    pub status: Status,
    /// Files that could not be read, each with the reason.
    pub problems: Vec<String>,
}

impl AgentRecord {
    /// Reads the agent's files in `run_dir` and classifies it at `now`.
    pub fn load(run_dir: &Path, agent: &str, now: u64, thresholds: Thresholds) -> AgentRecord {
        Self::load_listed(run_dir, &ListedAgent::unlisted(agent), now, thresholds)
    }

    /// Like [`AgentRecord::load`], opening only the files the listing showed.
    fn load_listed(
        run_dir: &Path,
        listed: &ListedAgent,
        now: u64,
        thresholds: Thresholds,
    ) -> AgentRecord {
        let agent = listed.agent.as_str();
        let files = AgentFiles::new(run_dir, agent);
        let mut problems = Vec::new();
        let metadata = if listed.metadata {
            read_metadata(&files.metadata).unwrap_or_else(|error| {
                problems.push(format!("{error:#}"));
                None
            })
        } else {
            None
        };
        let mut heartbeat_unreadable = false;
        let heartbeat = if listed.heartbeat {
            read_heartbeat(&files.heartbeat).unwrap_or_else(|error| {
                problems.push(format!("{error:#}"));
                heartbeat_unreadable = true;
                None
            })
        } else {
            None
        };
        let activity = if listed.activity {
            read_activity(run_dir, agent).unwrap_or_else(|error| {
                problems.push(format!("{}: {error:#}", files.activity.display()));
                None
            })
        } else {
            None
        };
        if metadata.is_none() && problems.is_empty() && heartbeat.is_some() {
            problems.push(format!(
                "{} is missing (the heartbeat has no launch record)",
                files.metadata.display()
            ));
        }
        let interval = metadata
            .as_ref()
            .map(|metadata| metadata.interval)
            .or(heartbeat.as_ref().map(|heartbeat| heartbeat.interval));
        let status = if metadata
            .as_ref()
            .is_some_and(|metadata| metadata.stopped_at.is_some())
        {
            Status::Stopped
        } else if heartbeat_unreadable {
            Status::Unknown
        } else {
            match interval {
                Some(interval) => classify(
                    heartbeat.as_ref().map(|heartbeat| heartbeat.beat_at),
                    interval,
                    now,
                    thresholds,
                ),
                // Neither file says how often it beats: nothing to measure against.
                None => Status::Unknown,
            }
        };
        AgentRecord {
            agent: agent.to_string(),
            files,
            metadata,
            heartbeat,
            activity,
            status,
            problems,
        }
    }

    /// Every agent in `run_dir`, sorted by name.
    pub fn load_all(
        run_dir: &Path,
        now: u64,
        thresholds: Thresholds,
    ) -> mosaic_plugin_api::anyhow::Result<Vec<AgentRecord>> {
        Ok(list_agents(run_dir)?
            .iter()
            .map(|listed| AgentRecord::load_listed(run_dir, listed, now, thresholds))
            .collect())
    }

    /// Whether any file of the agent exists.
    pub fn exists(&self) -> bool {
        self.files.metadata.exists() || self.files.heartbeat.exists()
    }

    /// The pane pid from the metadata, else from the heartbeat.
    pub fn pane_pid(&self) -> Option<u32> {
        self.metadata
            .as_ref()
            .and_then(|metadata| metadata.pane_pid)
            .or(self.heartbeat.as_ref().map(|heartbeat| heartbeat.pane_pid))
    }

    /// The sidecar pid from the heartbeat (written by the sidecar itself), else from
    /// the metadata.
    pub fn sidecar_pid(&self) -> Option<u32> {
        self.heartbeat
            .as_ref()
            .map(|heartbeat| heartbeat.sidecar_pid)
            .or(self
                .metadata
                .as_ref()
                .and_then(|metadata| metadata.sidecar_pid))
    }

    /// The tmux session.
    pub fn session(&self) -> String {
        self.metadata
            .as_ref()
            .map(|metadata| metadata.session.clone())
            .unwrap_or_else(|| session_name(&self.agent))
    }

    /// The tmux server the agent was launched on, if recorded.
    pub fn tmux_socket(&self) -> Option<String> {
        self.metadata
            .as_ref()
            .and_then(|metadata| metadata.tmux_socket.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::write_metadata;
    use std::path::PathBuf;

    fn metadata(agent: &str, started_at: u64) -> AgentMetadata {
        AgentMetadata {
            agent: agent.into(),
            runtime: "sleep".into(),
            command: vec!["sleep".into(), "100".into()],
            cwd: PathBuf::from("/"),
            session: session_name(agent),
            tmux_socket: None,
            pane_pid: Some(10),
            sidecar_pid: Some(11),
            started_at,
            interval: 1,
            stopped_at: None,
            gateway_key: None,
            gateway_url: None,
            worktree: None,
            pending_question: None,
        }
    }

    fn beat(run_dir: &Path, agent: &str, at: u64) {
        std::fs::write(
            run_dir.join(format!("{agent}.hb")),
            format!(
                "{{\"agent\":\"{agent}\",\"pane_pid\":10,\"sidecar_pid\":12,\"interval\":1,\"beat_at\":{at}}}\n"
            ),
        )
        .unwrap();
    }

    #[test]
    fn statuses_follow_files() {
        let directory = tempfile::tempdir().unwrap();
        let run_dir = directory.path();
        for agent in ["fresh", "old", "never", "stopped"] {
            write_metadata(
                &AgentFiles::new(run_dir, agent).metadata,
                &metadata(agent, 50),
            )
            .unwrap();
        }
        beat(run_dir, "fresh", 99);
        beat(run_dir, "old", 97);
        let mut stopped = metadata("stopped", 50);
        stopped.stopped_at = Some(90);
        write_metadata(&AgentFiles::new(run_dir, "stopped").metadata, &stopped).unwrap();
        let records = AgentRecord::load_all(run_dir, 100, Thresholds::DEFAULT).unwrap();
        let statuses: Vec<(&str, Status)> = records
            .iter()
            .map(|record| (record.agent.as_str(), record.status))
            .collect();
        assert_eq!(
            statuses,
            [
                ("fresh", Status::Alive),
                ("never", Status::Dead),
                ("old", Status::Stale),
                ("stopped", Status::Stopped),
            ]
        );
        assert_eq!(
            records[0].sidecar_pid(),
            Some(12),
            "the heartbeat's pid wins"
        );
        assert!(records.iter().all(|record| record.problems.is_empty()));
    }

    #[test]
    fn corrupt_files_are_reported_per_agent() {
        let directory = tempfile::tempdir().unwrap();
        let run_dir = directory.path();
        write_metadata(
            &AgentFiles::new(run_dir, "good").metadata,
            &metadata("good", 1),
        )
        .unwrap();
        beat(run_dir, "good", 100);
        write_metadata(
            &AgentFiles::new(run_dir, "bad-beat").metadata,
            &metadata("bad-beat", 1),
        )
        .unwrap();
        std::fs::write(run_dir.join("bad-beat.hb"), "{\"agent\":").unwrap();
        std::fs::write(run_dir.join("bad-meta.meta.json"), "not json").unwrap();
        beat(run_dir, "bad-meta", 100);
        let records = AgentRecord::load_all(run_dir, 100, Thresholds::DEFAULT).unwrap();
        let by_name = |name: &str| records.iter().find(|record| record.agent == name).unwrap();
        assert_eq!(by_name("good").status, Status::Alive);
        assert_eq!(by_name("bad-beat").status, Status::Unknown);
        assert!(by_name("bad-beat").problems[0].contains("bad-beat.hb:1:"));
        let bad_meta = by_name("bad-meta");
        assert_eq!(
            bad_meta.status,
            Status::Alive,
            "the heartbeat alone still tells"
        );
        assert!(
            bad_meta.problems[0].contains("bad-meta.meta.json:1:"),
            "{:?}",
            bad_meta.problems
        );
        assert_eq!(bad_meta.session(), "mosaic-bad-meta");
    }

    #[test]
    fn a_heartbeat_without_metadata_says_so() {
        let directory = tempfile::tempdir().unwrap();
        beat(directory.path(), "orphan", 100);
        let record = AgentRecord::load(directory.path(), "orphan", 100, Thresholds::DEFAULT);
        assert_eq!(record.status, Status::Alive);
        assert!(
            record.problems[0].contains("is missing"),
            "{:?}",
            record.problems
        );
    }
}
