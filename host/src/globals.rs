//! The global flags (`-v`, `-q`, `--json`, `--no-color`, `--plugin-dir`), read from
//! argv before the command tree exists.
//!
//! Discovery needs `--plugin-dir` and logging needs the verbosity before clap can
//! parse anything (the tree is built from the plugins found), so argv is scanned
//! first. Both readings come from one list, `mosaic_plugin_api::spec::GLOBAL_FLAGS`:
//! the scan here and the clap arguments of the tree (`cli::global_args`), so they
//! agree on every flag's names and on which flags take a value.

use std::collections::HashMap;
use std::path::PathBuf;

use mosaic_plugin_api::spec::{GlobalFlag, GlobalFlagKind, GLOBAL_FLAGS};

/// How this run was asked to behave.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    /// `--plugin-dir`, in order.
    pub plugin_dirs: Vec<PathBuf>,
    /// Number of `-v`.
    pub verbose: u8,
    /// `-q`.
    pub quiet: bool,
    /// `--json`.
    pub json: bool,
    /// `--no-color` or `NO_COLOR` set.
    pub no_color: bool,
}

/// What one scan of argv saw, by global flag name.
#[derive(Debug, Default)]
struct Seen {
    counts: HashMap<&'static str, u8>,
    values: HashMap<&'static str, Vec<String>>,
}

impl Seen {
    /// Counts one more use of a switch; the count stops at `u8::MAX` (256 `-v` is
    /// as verbose as 255, not a crash).
    fn add(&mut self, name: &'static str) {
        let count = self.counts.entry(name).or_default();
        *count = count.saturating_add(1);
    }

    fn count(&self, name: &str) -> u8 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or_default()
    }
}

fn by_long(long: &str) -> Option<&'static GlobalFlag> {
    GLOBAL_FLAGS.iter().find(|flag| flag.long == long)
}

fn by_short(short: char) -> Option<&'static GlobalFlag> {
    GLOBAL_FLAGS.iter().find(|flag| flag.short == Some(short))
}

/// One pass over argv up to `--`: the global flags it holds, and the other words
/// (commands, their arguments and flags) in order.
fn scan_words(args: &[String]) -> (Seen, Vec<&str>) {
    let mut seen = Seen::default();
    let mut others = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            match by_long(name) {
                Some(flag) if flag.kind == GlobalFlagKind::Values => {
                    let value = inline.map(str::to_string).or_else(|| words.next().cloned());
                    if let Some(value) = value {
                        seen.values.entry(flag.name).or_default().push(value);
                    }
                }
                Some(flag) if inline.is_none() => seen.add(flag.name),
                _ => others.push(word.as_str()),
            }
            continue;
        }
        let cluster = word.strip_prefix('-').filter(|rest| !rest.is_empty());
        let Some(cluster) = cluster else {
            others.push(word.as_str());
            continue;
        };
        let flags: Option<Vec<&GlobalFlag>> = cluster.chars().map(by_short).collect();
        match flags.as_deref() {
            // `-s VALUE` for a global flag that takes a value.
            Some([flag]) if flag.kind == GlobalFlagKind::Values => {
                if let Some(value) = words.next() {
                    seen.values
                        .entry(flag.name)
                        .or_default()
                        .push(value.clone());
                }
            }
            // `-v`, `-vv`, `-qv`: a cluster of global switches.
            Some(flags) if flags.iter().all(|flag| flag.kind != GlobalFlagKind::Values) => {
                for flag in flags {
                    seen.add(flag.name);
                }
            }
            _ => others.push(word.as_str()),
        }
    }
    (seen, others)
}

impl Globals {
    /// Scans argv (without the program name) up to `--`.
    pub fn scan(args: &[String]) -> Globals {
        let (seen, _) = scan_words(args);
        Globals {
            plugin_dirs: seen
                .values("plugin_dir")
                .iter()
                .map(PathBuf::from)
                .collect(),
            verbose: seen.count("verbose"),
            quiet: seen.count("quiet") > 0,
            json: seen.count("json") > 0,
            no_color: seen.count("no_color") > 0
                || std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()),
        }
    }

    /// The verbosity handed to plugins: -1 quiet, 0, 1, 2.
    pub fn verbosity(&self) -> i8 {
        if self.quiet {
            -1
        } else {
            self.verbose.min(2) as i8
        }
    }
}

/// The words of argv up to `--` that are neither flags nor values of global flags:
/// the command path and its positional arguments (`fleet ps`, `help config show`).
pub fn command_words(args: &[String]) -> Vec<&str> {
    let (_, others) = scan_words(args);
    others
        .into_iter()
        .filter(|word| !word.starts_with('-'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    fn scan(words: &[&str]) -> Globals {
        Globals::scan(&owned(words))
    }

    #[test]
    fn reads_flags_anywhere_before_double_dash() {
        let globals = scan(&[
            "fleet",
            "-vv",
            "ps",
            "--json",
            "--plugin-dir",
            "/a",
            "--plugin-dir=/b",
            "--verbose",
        ]);
        assert_eq!(globals.verbose, 3);
        assert!(globals.json);
        assert!(!globals.quiet);
        assert_eq!(
            globals.plugin_dirs,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert!(scan(&["-q", "x"]).quiet);
    }

    #[test]
    fn many_verbose_flags_saturate_instead_of_overflowing() {
        let many = vec!["-v"; 300];
        assert_eq!(scan(&many).verbose, u8::MAX);
        let cluster = format!("-{}", "v".repeat(300));
        assert_eq!(scan(&[cluster.as_str(), "--verbose"]).verbose, u8::MAX);
        assert_eq!(scan(&many).verbosity(), 2);
    }

    #[test]
    fn stops_at_double_dash() {
        let globals = scan(&["fleet", "launch", "x", "--", "cmd", "--json", "-v"]);
        assert!(!globals.json);
        assert_eq!(globals.verbose, 0);
    }

    #[test]
    fn every_global_flag_is_read() {
        // A flag added to the API's list must be handled here too.
        for flag in GLOBAL_FLAGS {
            assert!(
                ["verbose", "quiet", "json", "no_color", "plugin_dir"].contains(&flag.name),
                "Globals does not read the global flag `{}`",
                flag.name
            );
        }
    }

    #[test]
    fn command_words_skip_flags_and_their_values() {
        let args = owned(&[
            "--plugin-dir",
            "/p",
            "-v",
            "config",
            "hooks",
            "--json",
            "list",
        ]);
        assert_eq!(command_words(&args), vec!["config", "hooks", "list"]);
        let args = owned(&["fleet", "launch", "-n", "--", "ps"]);
        assert_eq!(command_words(&args), vec!["fleet", "launch"]);
    }
}
