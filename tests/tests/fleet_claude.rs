//! A real runtime under the fleet: the Claude Code CLI (`claude`, npm package
//! `@anthropic-ai/claude-code`) launched by `mosaic fleet launch` in a private tmux
//! server, talking to the local Messages API stand-in of the hooks tests, with
//! Mosaic's hooks installed. The hooks run inside the agent's pane, find
//! `MOSAIC_AGENT` and `HB_RUN_DIR` there (set by the launch), and record the
//! agent's activity, which `fleet ps` shows.
//!
//! Without `claude` the test is skipped with a message, unless `CI` is set: then a
//! missing `claude` fails it (scripts/test.sh installs it).

#[path = "hooks_support/anthropic_stand_in.rs"]
mod anthropic_stand_in;
mod fleet_support;

use anthropic_stand_in::{tool_use_id, StandIn};
use fleet_support::{wait_until, FleetSandbox};
use mosaic_tests::{tool_or_skip, Sandbox};

const AGENT: &str = "claude-agent";

#[test]
fn claude_code_launched_by_the_fleet_reports_its_activity() {
    if tool_or_skip("fleet_claude", "claude").is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let marker = work.path().join("fleet-ran.txt");
    let command = format!("echo from-the-fleet > {}", marker.display());
    let stand_in = StandIn::start(&[command.as_str()]);

    let mut sandbox = Sandbox::with_plugins(&["fleet", "hooks"]);
    // The launch starts the private tmux server, so the pane inherits all of this.
    sandbox
        .env("ANTHROPIC_BASE_URL", &stand_in.base_url())
        .env("ANTHROPIC_API_KEY", "dummy-key-for-the-stand-in")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    let fleet = FleetSandbox::with_sandbox(sandbox);
    fleet.run(&["config", "hooks", "install"]).expect_code(0);

    let run = fleet.run(&[
        "fleet",
        "launch",
        AGENT,
        "--runtime",
        "claude",
        "--cwd",
        work.path().to_str().unwrap(),
        "--detach",
        "--",
        "claude",
        "-p",
        "Run the scripted commands.",
        "--allowedTools",
        "Bash",
    ]);
    run.expect_code(0);

    let activity_path = fleet.run_dir().join(format!("{AGENT}.activity.json"));
    wait_until("Claude Code's hooks to record a Bash tool use", || {
        std::fs::read_to_string(&activity_path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .is_some_and(|activity| activity["last_tool"] == "Bash")
    });
    assert!(
        stand_in
            .requests()
            .iter()
            .any(|request| request.method == "POST" && request.path.starts_with("/v1/messages")),
        "claude did not talk to the stand-in"
    );
    // The hooks record the tool use as it happens; Claude Code reports the result to
    // the API in its next request, a moment later.
    wait_until("Claude Code to send the tool's result", || {
        stand_in.tool_results().contains_key(&tool_use_id(0))
    });
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "from-the-fleet",
        "claude ran the scripted command in the agent's cwd"
    );
    let results = stand_in.tool_results();
    let (output, is_error) = &results[&tool_use_id(0)];
    assert!(!is_error, "the scripted command failed: {output}");

    let row = fleet.row(AGENT);
    assert_eq!(row["runtime"], "claude");
    assert_eq!(row["activity"]["agent"], AGENT);
    assert_eq!(row["activity"]["last_tool"], "Bash");
    let table = fleet.run(&["fleet", "ps"]);
    let header = table.stdout.lines().next().unwrap();
    let line = table
        .stdout
        .lines()
        .find(|line| line.starts_with(AGENT))
        .unwrap();
    let activity = &line[header.find("ACTIVITY").unwrap()..];
    assert!(
        activity.starts_with("Bash ") || activity.starts_with("idle "),
        "ACTIVITY of {line:?}"
    );

    // `claude -p` ends after its turn: the agent goes dead, its record stays.
    fleet.wait_for_status(AGENT, "dead");
    assert_eq!(fleet.row(AGENT)["activity"]["last_tool"], "Bash");
}
