//! The global flags (`-v`, `-q`, `--json`, `--no-color`, `--plugin-dir`), read
//! before the command tree exists.
//!
//! Discovery needs `--plugin-dir` and logging needs the verbosity before clap can
//! parse anything (the tree is built from the plugins found), so the flags are
//! scanned from argv first. clap declares the same flags as global so they show in
//! help and may appear anywhere; the two readings agree.

use std::path::PathBuf;

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

impl Globals {
    /// Scans argv (without the program name) up to `--`.
    pub fn scan(args: &[String]) -> Globals {
        let mut globals = Globals {
            no_color: std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()),
            ..Globals::default()
        };
        let mut words = args.iter();
        while let Some(word) = words.next() {
            match word.as_str() {
                "--" => break,
                "--plugin-dir" => {
                    if let Some(dir) = words.next() {
                        globals.plugin_dirs.push(PathBuf::from(dir));
                    }
                }
                "--verbose" => globals.verbose += 1,
                "--quiet" | "-q" => globals.quiet = true,
                "--json" => globals.json = true,
                "--no-color" => globals.no_color = true,
                other => {
                    if let Some(dir) = other.strip_prefix("--plugin-dir=") {
                        globals.plugin_dirs.push(PathBuf::from(dir));
                    } else if other.len() > 1
                        && other.starts_with('-')
                        && !other.starts_with("--")
                        && other[1..].chars().all(|c| c == 'v')
                    {
                        globals.verbose += (other.len() - 1) as u8;
                    }
                }
            }
        }
        globals
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(words: &[&str]) -> Globals {
        Globals::scan(
            &words
                .iter()
                .map(|word| word.to_string())
                .collect::<Vec<_>>(),
        )
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
        ]);
        assert_eq!(globals.verbose, 2);
        assert!(globals.json);
        assert_eq!(
            globals.plugin_dirs,
            vec![PathBuf::from("/a"), PathBuf::from("/b")]
        );
    }

    #[test]
    fn stops_at_double_dash() {
        let globals = scan(&["fleet", "launch", "x", "--", "cmd", "--json", "-v"]);
        assert!(!globals.json);
        assert_eq!(globals.verbose, 0);
    }
}
