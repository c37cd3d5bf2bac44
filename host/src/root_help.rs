//! `mosaic --help` and `mosaic -h` from a cache of their rendered text.
//!
//! The top-level help lists one line per command of every installed plugin; with a
//! hundred plugins, building those clap commands and wrapping their lines is most
//! of what `mosaic --help` costs. The rendered text (with its styling, so colour is
//! still decided when it is printed) is kept in the cache dir under a key made of
//! everything it is rendered from: this binary, which help was asked for, the width
//! clap wraps to, and every mounted command's summary. Anything that changes the
//! text changes the key, so a stale file is never shown; a miss renders with clap as
//! before and stores the result. Only the last rendering is kept.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode};
use mosaic_plugin_api::{CommandSpec, API_VERSION};

use crate::discovery::FileStamp;
use crate::loader::HOST_VERSION;
use crate::registry::Registry;
use crate::tree;

/// The directory inside the cache dir holding the rendered help.
const DIR_NAME: &str = "root-help";

/// Which top-level help was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HelpKind {
    /// `-h`: one line per item.
    Short,
    /// `--help`: with the long descriptions.
    Long,
}

/// The help `args` (the words after `mosaic`) ask for, when that is all they ask.
pub fn requested(args: &[String]) -> Option<HelpKind> {
    match args {
        [flag] if flag == "--help" => Some(HelpKind::Long),
        [flag] if flag == "-h" => Some(HelpKind::Short),
        _ => None,
    }
}

/// Prints the top-level help, from the cache when it holds this exact rendering.
pub fn print(cache_dir: &Path, registry: &Registry, builtins: &[CommandSpec], kind: HelpKind) {
    let directory = cache_dir.join(DIR_NAME);
    let file = directory.join(format!("{:016x}.txt", key(registry, kind)));
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(_) => {
            let text = render(registry, builtins, kind);
            if let Err(error) = store(&directory, &file, &text) {
                tracing::debug!(
                    "cannot keep the rendered help in {}: {error:#}",
                    file.display()
                );
            }
            text
        }
    };
    // The same stream clap prints help through: styling is dropped where colour is
    // not wanted (not a terminal, NO_COLOR, …).
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn render(registry: &Registry, builtins: &[CommandSpec], kind: HelpKind) -> String {
    let mut command = tree::build(registry, builtins, tree::Detail::Target(None));
    let styled = match kind {
        HelpKind::Short => command.render_help(),
        HelpKind::Long => command.render_long_help(),
    };
    format!("{}", styled.ansi())
}

fn store(directory: &Path, file: &PathBuf, text: &str) -> anyhow::Result<()> {
    create_dir_all_with_mode(directory, 0o700)?;
    atomic_write(file, text.as_bytes(), Some(0o600))?;
    // One rendering at a time: a new width or a new plugin replaces the old one.
    for entry in std::fs::read_dir(directory)?.filter_map(Result::ok) {
        if entry.path() != *file {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Everything the rendered text depends on.
fn key(registry: &Registry, kind: HelpKind) -> u64 {
    let mut hasher = DefaultHasher::new();
    (HOST_VERSION, API_VERSION, kind).hash(&mut hasher);
    // A rebuilt binary may render differently with the same version number.
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .ok()
        .map(|metadata| FileStamp::of(&metadata))
        .hash(&mut hasher);
    // What clap wraps to: the terminal's width, else COLUMNS, else its default.
    terminal_size::terminal_size()
        .map(|(width, _)| width.0)
        .hash(&mut hasher);
    std::env::var_os("COLUMNS").hash(&mut hasher);
    for (record, summary) in registry.mounted() {
        record.name.hash(&mut hasher);
        summary.name.hash(&mut hasher);
        summary.about.hash(&mut hasher);
        summary.aliases.hash(&mut hasher);
        summary.hidden.hash(&mut hasher);
        summary.mount.hash(&mut hasher);
    }
    hasher.finish()
}
