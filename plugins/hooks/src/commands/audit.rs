//! `mosaic config hooks audit [--agent NAME] [-n N] [--json]`: the last entries of
//! the hooks' audit log (what each agent ran, what the Bash guard allowed or
//! denied), newest last.
//!
//! The log is read from its end, a block at a time, and the rotated file
//! (`audit.jsonl.1`) only when the current one holds fewer matching entries than
//! asked for, so a full 10 MB log costs no more than the entries shown. The
//! gateway's dashboard runs this command for an agent's page.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::sdk::output::{format_age, Table};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example, ValueType};
use serde::{Deserialize, Serialize};

use crate::audit::{audit_log_path, AuditEntry};

/// The largest `-n` accepted.
pub const MAX_ENTRIES: u64 = 10_000;
/// How much of a command or path the SUMMARY column shows.
const SUMMARY_WIDTH: usize = 60;
/// How much of the log is read per step, from its end.
const BLOCK_BYTES: u64 = 64 * 1024;

/// `mosaic config hooks audit`.
pub struct Audit;

impl Command for Audit {
    type Options = AuditOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("audit", "Show the last entries of the hooks' audit log")
            .long_about(
                "Show the last N entries of the audit log that Mosaic's hooks write \
                 (<config dir>/hooks/audit.jsonl, and audit.jsonl.1 after a rotation): when, \
                 which agent, which hook and Claude Code event, the tool, the Bash guard's \
                 decision and the command or file (credentials already masked), newest \
                 last. --agent keeps one agent's entries (its MOSAIC_AGENT name, or Claude \
                 Code's session id for sessions not started by `mosaic fleet`). With \
                 --json, one document `{\"entries\": [...]}` with every field, newest last.",
            )
            .arg(ArgSpec::option("agent", "Only this agent's entries").value_name("NAME"))
            .arg(
                ArgSpec::option("lines", "How many entries to show (1 to 10000)")
                    .short('n')
                    .value_name("N")
                    .value_type(ValueType::Unsigned)
                    .default_value("20"),
            )
            .with_example(Example::new(
                "config hooks audit",
                "The last 20 hook runs of every agent",
            ))
            .with_example(
                Example::new(
                    "config hooks audit --agent api -n 100 --json",
                    "Agent `api`'s last 100 entries as JSON",
                )
                .expect_stdout_contains("\"entries\""),
            )
    }

    fn run(context: &Context<'_>, options: AuditOptions) -> Result<i32> {
        let path = audit_log_path(&context.config_dir());
        let report = read_last_entries(&path, options.agent.as_deref(), options.lines)?;
        if report.skipped_lines > 0 && context.verbosity() >= 0 {
            writeln!(
                context.err(),
                "warning: {} line(s) of {} are not audit entries and were skipped",
                report.skipped_lines,
                path.display()
            )?;
        }
        if context.json() {
            context.print_json(&AuditListing {
                entries: &report.entries,
            })?;
        } else if report.entries.is_empty() {
            writeln!(
                context.err(),
                "no audit entries{} in {} (the hooks write them; install them with \
                 `mosaic config hooks install`)",
                options
                    .agent
                    .as_deref()
                    .map(|agent| format!(" for agent `{agent}`"))
                    .unwrap_or_default(),
                path.display()
            )?;
        } else {
            write!(context.out(), "{}", render_table(&report.entries, now_ms()))?;
        }
        Ok(0)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Deserialize)]
pub struct AuditOptions {
    /// `--agent`: only this agent's entries.
    pub agent: Option<String>,
    /// `-n`: how many entries.
    pub lines: u64,
}

/// The `--json` document.
#[derive(Serialize)]
struct AuditListing<'a> {
    entries: &'a [AuditEntry],
}

/// The entries found, newest last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LastEntries {
    /// At most the number asked for, oldest first.
    pub entries: Vec<AuditEntry>,
    /// Lines read on the way that were not JSON audit entries.
    pub skipped_lines: usize,
}

/// The last `count` entries of the log at `path` (then of its rotated file) whose
/// agent is `agent` (any agent with `None`), oldest first. A missing log has no
/// entries.
pub fn read_last_entries(path: &Path, agent: Option<&str>, count: u64) -> Result<LastEntries> {
    if !(1..=MAX_ENTRIES).contains(&count) {
        bail!("-n {count}: expected a whole number from 1 to {MAX_ENTRIES}");
    }
    let wanted = usize::try_from(count)?;
    let mut found = LastEntries::default();
    for file in [path.to_path_buf(), rotated_path(path)] {
        if found.entries.len() >= wanted {
            break;
        }
        read_backwards(&file, |line| {
            match serde_json::from_slice::<AuditEntry>(line) {
                Ok(entry) if agent.is_none_or(|agent| entry.agent.as_deref() == Some(agent)) => {
                    found.entries.push(entry)
                }
                Ok(_) => {}
                Err(_) => found.skipped_lines += 1,
            }
            found.entries.len() < wanted
        })?;
    }
    found.entries.reverse();
    Ok(found)
}

fn rotated_path(path: &Path) -> PathBuf {
    let mut rotated = path.as_os_str().to_owned();
    rotated.push(".1");
    PathBuf::from(rotated)
}

/// Calls `visit` with each non-empty line of `path`, last line first, while it
/// returns true. A missing file has no lines.
fn read_backwards(path: &Path, mut visit: impl FnMut(&[u8]) -> bool) -> Result<()> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error).with_context(|| format!("cannot open {}", path.display())),
    };
    let mut position = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    // Bytes after the last newline seen so far: the end of a line whose start is
    // in an earlier block.
    let mut tail: Vec<u8> = Vec::new();
    while position > 0 {
        let start = position.saturating_sub(BLOCK_BYTES);
        let mut block = vec![0; usize::try_from(position - start)?];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut block))
            .with_context(|| format!("cannot read {}", path.display()))?;
        block.extend_from_slice(&tail);
        position = start;
        // Everything before the first newline may continue in the previous block.
        let first_newline = match block.iter().position(|byte| *byte == b'\n') {
            Some(index) if position > 0 => index,
            _ if position > 0 => {
                tail = block;
                continue;
            }
            _ => 0,
        };
        let complete = if position > 0 {
            &block[first_newline + 1..]
        } else {
            &block[..]
        };
        for line in complete.rsplit(|byte| *byte == b'\n') {
            if !line.iter().all(u8::is_ascii_whitespace) && !visit(line) {
                return Ok(());
            }
        }
        tail = if position > 0 {
            block[..first_newline].to_vec()
        } else {
            Vec::new()
        };
    }
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// The command, else the file, shortened to `width` characters.
fn summary(entry: &AuditEntry, width: usize) -> String {
    let text = entry
        .command
        .as_deref()
        .or(entry.file_path.as_deref())
        .unwrap_or("-");
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= width {
        one_line
    } else {
        let mut shortened: String = one_line.chars().take(width.saturating_sub(1)).collect();
        shortened.push('…');
        shortened
    }
}

fn render_table(entries: &[AuditEntry], now_ms: u64) -> String {
    let mut table = Table::new(&[
        "when", "agent", "hook", "event", "tool", "decision", "summary",
    ]);
    let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_string());
    for entry in entries {
        table.add_row([
            format_age(Duration::from_millis(
                now_ms.saturating_sub(entry.timestamp_ms),
            )),
            dash(&entry.agent),
            entry.hook.clone(),
            entry.event.clone(),
            dash(&entry.tool),
            dash(&entry.decision),
            summary(entry, SUMMARY_WIDTH),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::append;

    fn entry(agent: &str, at: u64) -> AuditEntry {
        AuditEntry {
            timestamp_ms: at,
            hook: "bash-guard".into(),
            event: "PreToolUse".into(),
            agent: Some(agent.into()),
            tool: Some("Bash".into()),
            command: Some(format!("echo {at}")),
            decision: Some("allow".into()),
            ..AuditEntry::default()
        }
    }

    #[test]
    fn the_last_entries_of_one_agent_come_newest_last() {
        let dir = tempfile::tempdir().unwrap();
        for at in 0..500 {
            append(dir.path(), &entry(if at % 2 == 0 { "a" } else { "b" }, at)).unwrap();
        }
        let path = audit_log_path(dir.path());
        let last = read_last_entries(&path, Some("a"), 3).unwrap();
        let times: Vec<u64> = last
            .entries
            .iter()
            .map(|entry| entry.timestamp_ms)
            .collect();
        assert_eq!(times, [494, 496, 498]);
        let all = read_last_entries(&path, None, 10_000).unwrap();
        assert_eq!(all.entries.len(), 500);
        assert_eq!(all.entries[0].timestamp_ms, 0);
        assert_eq!(all.skipped_lines, 0);
        assert!(read_last_entries(&path, None, 0).is_err());
    }

    #[test]
    fn long_lines_across_blocks_and_the_rotated_file_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = audit_log_path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut old = entry("a", 1);
        old.command = Some("x".repeat(150_000));
        let line = |entry: &AuditEntry| format!("{}\n", serde_json::to_string(entry).unwrap());
        std::fs::write(
            rotated_path(&path),
            format!("{}not json\n{}", line(&old), line(&entry("a", 2))),
        )
        .unwrap();
        std::fs::write(&path, line(&entry("a", 3))).unwrap();
        let last = read_last_entries(&path, Some("a"), 10).unwrap();
        let times: Vec<u64> = last
            .entries
            .iter()
            .map(|entry| entry.timestamp_ms)
            .collect();
        assert_eq!(times, [1, 2, 3]);
        assert_eq!(last.entries[0].command.as_ref().unwrap().len(), 150_000);
        assert_eq!(last.skipped_lines, 1);
    }

    #[test]
    fn a_missing_log_has_no_entries() {
        let dir = tempfile::tempdir().unwrap();
        let last = read_last_entries(&dir.path().join("none.jsonl"), None, 5).unwrap();
        assert!(last.entries.is_empty());
    }

    #[test]
    fn the_table_shortens_commands() {
        let mut long = entry("a", 1_000);
        long.command = Some("y".repeat(100));
        let text = render_table(&[long], 6_000);
        assert!(text.contains("5s ago"), "{text}");
        assert!(
            text.contains(&format!("{}…", "y".repeat(SUMMARY_WIDTH - 1))),
            "{text}"
        );
    }
}
