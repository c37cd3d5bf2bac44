//! The real Claude Code CLI (`claude`, npm package `@anthropic-ai/claude-code`)
//! through the installed gateway: `claude -p … --output-format json` with
//! `ANTHROPIC_BASE_URL` pointed at the gateway and a Mosaic key (as
//! `ANTHROPIC_API_KEY`, then as `ANTHROPIC_AUTH_TOKEN`), the gateway pointed at the
//! Messages API stand-in (gateway_support/anthropic_standin.rs) scripted to ask
//! for one Bash tool call and then answer with text. Proves that the tool call
//! runs, that usage shows exactly the stand-in's token counts for the agent's key,
//! that a revoked key and an exhausted budget are refused with the gateway's
//! message, and that the stand-in only ever saw the gateway's real key.
//!
//! Claude Code runs with HOME and CLAUDE_CONFIG_DIR in temp dirs. Without `claude`
//! the test is skipped with a message, unless `CI` is set: then it fails.

#[path = "gateway_support/anthropic_standin.rs"]
#[allow(dead_code)]
mod anthropic_standin;
mod gateway_support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anthropic_standin::{AnthropicStandIn, Mode, Tally, AGENT_FINAL_TEXT, AGENT_TOOL_USE_ID};
use gateway_support::*;
use mosaic_tests::tool_or_skip;
use serde_json::{json, Value};

/// The "real" Anthropic key the gateway holds.
const REAL_KEY: &str = "sk-ant-api03-standin-REAL-KEY-for-claude-code";
/// The agent whose key Claude Code uses.
const AGENT: &str = "coder";
/// The longest one `claude -p` run may take (it takes a few seconds).
const CLAUDE_DEADLINE: Duration = Duration::from_secs(180);

/// How Claude Code presents its Mosaic key.
#[derive(Debug, Clone, Copy)]
enum Credential {
    /// `ANTHROPIC_API_KEY`, sent as `x-api-key`.
    ApiKey,
    /// `ANTHROPIC_AUTH_TOKEN`, sent as `Authorization: Bearer`.
    AuthToken,
}

/// What one `claude` run did.
struct ClaudeRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl ClaudeRun {
    fn everything(&self) -> String {
        format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `claude -p PROMPT --output-format json --allowedTools Bash` in `work`,
/// talking to the gateway on `port` with `key`; its HOME and config dir are
/// fresh temp dirs, and nothing of the test's own Anthropic settings leaks in.
fn run_claude(
    claude: &Path,
    work: &Path,
    port: u16,
    key: &str,
    credential: Credential,
) -> ClaudeRun {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(claude);
    command
        .args(["-p", "Write the proof file with the Bash tool."])
        .args(["--output-format", "json", "--allowedTools", "Bash"])
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("ANTHROPIC_") || name.starts_with("CLAUDE") {
            command.env_remove(name);
        }
    }
    command
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("CLAUDE_CONFIG_DIR", home.path().join(".claude"))
        .env("ANTHROPIC_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    match credential {
        Credential::ApiKey => command.env("ANTHROPIC_API_KEY", key),
        Credential::AuthToken => command.env("ANTHROPIC_AUTH_TOKEN", key),
    };
    let mut child = command.spawn().expect("cannot run claude");
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stdout_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout_pipe.read_to_string(&mut text);
        text
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + CLAUDE_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = ClaudeRun {
        code: status.and_then(|status| status.code()),
        stdout: stdout_reader.join().unwrap(),
        stderr: stderr_reader.join().unwrap(),
    };
    assert!(
        status.is_some(),
        "claude did not finish within {CLAUDE_DEADLINE:?}:\n{}",
        run.everything()
    );
    run
}

/// The `--by agent` usage row of `agent` once it counts `requests` requests (the
/// gateway stores usage every ~200 ms).
#[track_caller]
fn agent_usage_once(gateway: &GatewaySandbox, agent: &str, requests: u64) -> Value {
    let usage = gateway.usage_once(
        "agent",
        &format!("a usage of {requests} requests for {agent}"),
        |usage| agent_row(usage, agent)["requests"].as_u64() == Some(requests),
    );
    agent_row(&usage, agent)
}

fn agent_row(usage: &Value, agent: &str) -> Value {
    usage["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|row| row["group"] == agent)
        .cloned()
        .unwrap_or(Value::Null)
}

#[track_caller]
fn assert_row_matches(row: &Value, tally: Tally) {
    assert_eq!(row["requests"], tally.messages, "{row}");
    assert_eq!(row["input_tokens"], tally.input, "{row}");
    assert_eq!(row["output_tokens"], tally.output, "{row}");
    assert_eq!(row["cache_read_tokens"], tally.cache_read, "{row}");
    assert_eq!(row["cache_write_tokens"], tally.cache_write, "{row}");
    assert_eq!(row["errors"], 0, "{row}");
}

/// A working dir for one run and the proof file the tool call writes there.
fn work_dir() -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let proof = work.path().join("proof.txt");
    (work, proof)
}

#[test]
fn claude_code_works_through_the_gateway_and_is_metered_and_limited() {
    let Some(claude) = tool_or_skip("gateway_claude", "claude") else {
        return;
    };
    let standin = AnthropicStandIn::start();
    standin.set_mode(Mode::Agent {
        command: "echo mosaic > proof.txt".into(),
    });
    let gateway = GatewaySandbox::calling(REAL_KEY, &standin.url());
    let key = gateway.create_key_text("coder-key", &["--agent", AGENT]);

    // The key as ANTHROPIC_API_KEY (x-api-key), then as ANTHROPIC_AUTH_TOKEN
    // (Authorization: Bearer): the tool call runs both times.
    for credential in [Credential::ApiKey, Credential::AuthToken] {
        let (work, proof) = work_dir();
        let run = run_claude(&claude, work.path(), gateway.port, &key, credential);
        assert_eq!(run.code, Some(0), "{credential:?}: {}", run.everything());
        let result: Value = serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", run.everything()));
        assert_eq!(result["is_error"], false, "{}", run.everything());
        assert_eq!(result["result"], AGENT_FINAL_TEXT, "{}", run.everything());
        assert_eq!(
            std::fs::read_to_string(&proof).ok().as_deref(),
            Some("mosaic\n"),
            "{credential:?}: the Bash tool call did not run: {}",
            run.everything()
        );
    }
    // The tool's result went back to the API through the gateway.
    let seen = standin.seen();
    assert!(
        seen.iter()
            .any(|request| request.body.contains(AGENT_TOOL_USE_ID)
                && request.body.contains("tool_result")),
        "no request carried the tool's result"
    );
    // Claude Code's headers reached the API (its LLM-gateway requirements).
    let message = seen
        .iter()
        .find(|request| request.path.starts_with("/v1/messages"))
        .expect("no message reached the stand-in");
    assert!(message.header("anthropic-version").is_some(), "{message:?}");
    assert!(message.header("anthropic-beta").is_some(), "{message:?}");

    // Usage: exactly what the stand-in answered, under the agent.
    let tally = standin.answered();
    assert!(tally.messages >= 4, "{tally:?}");
    let row = agent_usage_once(&gateway, AGENT, tally.messages);
    assert_row_matches(&row, tally);

    // A revoked key is refused with the gateway's message; nothing reaches the API.
    let requests_before = standin.seen().len();
    gateway
        .run(&["gateway", "keys", "revoke", "coder-key"])
        .expect_code(0);
    let (work, proof) = work_dir();
    let run = run_claude(&claude, work.path(), gateway.port, &key, Credential::ApiKey);
    assert_ne!(run.code, Some(0), "{}", run.everything());
    assert!(run.everything().contains("revoked"), "{}", run.everything());
    assert!(!proof.exists());
    assert_eq!(standin.seen().len(), requests_before);

    // An exhausted budget is refused with the gateway's message. One direct request
    // uses the whole budget of 1 token.
    let budgeted = gateway.create_key_text(
        "budgeted-key",
        &["--agent", "budgeted", "--budget-tokens", "1/day"],
    );
    let direct = http(
        gateway.port,
        "POST",
        "/v1/messages",
        &[
            ("x-api-key", &budgeted),
            ("anthropic-version", "2023-06-01"),
        ],
        Some(
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
                "messages": [{"role": "user", "content": "Hello"}]})
            .to_string(),
        ),
    );
    assert_eq!(direct.status, 200, "{}", direct.body);
    let requests_before = standin.seen().len();
    let (work, proof) = work_dir();
    let run = run_claude(
        &claude,
        work.path(),
        gateway.port,
        &budgeted,
        Credential::ApiKey,
    );
    assert_ne!(run.code, Some(0), "{}", run.everything());
    assert!(
        run.everything().contains("token budget"),
        "{}",
        run.everything()
    );
    assert!(!proof.exists());
    assert_eq!(standin.seen().len(), requests_before);

    standin.assert_saw_only_key(REAL_KEY);
    let log = std::fs::read_to_string(gateway.log_file()).unwrap_or_default();
    assert!(
        !log.contains(REAL_KEY) && !log.contains(&key),
        "a key is in the log"
    );
}
