//! The pruned-agent history: what `fleet prune` removed, so `fleet ps --all` can
//! still show it. One JSON array in `<run>/pruned-history.json`, newest last,
//! rewritten atomically under a lock and capped at [`HISTORY_LIMIT`] entries.

use std::path::{Path, PathBuf};

use mosaic_plugin_api::anyhow::{Context as _, Result};
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

/// Reads the history; empty when there is none.
pub fn read_history(run_dir: &Path) -> Result<Vec<PrunedAgent>> {
    let path = history_path(run_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    let value = parse_json_text(&path, &text)?;
    serde_json::from_value(value).with_context(|| {
        format!(
            "{}: unexpected content (remove the file to start a new history)",
            path.display()
        )
    })
}

/// Appends entries, dropping the oldest beyond [`HISTORY_LIMIT`].
pub fn append_history(run_dir: &Path, entries: &[PrunedAgent]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let path = history_path(run_dir);
    let _lock = FileLock::exclusive(&path)?;
    let mut history = read_history(run_dir)?;
    history.extend_from_slice(entries);
    let excess = history.len().saturating_sub(HISTORY_LIMIT);
    history.drain(..excess);
    let mut text = serde_json::to_vec_pretty(&history).context("encoding the prune history")?;
    text.push(b'\n');
    atomic_write(&path, &text, Some(0o600))
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

    #[test]
    fn history_appends_and_is_capped() {
        let directory = tempfile::tempdir().unwrap();
        assert!(read_history(directory.path()).unwrap().is_empty());
        append_history(directory.path(), &[entry("a"), entry("b")]).unwrap();
        append_history(directory.path(), &[entry("c")]).unwrap();
        let names: Vec<String> = read_history(directory.path())
            .unwrap()
            .into_iter()
            .map(|entry| entry.agent)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        let many: Vec<PrunedAgent> = (0..HISTORY_LIMIT)
            .map(|n| entry(&format!("n{n}")))
            .collect();
        append_history(directory.path(), &many).unwrap();
        let history = read_history(directory.path()).unwrap();
        assert_eq!(history.len(), HISTORY_LIMIT);
        assert_eq!(history[0].agent, "n0");
    }

    #[test]
    fn corrupt_history_is_an_error_naming_the_file() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(history_path(directory.path()), "[{").unwrap();
        let message = format!("{:#}", read_history(directory.path()).unwrap_err());
        assert!(message.contains("pruned-history.json:1:"), "{message}");
    }
}
