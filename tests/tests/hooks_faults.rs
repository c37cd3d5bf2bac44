//! Faults: many `mosaic config hooks …` processes at once, and processes killed in
//! the middle of their writes.

mod hooks_support;

use std::process::Stdio;
use std::time::Duration;

use hooks_support::{
    assert_no_drift, hooks_config_path, read_json, read_text, settings_path, wait_with_timeout,
    DEFAULT_EVENTS, WAIT,
};
use mosaic_tests::{Run, Sandbox};
use serde_json::Value;

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
