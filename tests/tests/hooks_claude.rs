//! Mosaic's hooks under the real Claude Code CLI (`claude`, npm package
//! `@anthropic-ai/claude-code`), run headless against a local stand-in for the
//! Anthropic Messages API: Claude Code reads the settings.json that `mosaic config
//! hooks install` wrote in the sandbox's `$HOME/.claude` and fires SessionStart,
//! PreToolUse, PostToolUse and Stop through Mosaic's commands.
//!
//! Without `claude` the test is skipped with a message, unless `CI` is set: then a
//! missing `claude` fails it (scripts/test.sh installs it).

mod hooks_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hooks_support::anthropic_stand_in::{tool_use_id, StandIn};
use hooks_support::{audit_lines, read_json, read_text, settings_path, wait_with_timeout};
use mosaic_tests::{tool_or_skip, Sandbox};
use serde_json::{json, Value};

/// How long one headless Claude Code run may take.
const CLAUDE_WAIT: Duration = Duration::from_secs(180);

/// The agent name fleet would set; the activity record is keyed by it.
const AGENT: &str = "e2e-agent";

/// Runs `claude -p` headless in `work_dir` against `stand_in`; returns its JSON result.
fn run_claude(claude: &Path, sandbox: &Sandbox, stand_in: &StandIn, work_dir: &Path) -> Value {
    let mut command = Command::new(claude);
    command
        .args(["-p", "Run the scripted commands."])
        .args(["--allowedTools", "Bash", "--output-format", "json"])
        .current_dir(work_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sandbox.home())
        .env("CLAUDE_HOME", sandbox.claude_home())
        .env("HB_RUN_DIR", sandbox.run_dir())
        .env("MOSAIC_AGENT", AGENT)
        .env("ANTHROPIC_BASE_URL", stand_in.base_url())
        .env("ANTHROPIC_API_KEY", "dummy-key-for-the-stand-in")
        // Offline and quiet: no telemetry, update checks or error reports.
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("cannot start claude");
    let output = wait_with_timeout(child, CLAUDE_WAIT);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "claude failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|error| {
        panic!("claude's --output-format json is not JSON ({error}):\n{stdout}")
    })
}

/// The audit lines of one Claude session.
fn session_audit(sandbox: &Sandbox, session_id: &str) -> Vec<Value> {
    audit_lines(sandbox)
        .into_iter()
        .filter(|line| line["session_id"] == session_id)
        .collect()
}

fn events(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|line| line["event"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn claude_code_runs_mosaic_hooks_guard_records_and_disable() {
    let Some(claude) = tool_or_skip("hooks_claude", "claude") else {
        return;
    };
    let sandbox = hooks_support::sandbox();
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    let installed_settings = read_text(&settings_path(&sandbox));
    // A deny rule of the test's own, next to the built-in ones.
    std::fs::create_dir_all(sandbox.config_dir()).unwrap();
    std::fs::write(
        sandbox.config_dir().join("config.json"),
        json!({"hooks": {"bash_guard": {"extra_rules": [{
            "pattern": "mosaic-e2e-forbidden",
            "reason": "E2E-REASON: the test forbids this marker"
        }]}}})
        .to_string(),
    )
    .unwrap();
    let work = sandbox.root().join("work");
    std::fs::create_dir_all(&work).unwrap();

    // 1. One allowed command, one blocked by the configured rule, one by a built-in.
    let allowed = work.join("allowed.txt");
    let forbidden = work.join("forbidden.txt");
    let pushed = work.join("pushed.txt");
    let commands = [
        format!("echo allowed > {}", allowed.display()),
        format!("echo mosaic-e2e-forbidden > {}", forbidden.display()),
        format!("git push --force origin main > {} 2>&1", pushed.display()),
    ];
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    let stand_in = StandIn::start(&commands);
    let result = run_claude(&claude, &sandbox, &stand_in, &work);
    let session_id = result["session_id"]
        .as_str()
        .expect("session_id in the result")
        .to_string();

    assert_eq!(
        read_text(&allowed).trim(),
        "allowed",
        "the allowed command ran"
    );
    assert!(
        !forbidden.exists(),
        "the configured deny rule let the command run"
    );
    assert!(!pushed.exists(), "the force push to main ran");
    let results = stand_in.tool_results();
    let (allowed_result, allowed_error) = &results[&tool_use_id(0)];
    assert!(
        !allowed_error,
        "allowed command reported an error: {allowed_result}"
    );
    let (reason, is_error) = &results[&tool_use_id(1)];
    assert!(
        *is_error && reason.contains("E2E-REASON: the test forbids this marker"),
        "{reason}"
    );
    assert!(reason.contains("Mosaic's Bash guard"), "{reason}");
    let (reason, is_error) = &results[&tool_use_id(2)];
    assert!(
        *is_error && reason.contains("force-push-protected-branch"),
        "{reason}"
    );

    let activity = read_json(&sandbox.run_dir().join(format!("{AGENT}.activity.json")));
    assert_eq!(activity["agent"], AGENT);
    assert_eq!(activity["session_id"], session_id.as_str());
    assert_eq!(activity["last_tool"], "Bash");
    assert_eq!(
        activity["cwd"].as_str().map(Path::new),
        Some(work.canonicalize().unwrap().as_path())
    );
    assert!(
        activity["idle_since"].is_u64(),
        "Stop marks the agent idle: {activity}"
    );
    assert!(activity["session_started_at"].is_u64(), "{activity}");

    let lines = session_audit(&sandbox, &session_id);
    let seen = events(&lines);
    for event in ["SessionStart", "PreToolUse", "PostToolUse", "Stop"] {
        assert!(
            seen.iter().any(|seen| seen == event),
            "no {event} in the audit log: {seen:?}"
        );
    }
    let decisions: Vec<(&str, &str)> = lines
        .iter()
        .filter(|line| line["event"] == "PreToolUse")
        .map(|line| {
            (
                line["decision"].as_str().unwrap_or_default(),
                line["command"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("allow", commands[0]),
            ("deny", commands[1]),
            ("deny", commands[2])
        ],
        "{lines:#?}"
    );
    assert_eq!(
        seen.iter().filter(|event| *event == "PostToolUse").count(),
        1,
        "only the allowed command ran: {seen:?}"
    );
    assert!(
        lines.iter().all(|line| line["agent"] == AGENT),
        "{lines:#?}"
    );

    // 2. With PostToolUse disabled, Claude Code no longer runs that hook.
    sandbox
        .run(["config", "hooks", "disable", "PostToolUse"])
        .expect_code(0);
    let again = work.join("again.txt");
    let command = format!("echo again > {}", again.display());
    let stand_in = StandIn::start(&[command.as_str()]);
    let result = run_claude(&claude, &sandbox, &stand_in, &work);
    let session_id = result["session_id"]
        .as_str()
        .expect("session_id in the result")
        .to_string();
    assert_eq!(read_text(&again).trim(), "again");
    let seen = events(&session_audit(&sandbox, &session_id));
    assert!(seen.iter().any(|event| event == "PreToolUse"), "{seen:?}");
    assert!(seen.iter().any(|event| event == "Stop"), "{seen:?}");
    assert!(
        !seen.iter().any(|event| event == "PostToolUse"),
        "a disabled hook fired: {seen:?}"
    );
    let activity = read_json(&sandbox.run_dir().join(format!("{AGENT}.activity.json")));
    assert_eq!(activity["session_id"], session_id.as_str());
    assert!(
        activity["last_tool"].is_null(),
        "no PostToolUse, no last tool: {activity}"
    );

    sandbox
        .run(["config", "hooks", "enable", "PostToolUse"])
        .expect_code(0);
    assert_eq!(read_text(&settings_path(&sandbox)), installed_settings);
}
