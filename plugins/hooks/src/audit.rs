//! The audit log: one JSON line per hook run, in `<config dir>/hooks/audit.jsonl`
//! (mode 0600, directory 0700; it can hold commands and paths).
//!
//! Command lines, reasons and problems are written with their credentials masked
//! ([`mosaic_plugin_api::sdk::redact`]): the log keeps what an agent ran, not the
//! passwords and tokens it ran it with.
//!
//! Lines are appended with one `write` on a file opened with `O_APPEND`, so lines
//! of concurrent hooks do not interleave. When the log passes
//! [`MAX_LOG_BYTES`], it is renamed to `audit.jsonl.1` (replacing the previous
//! one), under a lock so only one process rotates.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use mosaic_plugin_api::anyhow::{Context as _, Result};
use mosaic_plugin_api::sdk::fs::{create_dir_all_with_mode, FileLock};
use mosaic_plugin_api::sdk::redact::redact_secrets;
use serde::{Deserialize, Serialize};

/// Size at which the log is rotated.
pub const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;

/// `<config_dir>/hooks/audit.jsonl`.
pub fn audit_log_path(config_dir: &Path) -> PathBuf {
    config_dir.join("hooks").join("audit.jsonl")
}

/// One line of the audit log (read back by `mosaic config hooks audit`; a field
/// missing from an older line reads as empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditEntry {
    /// When the hook ran (Unix milliseconds).
    pub timestamp_ms: u64,
    /// The Mosaic hook (`bash-guard`, `activity`).
    pub hook: String,
    /// The Claude Code event.
    pub event: String,
    /// The activity key (`MOSAIC_AGENT` or the session id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Claude Code's session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The session's working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The tool of a tool event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The Bash command of a Bash tool event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The file of a file tool event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// The guard's decision: `allow` or `deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The rule that denied the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The reason given to Claude.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Problems Mosaic had while handling the event (the tool call went on).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl AuditEntry {
    /// The entry with credentials masked in its free text: the command, the file
    /// path, the reason and the problems.
    pub fn redacted(&self) -> AuditEntry {
        let mask = |text: &Option<String>| text.as_deref().map(redact_secrets);
        AuditEntry {
            command: mask(&self.command),
            file_path: mask(&self.file_path),
            reason: mask(&self.reason),
            problems: self
                .problems
                .iter()
                .map(|problem| redact_secrets(problem))
                .collect(),
            ..self.clone()
        }
    }
}

/// Appends `entry`, credentials masked ([`AuditEntry::redacted`]), to the audit log
/// under `config_dir`.
pub fn append(config_dir: &Path, entry: &AuditEntry) -> Result<()> {
    let path = audit_log_path(config_dir);
    if let Some(directory) = path.parent() {
        create_dir_all_with_mode(directory, 0o700)?;
    }
    let mut line = serde_json::to_vec(&entry.redacted()).context("encoding an audit line")?;
    line.push(b'\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.write_all(&line)
        .with_context(|| format!("cannot append to {}", path.display()))?;
    let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    if size > MAX_LOG_BYTES {
        rotate(&path)?;
    }
    Ok(())
}

fn rotate(path: &Path) -> Result<()> {
    let _lock = FileLock::exclusive(path)?;
    // Another process may have rotated while this one waited for the lock.
    let size = std::fs::metadata(path)
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    if size > MAX_LOG_BYTES {
        let mut rotated = path.as_os_str().to_owned();
        rotated.push(".1");
        std::fs::rename(path, &rotated)
            .with_context(|| format!("cannot rotate {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn appends_one_private_json_line_per_entry() {
        let dir = tempfile::tempdir().unwrap();
        for hook in ["a", "b"] {
            let entry = AuditEntry {
                timestamp_ms: 1,
                hook: hook.into(),
                event: "Stop".into(),
                ..AuditEntry::default()
            };
            append(dir.path(), &entry).unwrap();
        }
        let path = audit_log_path(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["hook"], "b");
        assert!(
            lines[0].get("decision").is_none(),
            "absent fields are left out"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn credentials_are_masked_before_the_line_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let entry = AuditEntry {
            hook: "bash-guard".into(),
            command: Some(
                "GITHUB_TOKEN=ghp_1 curl -u ada:hunter2 -H 'Authorization: Bearer t0k' \
                 https://bot:pw@example.com --password=p4ss"
                    .into(),
            ),
            problems: vec!["cannot reach postgres://app:dbpw@db/x".into()],
            ..AuditEntry::default()
        };
        append(dir.path(), &entry).unwrap();
        let text = std::fs::read_to_string(audit_log_path(dir.path())).unwrap();
        for secret in ["ghp_1", "hunter2", "t0k", ":pw@", "p4ss", "dbpw"] {
            assert!(!text.contains(secret), "{secret} kept in {text}");
        }
        let line: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            line["command"],
            "GITHUB_TOKEN=*** curl -u ada:*** -H 'Authorization: Bearer ***' \
             https://bot:***@example.com --password=***"
        );
        assert_eq!(line["problems"][0], "cannot reach postgres://app:***@db/x");
    }

    #[test]
    fn a_full_log_is_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let path = audit_log_path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![b'x'; MAX_LOG_BYTES as usize]).unwrap();
        append(dir.path(), &AuditEntry::default()).unwrap();
        assert!(!path.exists());
        assert!(dir.path().join("hooks/audit.jsonl.1").exists());
        append(dir.path(), &AuditEntry::default()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    }
}
