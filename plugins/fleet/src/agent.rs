//! An agent's identity and files: the name rules, its tmux session name, and the
//! files it owns in the fleet run directory.
//!
//! ```text
//! <run>/<AGENT>.meta.json      metadata, written by `fleet launch` (and `fleet stop`)
//! <run>/<AGENT>.hb             heartbeat, rewritten by the sidecar every interval
//! <run>/<AGENT>.activity.json  last hook activity, written by the hooks plugin
//! ```
//!
//! Every write is atomic (temporary file + rename), so a reader sees the old or the
//! new content, never a torn file. Reading a file that is not valid JSON is an error
//! naming the file, line and column; what to do about it is up to the caller.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::activity::activity_path;
use mosaic_plugin_api::sdk::fs::{atomic_write, parse_json_text, FileLock};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The longest agent name.
pub const MAX_AGENT_NAME_LENGTH: usize = 64;

const METADATA_SUFFIX: &str = ".meta.json";
const HEARTBEAT_SUFFIX: &str = ".hb";
/// The hooks plugin's record, see `mosaic_plugin_api::sdk::activity::activity_path`.
const ACTIVITY_SUFFIX: &str = ".activity.json";

/// Checks an agent name against `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`: it becomes part
/// of file names and of a tmux session name, so nothing else is allowed.
pub fn validate_agent_name(name: &str) -> Result<()> {
    let mut characters = name.chars();
    let valid = match characters.next() {
        Some(first) => {
            first.is_ascii_alphanumeric()
                && name.len() <= MAX_AGENT_NAME_LENGTH
                && characters.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        }
        None => false,
    };
    if !valid {
        bail!(
            "invalid agent name `{name}`: use 1 to {MAX_AGENT_NAME_LENGTH} letters, digits, \
             `.`, `_` or `-`, starting with a letter or digit (e.g. `reviewer-1`)"
        );
    }
    Ok(())
}

/// The tmux session of an agent: `mosaic-<AGENT>`, with `.` as `_` because tmux
/// does not allow dots in session names (it would rename the session itself).
pub fn session_name(agent: &str) -> String {
    format!("mosaic-{}", agent.replace('.', "_"))
}

/// Where an agent's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentFiles {
    /// `<run>/<AGENT>.meta.json`.
    pub metadata: PathBuf,
    /// `<run>/<AGENT>.hb`.
    pub heartbeat: PathBuf,
    /// `<run>/<AGENT>.activity.json` (the hooks plugin's record).
    pub activity: PathBuf,
    run_dir: PathBuf,
    agent: String,
}

impl AgentFiles {
    /// The files of `agent` in `run_dir`.
    pub fn new(run_dir: &Path, agent: &str) -> AgentFiles {
        AgentFiles {
            metadata: run_dir.join(format!("{agent}{METADATA_SUFFIX}")),
            heartbeat: run_dir.join(format!("{agent}{HEARTBEAT_SUFFIX}")),
            activity: activity_path(run_dir, agent),
            run_dir: run_dir.to_path_buf(),
            agent: agent.to_string(),
        }
    }

    /// Removes every file of the agent that exists (and the sidecar's temporary
    /// heartbeat files, should one have been killed mid-write, and the lock file the
    /// hooks plugin updates the activity record under); returns the removed paths.
    pub fn remove_all(&self) -> Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        let mut paths = vec![
            self.metadata.clone(),
            self.heartbeat.clone(),
            self.activity.clone(),
            FileLock::lock_path(&self.activity),
        ];
        let temporary_prefix = format!(".{}{HEARTBEAT_SUFFIX}.tmp.", self.agent);
        if let Ok(entries) = std::fs::read_dir(&self.run_dir) {
            paths.extend(
                entries
                    .flatten()
                    .filter(|entry| {
                        entry
                            .file_name()
                            .to_str()
                            .is_some_and(|name| name.starts_with(&temporary_prefix))
                    })
                    .map(|entry| entry.path()),
            );
        }
        for path in paths {
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot remove {}", path.display()))
                }
            }
        }
        Ok(removed)
    }
}

/// What `fleet launch` records about an agent, next to its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentMetadata {
    /// The agent name.
    pub agent: String,
    /// The runtime label (`claude`, `codex`, … or the program of `-- COMMAND`).
    pub runtime: String,
    /// The command run in the pane.
    pub command: Vec<String>,
    /// The pane's working directory.
    pub cwd: PathBuf,
    /// The tmux session name.
    pub session: String,
    /// The tmux server (`MOSAIC_TMUX_SOCKET` at launch), so later commands talk to
    /// the same one; `None` for the default server.
    #[serde(default)]
    pub tmux_socket: Option<String>,
    /// The pid of the pane's process, when it could be resolved.
    #[serde(default)]
    pub pane_pid: Option<u32>,
    /// The pid of the heartbeat sidecar, when it started.
    #[serde(default)]
    pub sidecar_pid: Option<u32>,
    /// When the agent was launched (Unix seconds).
    pub started_at: u64,
    /// The heartbeat interval in seconds.
    pub interval: u64,
    /// When `fleet stop` stopped it (Unix seconds).
    #[serde(default)]
    pub stopped_at: Option<u64>,
    /// The name of the gateway key minted for it (never the key), when it was
    /// launched through the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_key: Option<String>,
    /// The gateway base URL its `ANTHROPIC_BASE_URL` points at, when launched
    /// through the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
    /// The git worktree (repository, directory, branch, base commit) made for it
    /// by `fleet launch --worktree`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<crate::worktree::AgentWorktree>,
    /// The question Claude Code was expected to stop at before its first prompt
    /// (first-run setup, folder trust; see [`crate::claude_setup`]), which no hook
    /// reports: the agent waits for the user until its first hook event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_question: Option<String>,
}

/// One heartbeat, as the sidecar writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The agent name.
    pub agent: String,
    /// The pane process the sidecar watches.
    pub pane_pid: u32,
    /// The sidecar's own pid.
    pub sidecar_pid: u32,
    /// The interval the sidecar beats at, in seconds.
    pub interval: u64,
    /// When this beat was written (Unix seconds).
    pub beat_at: u64,
}

/// Reads an agent's metadata; `Ok(None)` when the file does not exist.
pub fn read_metadata(path: &Path) -> Result<Option<AgentMetadata>> {
    read_json(path)
}

/// Writes an agent's metadata atomically (mode 0600).
pub fn write_metadata(path: &Path, metadata: &AgentMetadata) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(metadata).context("encoding agent metadata")?;
    text.push(b'\n');
    atomic_write(path, &text, Some(0o600))
}

/// Reads an agent's last heartbeat; `Ok(None)` when there is none yet.
pub fn read_heartbeat(path: &Path) -> Result<Option<Heartbeat>> {
    read_json(path)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match read_small_file(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", path.display())),
    };
    // The common case parses straight into `T`; only a failure pays for a second
    // pass, through the SDK, to name the file, line and column of a syntax error.
    if let Ok(parsed) = serde_json::from_str(&text) {
        return Ok(Some(parsed));
    }
    let value = parse_json_text(path, &text)?;
    let parsed = serde_json::from_value(value)
        .with_context(|| format!("{}: unexpected content", path.display()))?;
    Ok(Some(parsed))
}

/// Reads a small text file with open, read and close only: unlike
/// `std::fs::read_to_string` it does not `stat` the file first for a size hint,
/// which is a quarter of the system calls of `fleet ps`.
fn read_small_file(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => bytes.extend_from_slice(&chunk[..count]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    String::from_utf8(bytes).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

/// Which files of one agent a directory listing showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedAgent {
    /// The agent name.
    pub agent: String,
    /// `<AGENT>.meta.json` is there.
    pub metadata: bool,
    /// `<AGENT>.hb` is there.
    pub heartbeat: bool,
    /// `<AGENT>.activity.json` is there.
    pub activity: bool,
}

impl ListedAgent {
    /// An agent whose files were not listed: each is looked for.
    pub fn unlisted(agent: &str) -> ListedAgent {
        ListedAgent {
            agent: agent.to_string(),
            metadata: true,
            heartbeat: true,
            activity: true,
        }
    }
}

/// The agents with a metadata or heartbeat file in `run_dir`, sorted by name, with
/// the files each has (so readers open only files that exist: `fleet ps` over a
/// thousand agents is mostly system calls). Empty when the directory does not exist.
pub fn list_agents(run_dir: &Path) -> Result<Vec<ListedAgent>> {
    let entries = match std::fs::read_dir(run_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot list {}", run_dir.display()))
        }
    };
    let mut agents: BTreeMap<String, ListedAgent> = BTreeMap::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", run_dir.display()))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        let (agent, kind) = if let Some(agent) = file_name.strip_suffix(METADATA_SUFFIX) {
            (agent, FileKind::Metadata)
        } else if let Some(agent) = file_name.strip_suffix(HEARTBEAT_SUFFIX) {
            (agent, FileKind::Heartbeat)
        } else if let Some(agent) = file_name.strip_suffix(ACTIVITY_SUFFIX) {
            (agent, FileKind::Activity)
        } else {
            continue;
        };
        if validate_agent_name(agent).is_err() {
            continue;
        }
        let listed = agents
            .entry(agent.to_string())
            .or_insert_with(|| ListedAgent {
                agent: agent.to_string(),
                ..ListedAgent::default()
            });
        match kind {
            FileKind::Metadata => listed.metadata = true,
            FileKind::Heartbeat => listed.heartbeat = true,
            FileKind::Activity => listed.activity = true,
        }
    }
    // An activity record alone is a Claude session the fleet did not launch.
    Ok(agents
        .into_values()
        .filter(|listed| listed.metadata || listed.heartbeat)
        .collect())
}

enum FileKind {
    Metadata,
    Heartbeat,
    Activity,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names_follow_the_pattern() {
        for good in ["a", "A1", "reviewer-1", "x.y_z", "9", &"a".repeat(64)] {
            assert!(validate_agent_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-a",
            ".a",
            "_a",
            "a/b",
            "a b",
            "a:b",
            "ä",
            "a\n",
            &"a".repeat(65),
        ] {
            let message = validate_agent_name(bad).unwrap_err().to_string();
            assert!(message.contains("invalid agent name"), "{message}");
        }
    }

    #[test]
    fn session_names_avoid_dots() {
        assert_eq!(session_name("a1"), "mosaic-a1");
        assert_eq!(session_name("a.b"), "mosaic-a_b");
    }

    fn sample_metadata() -> AgentMetadata {
        AgentMetadata {
            agent: "a1".into(),
            runtime: "claude".into(),
            command: vec!["claude".into(), "--model".into(), "x y".into()],
            cwd: PathBuf::from("/work"),
            session: "mosaic-a1".into(),
            tmux_socket: Some("/tmp/sock".into()),
            pane_pid: Some(42),
            sidecar_pid: Some(43),
            started_at: 1_700_000_000,
            interval: 15,
            stopped_at: None,
            gateway_key: Some("fleet-a1-1".into()),
            gateway_url: None,
            worktree: None,
            pending_question: None,
        }
    }

    #[test]
    fn metadata_round_trips_atomically() {
        let directory = tempfile::tempdir().unwrap();
        let files = AgentFiles::new(directory.path(), "a1");
        assert_eq!(read_metadata(&files.metadata).unwrap(), None);
        let metadata = sample_metadata();
        write_metadata(&files.metadata, &metadata).unwrap();
        assert_eq!(read_metadata(&files.metadata).unwrap(), Some(metadata));
        let leftovers: Vec<_> = std::fs::read_dir(directory.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "only the metadata file: {leftovers:?}");
    }

    #[test]
    fn metadata_from_an_older_launch_without_optional_fields_reads() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("a1.meta.json");
        std::fs::write(
            &path,
            r#"{"agent":"a1","runtime":"codex","command":["codex"],"cwd":"/","session":"mosaic-a1","started_at":1,"interval":15}"#,
        )
        .unwrap();
        let metadata = read_metadata(&path).unwrap().unwrap();
        assert_eq!(metadata.pane_pid, None);
        assert_eq!(metadata.stopped_at, None);
    }

    #[test]
    fn corrupt_files_name_the_file_and_position() {
        let directory = tempfile::tempdir().unwrap();
        let files = AgentFiles::new(directory.path(), "a1");
        std::fs::write(&files.heartbeat, "{\"agent\":").unwrap();
        let message = format!("{:#}", read_heartbeat(&files.heartbeat).unwrap_err());
        assert!(message.contains("a1.hb:1:"), "{message}");
        std::fs::write(&files.metadata, "{\"agent\":\"a1\"}").unwrap();
        let message = format!("{:#}", read_metadata(&files.metadata).unwrap_err());
        assert!(
            message.contains("a1.meta.json: unexpected content"),
            "{message}"
        );
        assert!(message.contains("missing field"), "{message}");
    }

    #[test]
    fn heartbeat_reads_what_the_sidecar_writes() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("a1.hb");
        std::fs::write(
            &path,
            "{\"agent\":\"a1\",\"pane_pid\":10,\"sidecar_pid\":11,\"interval\":1,\"beat_at\":5}\n",
        )
        .unwrap();
        let heartbeat = read_heartbeat(&path).unwrap().unwrap();
        assert_eq!(heartbeat.pane_pid, 10);
        assert_eq!(heartbeat.beat_at, 5);
    }

    #[test]
    fn agents_are_listed_from_metadata_and_heartbeats() {
        let directory = tempfile::tempdir().unwrap();
        for file in [
            "b.meta.json",
            "b.hb",
            "a.hb",
            "c.activity.json",
            ".b.hb.tmp.1.0",
            "pruned-history.json",
            "x.y.meta.json",
        ] {
            std::fs::write(directory.path().join(file), "{}").unwrap();
        }
        let listed = list_agents(directory.path()).unwrap();
        let names: Vec<&str> = listed.iter().map(|listed| listed.agent.as_str()).collect();
        assert_eq!(names, ["a", "b", "x.y"], "c has only an activity record");
        assert_eq!(
            listed[1],
            ListedAgent {
                agent: "b".into(),
                metadata: true,
                heartbeat: true,
                activity: false
            }
        );
        assert!(list_agents(&directory.path().join("missing"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn removing_an_agent_leaves_the_others() {
        let directory = tempfile::tempdir().unwrap();
        for file in [
            "a.meta.json",
            "a.hb",
            "a.activity.json",
            ".a.activity.json.lock",
            ".a.hb.tmp.7",
            "ab.hb",
            ".ab.activity.json.lock",
        ] {
            std::fs::write(directory.path().join(file), "{}").unwrap();
        }
        let removed = AgentFiles::new(directory.path(), "a").remove_all().unwrap();
        assert_eq!(removed.len(), 5);
        let listed = list_agents(directory.path()).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].agent, "ab");
        assert!(directory.path().join(".ab.activity.json.lock").exists());
    }
}
