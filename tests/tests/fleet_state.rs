//! Agent states (working, waiting, idle) end to end: Claude Code's hook events
//! through the real hook command (`sh -c` of the command in settings.json, the
//! documented JSON on stdin), `fleet ps` and its --state filter, `fleet
//! status-line`, and `fleet.on_state_change` — and, when `claude` is installed,
//! the real Claude Code going working → idle.

mod fleet_support;
mod hooks_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fleet_support::{wait_until, FleetSandbox};
use hooks_support::anthropic_stand_in::StandIn;
use hooks_support::{hook_command_for, read_text, run_like_claude, wait_with_timeout};
use mosaic_tests::{tool_or_skip, Sandbox};
use serde_json::{json, Value};

const PERMISSION: &str = "Claude needs your permission to use Bash";

/// A sandbox with the fleet and hooks plugins, a private tmux server, and Mosaic's
/// hooks installed in its Claude home.
fn fleet_with_hooks() -> FleetSandbox {
    let fleet = FleetSandbox::with_sandbox(Sandbox::with_plugins(&["fleet", "hooks"]));
    fleet.run(&["config", "hooks", "install"]).expect_code(0);
    fleet
}

/// Claude Code's hook input for `event` (its documented common fields plus `extra`).
fn hook_input(event: &str, extra: Value) -> Value {
    let mut input = json!({
        "session_id": "session-state-e2e",
        "transcript_path": "/dev/null",
        "cwd": "/",
        "hook_event_name": event,
    });
    for (key, value) in extra.as_object().unwrap() {
        input[key] = value.clone();
    }
    input
}

/// The `Notification` Claude Code sends when it asks for a permission.
fn permission_notification() -> Value {
    hook_input(
        "Notification",
        json!({"message": PERMISSION, "notification_type": "permission_prompt"}),
    )
}

/// Runs Mosaic's hook for `event` as Claude Code would, for agent `agent`.
fn fire(fleet: &FleetSandbox, agent: &str, event: &str, input: &Value) {
    let command = hook_command_for(&fleet.sandbox, event);
    let run = run_like_claude(&fleet.sandbox, &command, input, &[("MOSAIC_AGENT", agent)]);
    run.expect_code(0);
    assert_eq!(run.stdout, "", "the activity hook answers nothing");
}

fn state_line(fleet: &FleetSandbox) -> String {
    let run = fleet.run(&["fleet", "status-line", "--ascii"]);
    run.expect_code(0);
    run.stdout.trim_end_matches('\n').to_string()
}

fn names(report: &Value) -> Vec<String> {
    report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["agent"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn hook_events_move_a_running_agent_between_working_waiting_and_idle() {
    let fleet = fleet_with_hooks();
    fleet.launch("a1", &["sleep", "300"]);
    fleet.launch("quiet", &["sleep", "300"]);
    fleet.wait_for_status("a1", "alive");
    fleet.wait_for_status("quiet", "alive");
    assert_eq!(fleet.row("a1")["state"], Value::Null, "no hook event yet");
    assert_eq!(state_line(&fleet), "", "nothing to say yet");

    fire(
        &fleet,
        "a1",
        "UserPromptSubmit",
        &hook_input("UserPromptSubmit", json!({"prompt": "fix the tests"})),
    );
    assert_eq!(fleet.row("a1")["state"], "working");
    assert_eq!(state_line(&fleet), "1 working");

    fire(&fleet, "a1", "Notification", &permission_notification());
    let row = fleet.row("a1");
    assert_eq!(row["state"], "waiting", "{row}");
    assert_eq!(row["state_message"], PERMISSION, "{row}");
    assert!(row["state_seconds"].is_u64(), "{row}");
    assert_eq!(fleet.row("quiet")["state"], Value::Null);
    let table = fleet.run(&["fleet", "ps"]);
    table.expect_code(0);
    let line = table
        .stdout
        .lines()
        .find(|line| line.starts_with("a1 "))
        .unwrap_or_else(|| panic!("no a1 row:\n{}", table.stdout));
    assert!(line.contains("waiting "), "{line}");
    assert!(line.contains(PERMISSION), "{line}");
    let filtered = fleet.run(&["fleet", "ps", "--state", "waiting", "--json"]);
    filtered.expect_code(0);
    assert_eq!(names(&filtered.json()), ["a1"]);
    let filtered = fleet.run(&["fleet", "ps", "--state", "working", "--json"]);
    filtered.expect_code(0);
    assert_eq!(names(&filtered.json()), Vec::<String>::new());
    assert_eq!(state_line(&fleet), "1 waiting");
    let fancy = fleet.run(&["fleet", "status-line"]);
    fancy.expect_code(0);
    assert_eq!(fancy.stdout, "⏳ 1 waiting\n");
    let counts = fleet.run(&["fleet", "status-line", "--json"]);
    counts.expect_code(0);
    assert_eq!(
        counts.json(),
        json!({"working": 0, "waiting": 1, "idle": 0})
    );

    // The user allowed the tool: it ran.
    fire(
        &fleet,
        "a1",
        "PostToolUse",
        &hook_input(
            "PostToolUse",
            json!({"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_response": {}}),
        ),
    );
    let row = fleet.row("a1");
    assert_eq!(row["state"], "working", "{row}");
    assert_eq!(row["state_message"], Value::Null, "{row}");

    fire(
        &fleet,
        "a1",
        "Stop",
        &hook_input("Stop", json!({"stop_hook_active": false})),
    );
    assert_eq!(fleet.row("a1")["state"], "idle");
    assert_eq!(state_line(&fleet), "1 idle");

    // A stopped agent has no state, whatever its last event said.
    fleet.run(&["fleet", "stop", "a1"]).expect_code(0);
    assert_eq!(fleet.row("a1")["state"], Value::Null);
    assert_eq!(state_line(&fleet), "");

    let wrong = fleet.run(&["fleet", "ps", "--state", "busy"]);
    wrong.expect_code(2);
    assert!(wrong.stderr.contains("waiting"), "{}", wrong.stderr);
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The files of an agent launched a while ago whose sidecar beats (`fresh`) or
/// stopped beating long ago, with an activity record in `state`.
fn write_agent(run_dir: &Path, agent: &str, fresh: bool, state: &str) {
    std::fs::create_dir_all(run_dir).unwrap();
    let metadata = json!({
        "agent": agent, "runtime": "claude", "command": ["claude"], "cwd": "/",
        "session": format!("mosaic-{agent}"), "pane_pid": 999_999,
        "started_at": now() - 1000, "interval": 60,
    });
    std::fs::write(
        run_dir.join(format!("{agent}.meta.json")),
        metadata.to_string(),
    )
    .unwrap();
    let beat_at = if fresh { now() } else { now() - 900 };
    let beat = json!({
        "agent": agent, "pane_pid": 999_999, "sidecar_pid": 999_998, "interval": 60,
        "beat_at": beat_at,
    });
    std::fs::write(run_dir.join(format!("{agent}.hb")), beat.to_string()).unwrap();
    let activity = json!({
        "agent": agent, "last_event": "Stop", "last_event_at": now() - 5,
        "state": state, "state_since": now() - 5,
    });
    std::fs::write(
        run_dir.join(format!("{agent}.activity.json")),
        activity.to_string(),
    )
    .unwrap();
}

#[test]
fn the_status_line_counts_running_agents_by_state() {
    let mut sandbox = Sandbox::with_plugins(&["fleet"]);
    let run_dir = sandbox.run_dir();
    for (agent, state) in [
        ("w1", "working"),
        ("w2", "working"),
        ("w3", "working"),
        ("q1", "waiting"),
        ("i1", "idle"),
        ("i2", "idle"),
    ] {
        write_agent(&run_dir, agent, true, state);
    }
    write_agent(&run_dir, "gone", false, "working");
    let run = sandbox.run(["fleet", "status-line"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "⚙ 3 working · ⏳ 1 waiting · 2 idle\n");
    let run = sandbox.run(["fleet", "status-line", "--ascii"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "3 working | 1 waiting | 2 idle\n");
    sandbox.env("NO_COLOR", "1");
    let run = sandbox.run(["fleet", "status-line"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "3 working | 1 waiting | 2 idle\n");
}

/// The lines the test's on_state_change command appended to `out`.
fn lines(out: &Path) -> Vec<String> {
    read_text(out).lines().map(str::to_string).collect()
}

#[test]
fn on_state_change_runs_detached_with_the_agent_state_and_message() {
    let fleet = fleet_with_hooks();
    let out = fleet.sandbox.root().join("changes.txt");
    let command = format!(
        "printf '%s|%s|%s\\n' \"$MOSAIC_AGENT\" \"$MOSAIC_AGENT_STATE\" \
         \"$MOSAIC_AGENT_MESSAGE\" >> '{}'",
        out.display()
    );
    fleet.set_config("fleet.on_state_change", &command);

    fire(&fleet, "a1", "Notification", &permission_notification());
    let waiting = format!("a1|waiting|{PERMISSION}");
    wait_until("the waiting change", || lines(&out) == [waiting.clone()]);
    fire(
        &fleet,
        "a1",
        "UserPromptSubmit",
        &hook_input("UserPromptSubmit", json!({"prompt": "go on"})),
    );
    wait_until("the working change", || lines(&out).len() == 2);
    // Still working: no change, no command.
    fire(
        &fleet,
        "a1",
        "PostToolUse",
        &hook_input(
            "PostToolUse",
            json!({"tool_name": "Edit", "tool_input": {}}),
        ),
    );
    fire(&fleet, "a1", "Stop", &hook_input("Stop", json!({})));
    wait_until("the idle change", || lines(&out).len() >= 3);
    assert_eq!(
        lines(&out),
        [waiting, "a1|working|".to_string(), "a1|idle|".to_string()]
    );
}

#[test]
fn on_state_change_never_holds_up_the_hook_and_is_stopped_at_its_time_limit() {
    let fleet = fleet_with_hooks();
    let out = fleet.sandbox.root().join("slow.txt");
    let command = format!(
        "echo started >> '{0}'; sleep 40; echo finished >> '{0}'",
        out.display()
    );
    fleet.set_config("fleet.on_state_change", &command);
    // `fire` waits, as Claude Code does, for the hook to exit and close its output.
    fire(&fleet, "a1", "Notification", &permission_notification());
    assert!(
        !read_text(&out).contains("finished"),
        "the hook waited for the command"
    );
    wait_until("the command to start", || {
        read_text(&out).contains("started")
    });
    let log = fleet.sandbox.config_dir().join("hooks/on-state-change.log");
    wait_until("the time limit to end the command", || {
        read_text(&log).contains("was terminated after 10 s")
    });
    assert!(read_text(&log).contains("agent `a1` (waiting)"));
    assert_eq!(read_text(&out), "started\n");
}

#[test]
fn real_claude_code_goes_working_then_idle() {
    let Some(claude) = tool_or_skip("fleet_state", "claude") else {
        return;
    };
    let fleet = fleet_with_hooks();
    let sandbox = &fleet.sandbox;
    let out = sandbox.root().join("changes.txt");
    fleet.set_config(
        "fleet.on_state_change",
        &format!("echo \"$MOSAIC_AGENT_STATE\" >> '{}'", out.display()),
    );
    let work = sandbox.root().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let marker = work.join("ran.txt");
    let marker_command = format!("echo ran > {}", marker.display());
    let stand_in = StandIn::start(&[marker_command.as_str()]);
    let mut command = Command::new(&claude);
    command
        .args(["-p", "Run the scripted commands."])
        .args(["--allowedTools", "Bash", "--output-format", "json"])
        .current_dir(&work)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sandbox.home())
        .env("CLAUDE_HOME", sandbox.claude_home())
        .env("HB_RUN_DIR", sandbox.run_dir())
        .env("MOSAIC_AGENT", "real-1")
        .env("ANTHROPIC_BASE_URL", stand_in.base_url())
        .env("ANTHROPIC_API_KEY", "dummy-key-for-the-stand-in")
        .env("DISABLE_TELEMETRY", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("DISABLE_ERROR_REPORTING", "1")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = wait_with_timeout(
        command.spawn().expect("cannot start claude"),
        Duration::from_secs(180),
    );
    assert!(
        output.status.success(),
        "claude failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(read_text(&marker).trim(), "ran");
    let activity: Value =
        serde_json::from_str(&read_text(&sandbox.run_dir().join("real-1.activity.json"))).unwrap();
    assert_eq!(activity["state"], "idle", "{activity}");
    // SessionStart (idle), the prompt (working), Stop (idle); each change ran the
    // command once.
    wait_until("three state changes", || {
        read_text(&out).lines().count() >= 3
    });
    let mut changes: Vec<String> = read_text(&out).lines().map(str::to_string).collect();
    changes.sort();
    assert_eq!(changes, ["idle", "idle", "working"], "{}", read_text(&out));
}

#[test]
fn a_question_recorded_at_launch_is_waiting_until_the_first_hook_event() {
    let fleet = fleet_with_hooks();
    let run_dir = fleet.run_dir();
    write_agent(&run_dir, "new-1", true, "idle");
    std::fs::remove_file(run_dir.join("new-1.activity.json")).unwrap();
    let metadata_path = run_dir.join("new-1.meta.json");
    let mut metadata: Value =
        serde_json::from_str(&std::fs::read_to_string(&metadata_path).unwrap()).unwrap();
    let question = "Do you trust the files in this folder?";
    metadata["pending_question"] = json!(question);
    std::fs::write(&metadata_path, metadata.to_string()).unwrap();

    let row = fleet.row("new-1");
    assert_eq!(row["state"], "waiting", "{row}");
    assert_eq!(row["state_message"], question, "{row}");
    assert_eq!(state_line(&fleet), "1 waiting");

    // Once answered, Claude Code starts its session: the first hook event.
    fire(
        &fleet,
        "new-1",
        "SessionStart",
        &hook_input("SessionStart", json!({"source": "startup"})),
    );
    let row = fleet.row("new-1");
    assert_eq!(row["state"], "idle", "{row}");
    assert_eq!(row["state_message"], Value::Null, "{row}");
}
