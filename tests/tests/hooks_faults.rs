//! Faults: many `mosaic config hooks …` processes at once, and processes killed in
//! the middle of their writes.

mod hooks_support;

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hooks_support::{
    assert_no_drift, hooks_config_path, read_json, read_text, settings_path, wait_with_timeout,
    DEFAULT_EVENTS, WAIT,
};
use mosaic_plugin_api::sdk::activity::activity_path;
use mosaic_plugin_api::sdk::fs::FileLock;
use mosaic_tests::{Run, Sandbox};
use serde_json::{json, Value};

/// Runs every `args` list as its own `mosaic` process, all at once.
fn run_all_at_once(sandbox: &Sandbox, commands: &[Vec<String>]) -> Vec<Run> {
    let children: Vec<_> = commands
        .iter()
        .map(|args| {
            sandbox
                .command(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("cannot start mosaic")
        })
        .collect();
    children
        .into_iter()
        .map(|child| Run::from_output(wait_with_timeout(child, WAIT)))
        .collect()
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

fn states(sandbox: &Sandbox) -> Vec<(String, bool)> {
    read_json(&hooks_config_path(sandbox))["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hook| {
            (
                hook["event"].as_str().unwrap().to_string(),
                hook["enabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn concurrent_commands_lose_no_update() {
    let sandbox = hooks_support::sandbox();
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    let installed = read_text(&settings_path(&sandbox));

    // One disable per event, plus readers, all at once: ten processes.
    let mut commands: Vec<Vec<String>> = DEFAULT_EVENTS
        .iter()
        .map(|event| args(&["config", "hooks", "disable", event]))
        .collect();
    commands.extend((0..3).map(|_| args(&["--json", "config", "hooks", "list"])));
    for run in run_all_at_once(&sandbox, &commands) {
        run.expect_code(0);
    }
    assert!(
        states(&sandbox).iter().all(|(_, enabled)| !enabled),
        "{:?}",
        states(&sandbox)
    );
    let settings = read_text(&settings_path(&sandbox));
    assert!(
        !settings.contains("config hooks run"),
        "an update was lost:\n{settings}"
    );

    let commands: Vec<Vec<String>> = DEFAULT_EVENTS
        .iter()
        .map(|event| args(&["config", "hooks", "enable", event]))
        .collect();
    for run in run_all_at_once(&sandbox, &commands) {
        run.expect_code(0);
    }
    assert!(
        states(&sandbox).iter().all(|(_, enabled)| *enabled),
        "{:?}",
        states(&sandbox)
    );
    let listing = sandbox.run(["--json", "config", "hooks", "list"]).json();
    assert_no_drift(&listing);
    // The same entries; only the order of event keys may differ after interleaved
    // enables, so compare as JSON values.
    assert_eq!(
        read_json(&settings_path(&sandbox)),
        serde_json::from_str::<Value>(&installed).unwrap()
    );
}

#[test]
fn a_kill_in_the_middle_of_a_write_leaves_the_old_or_the_new_file() {
    let sandbox = hooks_support::sandbox();
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    let enabled = read_text(&settings_path(&sandbox));
    sandbox
        .run(["config", "hooks", "disable", "--all"])
        .expect_code(0);
    let disabled = read_text(&settings_path(&sandbox));
    sandbox
        .run(["config", "hooks", "enable", "--all"])
        .expect_code(0);
    assert_eq!(read_text(&settings_path(&sandbox)), enabled);

    // Kill processes at many different moments of their run; whatever the moment,
    // each file is complete, and the settings are one of the two states.
    for round in 0..40u64 {
        let verb = if round % 2 == 0 { "disable" } else { "enable" };
        let mut child = sandbox
            .command(["config", "hooks", verb, "--all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start mosaic");
        std::thread::sleep(Duration::from_micros(round * 400));
        let _ = child.kill();
        let _ = child.wait();
        let settings = read_text(&settings_path(&sandbox));
        assert!(
            settings == enabled || settings == disabled,
            "round {round}: settings.json is neither the old nor the new file:\n{settings}"
        );
        read_json(&hooks_config_path(&sandbox));
    }
    // Running the command again finishes whatever a killed one left half done.
    sandbox
        .run(["config", "hooks", "enable", "--all"])
        .expect_code(0);
    assert_eq!(read_text(&settings_path(&sandbox)), enabled);
    let listing = sandbox.run(["--json", "config", "hooks", "list"]).json();
    assert_no_drift(&listing);
}

/// Starts `mosaic config hooks run activity` for agent `a1` after tool `tool`, as
/// Claude Code does for a PostToolUse event (input on stdin, then end of input).
fn start_activity_hook(sandbox: &Sandbox, tool: &str) -> Child {
    let mut child = sandbox
        .command(["config", "hooks", "run", "activity"])
        .env("MOSAIC_AGENT", "a1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start mosaic");
    let input = json!({
        "session_id": "s1", "cwd": "/work", "hook_event_name": "PostToolUse",
        "tool_name": tool, "tool_input": {}, "tool_response": {}
    });
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.to_string().as_bytes()).unwrap();
    drop(stdin);
    child
}

#[test]
fn parallel_hooks_of_one_agent_update_its_activity_record_in_turn() {
    let sandbox = hooks_support::sandbox();
    let tools: Vec<String> = (0..20).map(|n| format!("Tool{n}")).collect();
    let children: Vec<Child> = tools
        .iter()
        .map(|tool| start_activity_hook(&sandbox, tool))
        .collect();
    for child in children {
        let run = Run::from_output(wait_with_timeout(child, WAIT));
        run.expect_code(0);
        assert_eq!(run.stderr, "");
    }
    let record = read_json(&sandbox.run_dir().join("a1.activity.json"));
    assert_eq!(record["agent"], "a1");
    assert_eq!(record["last_event"], "PostToolUse");
    let last_tool = record["last_tool"].as_str().unwrap().to_string();
    assert!(tools.contains(&last_tool), "{record}");
    let mut audited: Vec<String> = hooks_support::audit_lines(&sandbox)
        .iter()
        .map(|line| line["tool"].as_str().unwrap().to_string())
        .collect();
    audited.sort();
    let mut expected = tools.clone();
    expected.sort();
    assert_eq!(audited, expected, "every run appended its audit line");

    // While another process holds the record's lock, a hook waits for it rather
    // than overwrite the record with what it read before.
    let held = FileLock::exclusive(&activity_path(&sandbox.run_dir(), "a1")).unwrap();
    let mut waiting = start_activity_hook(&sandbox, "Late");
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        assert!(
            waiting.try_wait().unwrap().is_none(),
            "the hook finished while the record was locked"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        read_json(&sandbox.run_dir().join("a1.activity.json"))["last_tool"],
        last_tool.as_str()
    );
    drop(held);
    Run::from_output(wait_with_timeout(waiting, WAIT)).expect_code(0);
    assert_eq!(
        read_json(&sandbox.run_dir().join("a1.activity.json"))["last_tool"],
        "Late"
    );
}
