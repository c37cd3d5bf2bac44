//! The pruned-agent history: what `fleet prune` removed, so `fleet ps --all` can
//! still show it. One JSON array in `<run>/pruned-history.json`, newest last,
//! rewritten atomically under a lock and capped at [`HISTORY_LIMIT`] entries.
//!
//! A history that is not valid never stops a prune: [`HistoryUpdate::open`] moves it
//! aside (`pruned-history.json.corrupt-<unix time>`) and starts a new one, saying so.
//! Readers ([`read_history`]) get an error naming the file and leave it alone.

use std::path::{Path, PathBuf};

use mosaic_plugin_api::anyhow::{anyhow, Context as _, Result};
use mosaic_plugin_api::sdk::fs::{atomic_write, parse_json_text, FileLock};
use serde::{Deserialize, Serialize};

/// The most entries kept; older ones are dropped first.
pub const HISTORY_LIMIT: usize = 500;

/// `<run>/pruned-history.json`. Agent files all end in `.meta.json`, `.hb` or
/// `.activity.json`, so no agent name can collide with it.
pub fn history_path(run_dir: &Path) -> PathBuf {
    run_dir.join("pruned-history.json")
}

/// One pruned agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunedAgent {
    /// The agent name.
    pub agent: String,
    /// Its runtime label, if its metadata was readable.
    #[serde(default)]
    pub runtime: Option<String>,
    /// Its command, if known.
    #[serde(default)]
    pub command: Vec<String>,
    /// Its tmux session.
    pub session: String,
    /// Its pane pid, if known.
    #[serde(default)]
    pub pane_pid: Option<u32>,
    /// When it was launched, if known (Unix seconds).
    #[serde(default)]
    pub started_at: Option<u64>,
    /// Its last heartbeat, if any (Unix seconds).
    #[serde(default)]
    pub last_beat_at: Option<u64>,
    /// Its status when pruned (`dead` or `stopped`).
    pub final_status: String,
    /// When it was pruned (Unix seconds).
    pub pruned_at: u64,
}

/// What reading the history file found.
enum HistoryContent {
    /// The entries (none when there is no file).
    Entries(Vec<PrunedAgent>),
    /// The file exists but is not a history: why.
    Invalid(String),
}

/// Reads the history at `path`; an I/O error other than "not found" is an error.
fn read_content(path: &Path) -> Result<HistoryContent> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(HistoryContent::Entries(Vec::new()))
        }
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(HistoryContent::Invalid(format!(
            "{}: not UTF-8 text",
            path.display()
        )));
    };
    let value = match parse_json_text(path, &text) {
        Ok(value) => value,
        Err(error) => return Ok(HistoryContent::Invalid(format!("{error:#}"))),
    };
    Ok(match serde_json::from_value(value) {
        Ok(entries) => HistoryContent::Entries(entries),
        Err(error) => HistoryContent::Invalid(format!(
            "{}: not a list of pruned agents: {error}",
            path.display()
        )),
    })
}

/// Reads the history; empty when there is none. A file that is not a valid history
/// is an error naming it (and is left as it is).
pub fn read_history(run_dir: &Path) -> Result<Vec<PrunedAgent>> {
    let path = history_path(run_dir);
    match read_content(&path)? {
        HistoryContent::Entries(entries) => Ok(entries),
        HistoryContent::Invalid(problem) => Err(anyhow!(
            "{problem}: `mosaic fleet prune` moves it aside and starts a new history"
        )),
    }
}

/// A history file that was not valid and was moved out of the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetAsideHistory {
    /// What was wrong with it.
    pub problem: String,
    /// Where it is now.
    pub moved_to: PathBuf,
}

/// The history opened for a change: read under its lock, which is held until this
/// is dropped, so a read-change-save cannot lose another prune's entries.
pub struct HistoryUpdate {
    _lock: FileLock,
    path: PathBuf,
    entries: Vec<PrunedAgent>,
    set_aside: Option<SetAsideHistory>,
}

impl HistoryUpdate {
    /// Locks and reads the history of `run_dir` (which must exist). A file that is
    /// not a valid history is renamed to `pruned-history.json.corrupt-<now>` and the
    /// update starts from an empty history ([`HistoryUpdate::set_aside`] says so).
    pub fn open(run_dir: &Path, now: u64) -> Result<HistoryUpdate> {
        let path = history_path(run_dir);
        let lock = FileLock::exclusive(&path)?;
        let (entries, set_aside) = match read_content(&path)? {
            HistoryContent::Entries(entries) => (entries, None),
            HistoryContent::Invalid(problem) => {
                let moved_to = set_aside_path(&path, now);
                std::fs::rename(&path, &moved_to).with_context(|| {
                    format!(
                        "{problem}; and it cannot be moved to {}: move or remove it by hand",
                        moved_to.display()
                    )
                })?;
                (Vec::new(), Some(SetAsideHistory { problem, moved_to }))
            }
        };
        Ok(HistoryUpdate {
            _lock: lock,
            path,
            entries,
            set_aside,
        })
    }

    /// The invalid history moved aside when this was opened, if any.
    pub fn set_aside(&self) -> Option<&SetAsideHistory> {
        self.set_aside.as_ref()
    }

    /// Adds entries at the end, dropping the oldest beyond [`HISTORY_LIMIT`].
    pub fn add(&mut self, entries: impl IntoIterator<Item = PrunedAgent>) {
        self.entries.extend(entries);
        let excess = self.entries.len().saturating_sub(HISTORY_LIMIT);
        self.entries.drain(..excess);
    }

    /// Removes the newest entry of `agent` (one just added that did not happen).
    pub fn retract(&mut self, agent: &str) {
        if let Some(index) = self.entries.iter().rposition(|entry| entry.agent == agent) {
            self.entries.remove(index);
        }
    }

    /// Writes the entries (atomically, mode 0600).
    pub fn save(&self) -> Result<()> {
        let mut text =
            serde_json::to_vec_pretty(&self.entries).context("encoding the prune history")?;
        text.push(b'\n');
        atomic_write(&self.path, &text, Some(0o600))
    }
}

/// `<history>.corrupt-<now>`, with `-2`, `-3`, … if that exists already.
fn set_aside_path(path: &Path, now: u64) -> PathBuf {
    let base = format!("{}.corrupt-{now}", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut number = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}-{number}"));
        number += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(agent: &str) -> PrunedAgent {
        PrunedAgent {
            agent: agent.to_string(),
            runtime: Some("claude".into()),
            command: vec!["claude".into()],
            session: format!("mosaic-{agent}"),
            pane_pid: Some(1),
            started_at: Some(1),
            last_beat_at: None,
            final_status: "dead".into(),
            pruned_at: 2,
        }
    }

    fn append(run_dir: &Path, entries: Vec<PrunedAgent>) -> Option<SetAsideHistory> {
        let mut history = HistoryUpdate::open(run_dir, 1_000).unwrap();
        history.add(entries);
        history.save().unwrap();
        history.set_aside().cloned()
    }

    #[test]
    fn history_appends_and_is_capped() {
        let directory = tempfile::tempdir().unwrap();
        assert!(read_history(directory.path()).unwrap().is_empty());
        assert_eq!(append(directory.path(), vec![entry("a"), entry("b")]), None);
        append(directory.path(), vec![entry("c")]);
        let names: Vec<String> = read_history(directory.path())
            .unwrap()
            .into_iter()
            .map(|entry| entry.agent)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        let many: Vec<PrunedAgent> = (0..HISTORY_LIMIT)
            .map(|n| entry(&format!("n{n}")))
            .collect();
        append(directory.path(), many);
        let history = read_history(directory.path()).unwrap();
        assert_eq!(history.len(), HISTORY_LIMIT);
        assert_eq!(history[0].agent, "n0");
    }

    #[test]
    fn a_retracted_entry_is_not_saved() {
        let directory = tempfile::tempdir().unwrap();
        append(directory.path(), vec![entry("a")]);
        let mut history = HistoryUpdate::open(directory.path(), 1).unwrap();
        history.add([entry("a"), entry("b")]);
        history.retract("a");
        history.save().unwrap();
        let names: Vec<String> = read_history(directory.path())
            .unwrap()
            .into_iter()
            .map(|entry| entry.agent)
            .collect();
        assert_eq!(names, ["a", "b"], "the older `a` stays");
    }

    #[test]
    fn corrupt_history_is_an_error_naming_the_file_for_readers() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(history_path(directory.path()), "[{").unwrap();
        let message = format!("{:#}", read_history(directory.path()).unwrap_err());
        assert!(message.contains("pruned-history.json:1:"), "{message}");
        assert!(message.contains("mosaic fleet prune"), "{message}");
        assert_eq!(
            std::fs::read_to_string(history_path(directory.path())).unwrap(),
            "[{",
            "readers leave it alone"
        );
    }

    #[test]
    fn corrupt_history_is_set_aside_when_updating() {
        let directory = tempfile::tempdir().unwrap();
        let path = history_path(directory.path());
        for (content, moved_name) in [
            ("{bad", "pruned-history.json.corrupt-1000"),
            (
                "{\"not\": \"a list\"}",
                "pruned-history.json.corrupt-1000-2",
            ),
        ] {
            std::fs::write(&path, content).unwrap();
            let set_aside = append(directory.path(), vec![entry("fresh")]).unwrap();
            assert_eq!(set_aside.moved_to, directory.path().join(moved_name));
            assert!(
                set_aside.problem.contains("pruned-history.json"),
                "{set_aside:?}"
            );
            assert_eq!(
                std::fs::read_to_string(&set_aside.moved_to).unwrap(),
                content
            );
            let history = read_history(directory.path()).unwrap();
            assert_eq!(history, [entry("fresh")]);
        }
    }
}
