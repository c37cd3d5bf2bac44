//! `mosaic gateway logs [-f] [-n N]`: the daemon's log file (every service manager
//! writes the daemon's output there).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, ValueType};
use serde::Deserialize;

use super::needs_an_install;
use crate::layout::Layout;

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
    let length = file.metadata()?.len();
    let mut start = length;
    let mut buffer: Vec<u8> = Vec::new();
    // Read backwards in chunks until enough newlines (or the start) are seen.
    while start > 0 && buffer.iter().filter(|byte| **byte == b'\n').count() <= count {
        let chunk = start.min(64 * 1024);
        start -= chunk;
        file.seek(SeekFrom::Start(start))?;
        let mut piece = vec![0; chunk as usize];
        file.read_exact(&mut piece)?;
        piece.extend_from_slice(&buffer);
        buffer = piece;
    }
    let text = String::from_utf8_lossy(&buffer);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(count);
    Ok(lines[skip..].iter().map(|line| line.to_string()).collect())
}

/// Prints the last lines of the log and, with `-f`, what is appended to it.
pub fn logs(context: &Context<'_>, options: &LogsOptions) -> Result<i32> {
    let count = usize::try_from(options.lines).unwrap_or(usize::MAX);
    let log_file = Layout::from_context(context, None).log_file();
    if !log_file.exists() {
        return Err(anyhow!(
            "no gateway log yet at {}: the gateway has not been started (`mosaic gateway install`)",
            log_file.display()
        ));
    }
    for line in last_lines(&log_file, count)? {
        writeln!(context.out(), "{line}")?;
    }
    if options.follow {
        follow(context, &log_file)?;
    }
    Ok(0)
}

/// Prints what is appended to the file, forever (Ctrl-C ends it). A truncated or
/// replaced file is read again from its start.
fn follow(context: &Context<'_>, path: &Path) -> Result<()> {
    let mut position = std::fs::metadata(path)?.len();
    loop {
        context.flush();
        std::thread::sleep(Duration::from_millis(250));
        let Ok(mut file) = File::open(path) else {
            continue;
        };
        let length = file.metadata()?.len();
        if length < position {
            position = 0;
        }
        if length == position {
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
}
