//! The host's own commands: `plugins …`, `config show|path|get|set|unset`,
//! `completions`. One module per command, each with a `command()` declaring it and a
//! `run` that does the work.

pub mod completions;
pub mod config;
pub mod plugins;

/// Prints `error: …` and returns exit code 1.
pub fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("error: {message}");
    1
}
