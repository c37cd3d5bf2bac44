//! Helpers of the hooks end-to-end tests: a slim install with the hooks plugin, the
//! files it manages, running the hook commands exactly as Claude Code does (`sh -c
//! <command from settings.json>` with the hook JSON on stdin), and bounded waits.

// Each hooks_*.rs test file uses its own subset of these helpers.
#![allow(dead_code)]

pub mod anthropic_stand_in;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mosaic_tests::{Run, Sandbox};
use serde_json::Value;

/// The longest any test waits for one process.
pub const WAIT: Duration = Duration::from_secs(60);

/// The Claude Code events of Mosaic's default hooks.
pub const DEFAULT_EVENTS: &[&str] = &[
    "PreToolUse",
    "SessionStart",
    "UserPromptSubmit",
    "PostToolUse",
    "Notification",
    "Stop",
    "SessionEnd",
];

/// A sandbox whose install holds only the hooks plugin.
pub fn sandbox() -> Sandbox {
    Sandbox::with_plugins(&["hooks"])
}

/// `$CLAUDE_HOME/settings.json`.
pub fn settings_path(sandbox: &Sandbox) -> PathBuf {
    sandbox.claude_home().join("settings.json")
}

/// `$CLAUDE_HOME/hooks-config.json`.
pub fn hooks_config_path(sandbox: &Sandbox) -> PathBuf {
    sandbox.claude_home().join("hooks-config.json")
}

/// The audit log under the sandbox's config dir.
pub fn audit_log_path(sandbox: &Sandbox) -> PathBuf {
    sandbox.config_dir().join("hooks/audit.jsonl")
}

/// A file's text, or an empty string when it does not exist.
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A JSON file, parsed.
#[track_caller]
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not JSON ({error}):\n{text}", path.display()))
}

/// Every line of the audit log, parsed.
pub fn audit_lines(sandbox: &Sandbox) -> Vec<Value> {
    read_text(&audit_log_path(sandbox))
        .lines()
        .map(|line| serde_json::from_str(line).expect("audit line is JSON"))
        .collect()
}

/// Fails unless every row of a `config hooks list --json` document is free of drift.
#[track_caller]
pub fn assert_no_drift(listing: &Value) {
    for row in listing["hooks"].as_array().expect("a hooks listing") {
        assert_eq!(row["drift"], Value::Array(Vec::new()), "{row}");
    }
}

/// The command settings.json runs for Mosaic's hook on `event`.
#[track_caller]
pub fn hook_command_for(sandbox: &Sandbox, event: &str) -> String {
    let settings = read_json(&settings_path(sandbox));
    settings["hooks"][event]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|group| group["hooks"].as_array().cloned().unwrap_or_default())
        .filter_map(|hook| hook["command"].as_str().map(str::to_string))
        .find(|command| command.contains(" config hooks run "))
        .unwrap_or_else(|| panic!("no Mosaic hook on {event} in settings.json:\n{settings:#}"))
}

/// Environment of the sandbox for processes other than `mosaic` (what Claude Code
/// would pass to its hooks).
pub fn sandbox_env(sandbox: &Sandbox, command: &mut Command) {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sandbox.home())
        .env("CLAUDE_HOME", sandbox.claude_home())
        .env("HB_RUN_DIR", sandbox.run_dir());
}

/// A command running `binary` (another `mosaic`) with the sandbox's environment.
pub fn command_with_binary(sandbox: &Sandbox, binary: &Path) -> Command {
    let template = sandbox.command(std::iter::empty::<&str>());
    let mut command = Command::new(binary);
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command.stdin(Stdio::null());
    command
}

/// Runs `command` with `sh -c` and `input` on stdin, as Claude Code runs a hook.
pub fn run_like_claude(
    sandbox: &Sandbox,
    command: &str,
    input: &Value,
    extra_env: &[(&str, &str)],
) -> Run {
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(command);
    sandbox_env(sandbox, &mut shell);
    for (key, value) in extra_env {
        shell.env(key, value);
    }
    run_with_input(shell, input.to_string().as_bytes())
}

/// Runs `mosaic ARGS` in the sandbox with `input` on stdin.
pub fn mosaic_with_input(sandbox: &Sandbox, args: &[&str], input: &[u8]) -> Run {
    run_with_input(sandbox.command(args), input)
}

/// Runs a command with `input` on stdin, waiting at most [`WAIT`].
pub fn run_with_input(mut command: Command, input: &[u8]) -> Run {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("cannot start the command");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        // The command may exit without reading everything; that is its business.
        let _ = stdin.write_all(&input);
    });
    let output = wait_with_timeout(child, WAIT);
    writer.join().expect("stdin writer");
    Run::from_output(output)
}

/// Waits for `child` (stdout and stderr piped) at most `limit`; kills it and fails
/// the test when it takes longer.
pub fn wait_with_timeout(mut child: Child, limit: Duration) -> Output {
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for the child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr =
                String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
            panic!("the command did not finish within {limit:?}; stderr so far:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// The JSON Claude Code sends a Bash PreToolUse hook.
pub fn bash_pre_tool_use(command: &str, cwd: &Path) -> Value {
    serde_json::json!({
        "session_id": "session-e2e",
        "transcript_path": "/dev/null",
        "cwd": cwd,
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "test"},
        "tool_use_id": "toolu_e2e",
    })
}

/// The permission decision of a PreToolUse answer (`None` when it said nothing).
pub fn decision(run: &Run) -> Option<(String, String)> {
    if run.stdout.trim().is_empty() {
        return None;
    }
    let answer: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("hook stdout is not JSON ({error}): {}", run.stdout));
    let output = &answer["hookSpecificOutput"];
    Some((
        output["permissionDecision"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        output["permissionDecisionReason"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    ))
}
