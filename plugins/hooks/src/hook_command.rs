//! The command line Claude Code runs for a Mosaic hook, and how Mosaic recognises
//! its own entries among everything else in `settings.json`.
//!
//! A Mosaic hook command is
//!
//! ```text
//! /abs/path/to/mosaic config hooks run <hook> || exit 1
//! ```
//!
//! - **Absolute path**: Claude Code runs hooks with its own `PATH`, which may not
//!   contain `mosaic`. The path is the running host binary; when that binary is
//!   reached through a symlink on `PATH` (a package manager's versioned directory
//!   behind `/usr/local/bin/mosaic`), the symlink is used so an upgrade does not
//!   leave the hooks pointing at a removed version. An upgrade in place
//!   (`scripts/install.sh` renames the new binary over the old) keeps the path. A
//!   *moved* binary is reported as drift by `mosaic config hooks list`, and
//!   `mosaic config hooks install` rewrites the entries in place.
//! - **`|| exit 1`**: Claude Code treats exit code 2 as "block the tool call".
//!   Mosaic blocks only through its JSON answer; any failure of `mosaic` itself (a
//!   usage error after a version change, a removed plugin, a moved binary) becomes
//!   a non-blocking hook error instead of stopping every tool call.
//!
//! Recognition is by shape, not by exact text, so entries written by an older or
//! moved `mosaic` are still known to be Mosaic's (and are updated or removed, never
//! duplicated).

use std::path::{Path, PathBuf};

/// The words between the binary and the hook name.
const RUN_WORDS: [&str; 3] = ["config", "hooks", "run"];

/// What makes a non-zero exit of `mosaic` a non-blocking hook error.
const FAILURE_SUFFIX: &str = "|| exit 1";

/// The command Claude Code runs for `hook`, with `binary` as the `mosaic` to call.
pub fn hook_command(binary: &Path, hook: &str) -> String {
    format!(
        "{} {} {hook} {FAILURE_SUFFIX}",
        shell_quote(&binary.to_string_lossy()),
        RUN_WORDS.join(" ")
    )
}

/// A recognised Mosaic hook command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MosaicCommand {
    /// The `mosaic` binary it calls.
    pub binary: PathBuf,
    /// The hook it runs.
    pub hook: String,
}

/// Recognises a command written by [`hook_command`] (by any `mosaic`, anywhere, by
/// any file name: `<binary> config hooks run <hook>` is specific enough).
pub fn parse_hook_command(command: &str) -> Option<MosaicCommand> {
    let command = command.trim();
    let command = command
        .strip_suffix(FAILURE_SUFFIX)
        .map(str::trim_end)
        .unwrap_or(command);
    let (binary, rest) = split_first_word(command)?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [config, hooks, run, hook] = words.as_slice() else {
        return None;
    };
    if [*config, *hooks, *run] != RUN_WORDS || !is_hook_name(hook) {
        return None;
    }
    Some(MosaicCommand {
        binary: PathBuf::from(binary),
        hook: hook.to_string(),
    })
}

/// Hook names are lowercase words joined by `-`.
fn is_hook_name(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Splits off the first shell word (plain, or single-quoted as [`shell_quote`]
/// writes it); returns the unquoted word and the rest.
fn split_first_word(command: &str) -> Option<(String, &str)> {
    if !command.starts_with('\'') {
        let end = command.find(char::is_whitespace)?;
        return Some((command[..end].to_string(), &command[end..]));
    }
    let mut word = String::new();
    let mut rest = &command[1..];
    loop {
        let close = rest.find('\'')?;
        word.push_str(&rest[..close]);
        rest = &rest[close + 1..];
        // `'\''` is how a quote inside a single-quoted word is written.
        match rest.strip_prefix("\\''") {
            Some(after) => {
                word.push('\'');
                rest = after;
            }
            None => break,
        }
    }
    rest.starts_with(char::is_whitespace)
        .then_some((word, rest))
}

/// Quotes `text` for `sh` when it holds anything but plain path characters.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ','));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The `mosaic` binary hook commands should call: the running host binary, or the
/// entry of `PATH` that is a link to it (stable across upgrades that swap a
/// versioned directory behind the link).
pub fn mosaic_binary(env: impl Fn(&str) -> Option<String>) -> std::io::Result<PathBuf> {
    let running = std::env::current_exe()?;
    // Linux appends " (deleted)" when the file was replaced since it started.
    let running = match running
        .to_str()
        .and_then(|text| text.strip_suffix(" (deleted)"))
    {
        Some(stripped) => PathBuf::from(stripped),
        None => running,
    };
    let canonical = std::fs::canonicalize(&running).unwrap_or_else(|_| running.clone());
    let Some(name) = running.file_name() else {
        return Ok(running);
    };
    let on_path = env("PATH").and_then(|path| {
        path.split(':')
            .map(Path::new)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(name))
            .find(|candidate| {
                std::fs::canonicalize(candidate).is_ok_and(|resolved| resolved == canonical)
            })
    });
    Ok(on_path.unwrap_or(running))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_plain_and_quoted_paths() {
        for binary in ["/usr/local/bin/mosaic", "/home/a b/it's/mosaic"] {
            let command = hook_command(Path::new(binary), "bash-guard");
            let parsed = parse_hook_command(&command).unwrap();
            assert_eq!(parsed.binary, PathBuf::from(binary), "{command}");
            assert_eq!(parsed.hook, "bash-guard");
        }
        assert_eq!(
            hook_command(Path::new("/opt/mosaic"), "activity"),
            "/opt/mosaic config hooks run activity || exit 1"
        );
    }

    #[test]
    fn recognises_commands_without_the_suffix_but_not_foreign_ones() {
        assert!(parse_hook_command("/x/mosaic config hooks run activity").is_some());
        assert!(parse_hook_command("/x/mosaic-dev config hooks run activity").is_some());
        for foreign in [
            "/x/mosaic config hooks run Activity",
            "/x/mosaic config hooks list",
            "/x/mosaic config hooks run activity; rm -rf /",
            "echo hi",
            "",
            "'/x/mosaic config hooks run a",
        ] {
            assert!(parse_hook_command(foreign).is_none(), "{foreign}");
        }
    }

    #[test]
    fn quoting_is_only_used_when_needed() {
        assert_eq!(shell_quote("/a/b-c_d.e"), "/a/b-c_d.e");
        assert_eq!(shell_quote("/a b"), "'/a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
