//! The hooks plugin's commands, run in-process with the SDK's test harness: argument
//! parsing and exit codes exactly as under `mosaic`, without the host or a library.

use std::path::PathBuf;

use mosaic_hooks::Hooks;
use mosaic_plugin_api::serde_json::{self, Value};
use mosaic_plugin_api::testing::{TestHost, TestOutput};

/// A test host whose CLAUDE_HOME is a directory that does not exist yet.
fn host() -> (TestHost<Hooks>, PathBuf) {
    let mut host = TestHost::<Hooks>::new();
    let claude_home = host.root().join("home/.claude");
    host.env("HOME", &host.root().join("home").display().to_string());
    host.env("CLAUDE_HOME", &claude_home.display().to_string());
    (host, claude_home)
}

#[track_caller]
fn expect(output: &TestOutput, code: i32) {
    assert_eq!(
        output.exit_code, code,
        "--- stdout\n{}\n--- stderr\n{}",
        output.stdout, output.stderr
    );
}

#[test]
fn the_manifest_is_valid_and_the_examples_work() {
    let (host, _) = host();
    host.check_manifest().unwrap();
    host.check_examples().unwrap();
}

#[test]
fn install_list_disable_enable_uninstall() {
    let (host, claude_home) = host();
    expect(&host.run(&["config", "hooks", "install"]), 0);
    let settings_path = claude_home.join("settings.json");
    let installed = std::fs::read_to_string(&settings_path).unwrap();

    let output = host.run(&["config", "hooks", "list", "--json"]);
    expect(&output, 0);
    let listing: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(listing["installed"], true);
    let rows = listing["hooks"].as_array().unwrap();
    assert!(
        rows.iter()
            .all(|row| row["state"] == "enabled" && row["drift"] == Value::Array(vec![])),
        "{rows:?}"
    );

    let output = host.run(&["config", "hooks", "disable", "PostToolUse"]);
    expect(&output, 0);
    assert_eq!(output.stdout, "PostToolUse: disabled\n");
    let output = host.run(&["config", "hooks", "list"]);
    let post = output
        .stdout
        .lines()
        .find(|line| line.starts_with("PostToolUse"))
        .unwrap();
    assert!(post.contains("disabled"), "{}", output.stdout);

    expect(&host.run(&["config", "hooks", "enable", "PostToolUse"]), 0);
    assert_eq!(std::fs::read_to_string(&settings_path).unwrap(), installed);

    let output = host.run(&["config", "hooks", "uninstall"]);
    expect(&output, 0);
    assert!(!claude_home.join("hooks-config.json").exists());
    let output = host.run(&["config", "hooks", "list"]);
    expect(&output, 0);
    assert!(
        output
            .stdout
            .contains("not installed — run `mosaic config hooks install`"),
        "{}",
        output.stdout
    );
}

#[test]
fn unknown_event_is_a_usage_error_listing_the_valid_ones() {
    let (host, _) = host();
    expect(&host.run(&["config", "hooks", "install"]), 0);
    let output = host.run(&["config", "hooks", "disable", "PostToolUsage"]);
    expect(&output, 2);
    assert!(output.stderr.contains("PostToolUsage"), "{}", output.stderr);
    assert!(
        output.stderr.contains("PreToolUse") && output.stderr.contains("SessionEnd"),
        "{}",
        output.stderr
    );
}

#[test]
fn event_without_a_mosaic_hook_is_a_clear_failure() {
    let (host, _) = host();
    expect(&host.run(&["config", "hooks", "install"]), 0);
    let output = host.run(&["config", "hooks", "enable", "PreCompact"]);
    expect(&output, 1);
    assert!(
        output.stderr.contains("Mosaic has no hook on PreCompact"),
        "{}",
        output.stderr
    );
}

#[test]
fn enable_needs_events_or_all_but_not_both() {
    let (host, _) = host();
    let output = host.run(&["config", "hooks", "enable"]);
    expect(&output, 2);
    assert!(
        output
            .stderr
            .contains("name at least one EVENT, or use --all"),
        "{}",
        output.stderr
    );
    let output = host.run(&["config", "hooks", "disable", "Stop", "--all"]);
    expect(&output, 2);
    assert!(
        output.stderr.contains("cannot be used with"),
        "{}",
        output.stderr
    );
}

#[test]
fn commands_before_install_say_how_to_install() {
    let (host, claude_home) = host();
    let output = host.run(&["config", "hooks", "disable", "--all"]);
    expect(&output, 1);
    assert!(
        output.stderr.contains("run `mosaic config hooks install`"),
        "{}",
        output.stderr
    );
    expect(&host.run(&["config", "hooks", "uninstall"]), 0);
    assert!(
        !claude_home.exists(),
        "uninstall must not create CLAUDE_HOME"
    );
}

#[test]
fn invalid_settings_json_names_the_place_and_changes_nothing() {
    let (host, claude_home) = host();
    std::fs::create_dir_all(&claude_home).unwrap();
    let settings = claude_home.join("settings.json");
    std::fs::write(
        &settings,
        "{\n  \"model\": \"opus\",\n  \"hooks\": [1]\n}\n",
    )
    .unwrap();
    let output = host.run(&["config", "hooks", "install"]);
    expect(&output, 1);
    assert!(
        output.stderr.contains("settings.json:3:"),
        "{}",
        output.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "{\n  \"model\": \"opus\",\n  \"hooks\": [1]\n}\n"
    );
    assert!(!claude_home.join("hooks-config.json").exists());
}

#[test]
fn install_json_reports_what_it_did() {
    let (host, _) = host();
    let first: Value =
        serde_json::from_str(&host.run(&["config", "hooks", "install", "--json"]).stdout).unwrap();
    assert_eq!(first["changed"], true);
    let second: Value =
        serde_json::from_str(&host.run(&["config", "hooks", "install", "--json"]).stdout).unwrap();
    assert_eq!(second["changed"], false);
    assert_eq!(
        second["hooks"].as_array().unwrap().len(),
        first["hooks"].as_array().unwrap().len()
    );
}

#[test]
fn without_home_or_claude_home_the_error_says_what_to_set() {
    let host = TestHost::<Hooks>::new();
    let output = host.run(&["config", "hooks", "list"]);
    expect(&output, 1);
    assert!(
        output
            .stderr
            .contains("none of CLAUDE_HOME, CLAUDE_CONFIG_DIR and HOME is set")
            && output.stderr.contains("set CLAUDE_CONFIG_DIR"),
        "{}",
        output.stderr
    );
}

#[test]
fn manifest_mounts_under_config_and_declares_the_guard_keys() {
    let host = TestHost::<Hooks>::new();
    host.check_manifest().unwrap();
    let manifest = host.manifest();
    assert_eq!(manifest.host_requirement, ">=0.2.0, <0.3.0");
    assert_eq!(manifest.commands.len(), 1);
    assert_eq!(manifest.commands[0].mount, mosaic_plugin_api::Mount::Config);
    let subcommands: Vec<&str> = manifest.commands[0]
        .subcommands
        .iter()
        .map(|command| command.name.as_str())
        .collect();
    assert_eq!(
        subcommands,
        [
            "install",
            "list",
            "enable",
            "disable",
            "uninstall",
            "audit",
            "run",
            "state-change"
        ]
    );
    let run = manifest.commands[0]
        .subcommands
        .iter()
        .find(|command| command.name == "run")
        .unwrap();
    assert!(run.hidden);
    let keys: Vec<&str> = manifest.config.iter().map(|key| key.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "hooks.bash_guard.disabled_rules",
            "hooks.bash_guard.extra_rules",
            "hooks.bash_guard.protected_branches"
        ]
    );
    let branches = manifest
        .find_config_key("hooks.bash_guard.protected_branches")
        .unwrap();
    assert_eq!(
        branches.default,
        Some(serde_json::json!(["main", "master"]))
    );
}
