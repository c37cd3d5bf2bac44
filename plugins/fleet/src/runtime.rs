//! Agent runtimes: the names `fleet launch --runtime` knows, the command each one
//! runs, and how to install it. `-- COMMAND ARGS…` runs anything instead, so the
//! fleet itself stays runtime-agnostic.

use std::path::Path;

use mosaic_plugin_api::anyhow::{bail, Result};

use crate::process::find_program;

/// A runtime `fleet launch` can start by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runtime {
    /// The name given to `--runtime`.
    pub name: &'static str,
    /// The program it runs.
    pub program: &'static str,
    /// How to install the program.
    pub install: &'static str,
}

/// The runtimes known by name.
pub const RUNTIMES: &[Runtime] = &[
    Runtime {
        name: "claude",
        program: "claude",
        install: "npm install -g @anthropic-ai/claude-code",
    },
    Runtime {
        name: "codex",
        program: "codex",
        install: "npm install -g @openai/codex",
    },
    Runtime {
        name: "opencode",
        program: "opencode",
        install: "npm install -g opencode-ai",
    },
    Runtime {
        name: "gemini",
        program: "gemini",
        install: "npm install -g @google/gemini-cli",
    },
];

/// The runtime called `name`, if known.
pub fn find_runtime(name: &str) -> Option<&'static Runtime> {
    RUNTIMES.iter().find(|runtime| runtime.name == name)
}

/// What a launch runs: a runtime label for `fleet ps` and the command itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchCommand {
    /// The RUNTIME column of `fleet ps`.
    pub runtime: String,
    /// The command given to tmux: several words run directly, a single word runs
    /// through the shell (tmux's own rule).
    pub command: Vec<String>,
    /// The runtime by name, when the command is its program.
    pub known: Option<&'static Runtime>,
}

/// Decides what to run. With `-- COMMAND…` (`explicit` not empty) that command runs,
/// labelled with `--runtime` if given, else with its program's name; otherwise the
/// runtime named by `--runtime` or, failing that, the configured default.
pub fn resolve_launch_command(
    runtime_flag: Option<&str>,
    default_runtime: &str,
    explicit: &[String],
) -> Result<LaunchCommand> {
    if let Some(first) = explicit.first() {
        let program = first.split_whitespace().next().unwrap_or(first);
        let label = match runtime_flag {
            Some(name) => name.to_string(),
            None => Path::new(program)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| program.to_string()),
        };
        return Ok(LaunchCommand {
            known: find_runtime(&label).filter(|runtime| runtime.program == program),
            runtime: label,
            command: explicit.to_vec(),
        });
    }
    let name = runtime_flag.unwrap_or(default_runtime);
    match find_runtime(name) {
        Some(runtime) => Ok(LaunchCommand {
            runtime: runtime.name.to_string(),
            command: vec![runtime.program.to_string()],
            known: Some(runtime),
        }),
        None => {
            let known: Vec<&str> = RUNTIMES.iter().map(|runtime| runtime.name).collect();
            bail!(
                "unknown runtime `{name}` (known: {}); to run any other program, give it \
                 after `--`, e.g. `mosaic fleet launch NAME -- my-agent --flag`",
                known.join(", ")
            )
        }
    }
}

/// Fails with an install hint when the command's program cannot be found: on `path`
/// for a bare name, relative to `cwd` for a path. A single argument holding spaces is
/// a shell command line for tmux, so it is not checked.
pub fn check_program_exists(launch: &LaunchCommand, cwd: &Path, path: Option<&str>) -> Result<()> {
    let Some(program) = launch.command.first() else {
        bail!("no command to run");
    };
    if launch.command.len() == 1 && program.contains(char::is_whitespace) {
        return Ok(());
    }
    let found = if program.contains('/') {
        find_program(&cwd.join(program).to_string_lossy(), None).is_some()
    } else {
        find_program(program, path).is_some()
    };
    if found {
        return Ok(());
    }
    match launch.known {
        Some(runtime) => bail!(
            "`{program}` (runtime {}) is not installed or not on PATH: install it with \
             `{}`, or run something else after `--`",
            runtime.name,
            runtime.install
        ),
        None => bail!(
            "`{program}` was not found{}: check the command after `--`, give a full path, \
             or fix PATH",
            if program.contains('/') {
                format!(" (relative to {})", cwd.display())
            } else {
                " on PATH".to_string()
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &[&str]) -> Vec<String> {
        text.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn runtime_names_map_to_their_commands() {
        let launch = resolve_launch_command(Some("codex"), "claude", &[]).unwrap();
        assert_eq!(launch.runtime, "codex");
        assert_eq!(launch.command, ["codex"]);
        let launch = resolve_launch_command(None, "opencode", &[]).unwrap();
        assert_eq!(launch.command, ["opencode"]);
    }

    #[test]
    fn explicit_commands_run_anything() {
        let launch =
            resolve_launch_command(None, "claude", &words(&["/bin/sleep", "100"])).unwrap();
        assert_eq!(launch.runtime, "sleep");
        assert_eq!(launch.command, ["/bin/sleep", "100"]);
        assert_eq!(launch.known, None);
        let launch =
            resolve_launch_command(Some("claude"), "codex", &words(&["claude", "--model", "x"]))
                .unwrap();
        assert_eq!(launch.runtime, "claude");
        assert!(launch.known.is_some());
        let launch =
            resolve_launch_command(None, "claude", &words(&["sleep 5; echo done"])).unwrap();
        assert_eq!(launch.runtime, "sleep");
    }

    #[test]
    fn unknown_runtime_says_what_is_known_and_how_to_run_anything() {
        let message = resolve_launch_command(Some("nope"), "claude", &[])
            .unwrap_err()
            .to_string();
        assert!(message.contains("unknown runtime `nope`"), "{message}");
        assert!(message.contains("claude, codex, opencode"), "{message}");
        assert!(message.contains("-- my-agent"), "{message}");
    }

    #[test]
    fn missing_programs_get_an_install_hint() {
        let launch = resolve_launch_command(Some("claude"), "claude", &[]).unwrap();
        let message = check_program_exists(&launch, Path::new("/"), Some("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("@anthropic-ai/claude-code"), "{message}");
        let launch = resolve_launch_command(None, "claude", &words(&["sh", "-c", "true"])).unwrap();
        assert!(check_program_exists(&launch, Path::new("/"), Some("/bin:/usr/bin")).is_ok());
        let launch =
            resolve_launch_command(None, "claude", &words(&["no-such-program-x"])).unwrap();
        let message = check_program_exists(&launch, Path::new("/"), Some("/bin"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("not found on PATH"), "{message}");
        let launch =
            resolve_launch_command(None, "claude", &words(&["anything goes here"])).unwrap();
        assert!(check_program_exists(&launch, Path::new("/"), None).is_ok());
    }
}
