//! `mosaic gateway logs [-f] [-n N]`: the daemon's log file (every service manager
//! writes the daemon's output there; the daemon rotates it to `gateway.log.1`…).
//!
//! `-n N` reads backwards from the end in blocks, so its cost grows with what it
//! shows, not with N times the file; when the current file has fewer than N lines
//! the rest comes from the rotated files, oldest first.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, ValueType};
use serde::Deserialize;

use super::needs_an_install;
use crate::layout::Layout;
use crate::service::log_rotation::KEPT_FILES;

/// How much is read at a time from the end of the file.
const TAIL_BLOCK: usize = 64 * 1024;

/// Lines shown without `-n`.
pub const DEFAULT_LINES: u64 = 50;

/// `mosaic gateway logs`.
pub struct Logs;

/// What the command was asked.
#[derive(Debug, Clone, Deserialize)]
pub struct LogsOptions {
    /// `-f`: keep printing new lines.
    pub follow: bool,
    /// `-n`: how many of the last lines to show.
    pub lines: u64,
}

impl Command for Logs {
    type Options = LogsOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("logs", "Show the gateway's log")
            .arg(ArgSpec::flag("follow", "Keep printing new lines until Ctrl-C").short('f'))
            .arg(
                ArgSpec::option("lines", "How many of the last lines to show")
                    .short('n')
                    .value_name("N")
                    .value_type(ValueType::Unsigned)
                    .default_value(&DEFAULT_LINES.to_string()),
            )
            .with_example(needs_an_install(
                "gateway logs -n 100",
                "The last 100 lines",
            ))
            .with_example(needs_an_install("gateway logs -f", "Follow the log"))
    }

    fn run(context: &Context<'_>, options: LogsOptions) -> Result<i32> {
        logs(context, &options)
    }
}

/// The last `count` lines of a file (without their newlines).
pub fn last_lines(path: &Path, count: usize) -> Result<Vec<String>> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let tail = read_tail(&mut file, count, TAIL_BLOCK)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(tail_lines(&tail, count))
}

/// The last `count` lines across `files` (the newest file first, e.g. `gateway.log`,
/// `gateway.log.1`, …), in the order they were written. Missing files are skipped.
pub fn last_lines_across(files: &[PathBuf], count: usize) -> Result<Vec<String>> {
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut found = 0;
    for path in files {
        if found >= count {
            break;
        }
        if !path.exists() {
            continue;
        }
        let lines = last_lines(path, count - found)?;
        found += lines.len();
        parts.push(lines);
    }
    Ok(parts.into_iter().rev().flatten().collect())
}

/// The bytes at the end of `file` that hold its last `count` lines (maybe more),
/// read backwards in blocks of `block` bytes. Each byte is read and scanned once.
fn read_tail(file: &mut File, count: usize, block: usize) -> std::io::Result<Vec<u8>> {
    let length = file.metadata()?.len();
    let mut start = length;
    // Blocks from the end backwards; newlines counted in each new block only.
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut newlines = 0usize;
    while start > 0 && newlines <= count {
        let size = start.min(block as u64);
        start -= size;
        file.seek(SeekFrom::Start(start))?;
        let mut piece = vec![0; size as usize];
        file.read_exact(&mut piece)?;
        newlines += piece.iter().filter(|byte| **byte == b'\n').count();
        blocks.push(piece);
    }
    let mut bytes = Vec::with_capacity(blocks.iter().map(Vec::len).sum());
    for piece in blocks.iter().rev() {
        bytes.extend_from_slice(piece);
    }
    Ok(bytes)
}

/// The last `count` lines of `bytes`.
fn tail_lines(bytes: &[u8], count: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(count);
    lines[skip..].iter().map(|line| line.to_string()).collect()
}

/// Prints the last lines of the log and, with `-f`, what is appended to it.
pub fn logs(context: &Context<'_>, options: &LogsOptions) -> Result<i32> {
    let count = usize::try_from(options.lines).unwrap_or(usize::MAX);
    let layout = Layout::from_context(context, None);
    let log_file = layout.log_file();
    if !log_file.exists() {
        return Err(anyhow!(
            "no gateway log yet at {}: the gateway has not been started (`mosaic gateway install`)",
            log_file.display()
        ));
    }
    let files: Vec<PathBuf> = std::iter::once(log_file.clone())
        .chain((1..=KEPT_FILES).map(|number| layout.rotated_log_file(number)))
        .collect();
    for line in last_lines_across(&files, count)? {
        writeln!(context.out(), "{line}")?;
    }
    if options.follow {
        follow(context, &log_file)?;
    }
    Ok(0)
}

/// Prints what is appended to the file, forever (Ctrl-C ends it). A file that was
/// rotated or replaced (another inode) or truncated is read again from its start.
fn follow(context: &Context<'_>, path: &Path) -> Result<()> {
    let metadata = std::fs::metadata(path)?;
    let mut position = metadata.len();
    let mut inode = metadata.ino();
    loop {
        context.flush();
        std::thread::sleep(Duration::from_millis(250));
        let Ok(mut file) = File::open(path) else {
            continue;
        };
        let metadata = file.metadata()?;
        if metadata.ino() != inode || metadata.len() < position {
            inode = metadata.ino();
            position = 0;
        }
        if metadata.len() == position {
            continue;
        }
        file.seek(SeekFrom::Start(position))?;
        let mut fresh = Vec::new();
        file.read_to_end(&mut fresh)?;
        position += fresh.len() as u64;
        context.out().write_all(&fresh)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_reads_the_tail_across_chunks() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("gateway.log");
        let text: String = (0..20_000).map(|index| format!("line {index}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let lines = last_lines(&path, 3).unwrap();
        assert_eq!(lines, ["line 19997", "line 19998", "line 19999"]);
        assert_eq!(last_lines(&path, 20_000).unwrap().len(), 20_000);
        assert_eq!(last_lines(&path, 0).unwrap().len(), 0);
    }

    #[test]
    fn a_big_n_on_a_big_file_reads_each_block_once() {
        // 1.5 million lines (~35 MB) in 4 KiB blocks: ~8,500 blocks. Counting the
        // newlines of everything read so far at every block, as this used to,
        // would scan ~150 GB; reading each block once takes a moment.
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("gateway.log");
        let mut text = String::new();
        for index in 0..1_500_000 {
            text.push_str(&format!("log line number {index}\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let mut file = File::open(&path).unwrap();
        let tail = read_tail(&mut file, 1_400_000, 4096).unwrap();
        let lines = tail_lines(&tail, 1_400_000);
        assert_eq!(lines.len(), 1_400_000);
        assert_eq!(lines[0], "log line number 100000");
        assert_eq!(lines.last().unwrap(), "log line number 1499999");
        let everything = last_lines(&path, usize::MAX).unwrap();
        assert_eq!(everything.len(), 1_500_000);
    }

    #[test]
    fn lines_continue_into_the_rotated_files() {
        let directory = tempfile::tempdir().unwrap();
        let current = directory.path().join("gateway.log");
        let older = directory.path().join("gateway.log.1");
        let oldest = directory.path().join("gateway.log.2");
        std::fs::write(&oldest, "a\nb\n").unwrap();
        std::fs::write(&older, "c\nd\n").unwrap();
        std::fs::write(&current, "e\nf\n").unwrap();
        let files = [
            current,
            older,
            oldest,
            directory.path().join("gateway.log.3"),
        ];
        assert_eq!(last_lines_across(&files, 3).unwrap(), ["d", "e", "f"]);
        assert_eq!(
            last_lines_across(&files, 100).unwrap(),
            ["a", "b", "c", "d", "e", "f"]
        );
        assert_eq!(last_lines_across(&files, 2).unwrap(), ["e", "f"]);
    }
}
