//! `mosaic config hooks install|list|enable|disable|uninstall` through the installed
//! binary with a temporary CLAUDE_HOME: what ends up in settings.json and
//! hooks-config.json, exit codes, and errors for bad files.

mod hooks_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use hooks_support::{
    assert_no_drift, hooks_config_path, read_json, read_text, settings_path, DEFAULT_EVENTS,
};
use mosaic_tests::Sandbox;
use serde_json::{json, Value};

/// A user's settings.json: their own hooks, other keys, a deliberate key order.
fn users_settings() -> Value {
    json!({
        "model": "opus",
        "hooks": {
            "Stop": [{"hooks": [{"type": "command", "command": "notify-send 'Claude is done'"}]}],
            "PreToolUse": [
                {"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "./lint.sh", "timeout": 30}]}
            ]
        },
        "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
        "env": {"ZED": "1", "ALPHA": "2"}
    })
}

fn write_users_settings(sandbox: &Sandbox) -> String {
    std::fs::create_dir_all(sandbox.claude_home()).unwrap();
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(&users_settings()).unwrap()
    );
    std::fs::write(settings_path(sandbox), &text).unwrap();
    text
}

fn mosaic_commands(settings: &Value) -> Vec<String> {
    settings["hooks"]
        .as_object()
        .into_iter()
        .flat_map(|hooks| hooks.values())
        .flat_map(|groups| groups.as_array().cloned().unwrap_or_default())
        .flat_map(|group| group["hooks"].as_array().cloned().unwrap_or_default())
        .filter_map(|hook| hook["command"].as_str().map(str::to_string))
        .filter(|command| command.contains(" config hooks run "))
        .collect()
}

#[test]
fn install_mirrors_absolute_commands_keeps_the_users_settings_and_is_idempotent() {
    let sandbox = hooks_support::sandbox();
    let original = write_users_settings(&sandbox);
    let run = sandbox.run(["config", "hooks", "install"]);
    run.expect_code(0);
    assert!(run.stdout.contains("7 enabled"), "{}", run.stdout);

    let settings = read_json(&settings_path(&sandbox));
    let keys: Vec<&String> = settings.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model", "hooks", "permissions", "env"]);
    let env_keys: Vec<&String> = settings["env"].as_object().unwrap().keys().collect();
    assert_eq!(env_keys, ["ZED", "ALPHA"]);
    assert_eq!(
        settings["hooks"]["Stop"][0],
        users_settings()["hooks"]["Stop"][0]
    );
    assert_eq!(
        settings["hooks"]["PreToolUse"][0],
        users_settings()["hooks"]["PreToolUse"][0]
    );
    let guard = &settings["hooks"]["PreToolUse"][1];
    assert_eq!(guard["matcher"], "Bash");
    assert_eq!(guard["hooks"][0]["type"], "command");
    assert!(guard["hooks"][0]["timeout"].is_u64());
    let commands = mosaic_commands(&settings);
    assert_eq!(commands.len(), DEFAULT_EVENTS.len());
    let binary = sandbox.binary().display().to_string();
    for command in &commands {
        assert!(
            command.starts_with(&format!("{binary} config hooks run ")),
            "{command}"
        );
        assert!(Path::new(&binary).is_absolute());
    }
    let record = read_json(&hooks_config_path(&sandbox));
    assert_eq!(
        record["hooks"].as_array().unwrap().len(),
        DEFAULT_EVENTS.len()
    );

    let installed = read_text(&settings_path(&sandbox));
    let record_text = read_text(&hooks_config_path(&sandbox));
    let again = sandbox.run(["config", "hooks", "install"]);
    again.expect_code(0);
    assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);
    assert_eq!(read_text(&settings_path(&sandbox)), installed);
    assert_eq!(read_text(&hooks_config_path(&sandbox)), record_text);

    sandbox.run(["config", "hooks", "uninstall"]).expect_code(0);
    assert_eq!(read_text(&settings_path(&sandbox)), original);
    assert!(!hooks_config_path(&sandbox).exists());
}

#[test]
fn a_missing_claude_home_is_created_private_with_settings() {
    let sandbox = hooks_support::sandbox();
    assert!(!sandbox.claude_home().exists());
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    let mode = std::fs::metadata(sandbox.claude_home())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    let settings = read_json(&settings_path(&sandbox));
    assert_eq!(mosaic_commands(&settings).len(), DEFAULT_EVENTS.len());
}

#[test]
fn disable_then_enable_is_the_identity_and_list_shows_the_state() {
    let sandbox = hooks_support::sandbox();
    write_users_settings(&sandbox);
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    let installed = read_text(&settings_path(&sandbox));

    let run = sandbox.run(["config", "hooks", "disable", "PostToolUse", "Stop"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "PostToolUse: disabled\nStop: disabled\n");
    let settings = read_json(&settings_path(&sandbox));
    assert!(
        settings["hooks"].get("PostToolUse").is_none(),
        "{settings:#}"
    );
    assert_eq!(
        settings["hooks"]["Stop"],
        users_settings()["hooks"]["Stop"],
        "the user's Stop hook stays"
    );

    let listing = sandbox.run(["--json", "config", "hooks", "list"]);
    listing.expect_code(0);
    let listing = listing.json();
    for row in listing["hooks"].as_array().unwrap() {
        let expected = if row["event"] == "PostToolUse" || row["event"] == "Stop" {
            "disabled"
        } else {
            "enabled"
        };
        assert_eq!(row["state"], expected, "{row}");
        assert_eq!(row["drift"], json!([]), "{row}");
    }
    let table = sandbox.run(["config", "hooks", "list"]);
    let stop_row = table
        .stdout
        .lines()
        .find(|line| line.starts_with("Stop"))
        .unwrap();
    assert!(stop_row.contains("disabled"), "{}", table.stdout);

    sandbox
        .run(["config", "hooks", "enable", "Stop", "PostToolUse"])
        .expect_code(0);
    assert_eq!(read_text(&settings_path(&sandbox)), installed);

    sandbox
        .run(["config", "hooks", "disable", "--all"])
        .expect_code(0);
    assert!(mosaic_commands(&read_json(&settings_path(&sandbox))).is_empty());
    let run = sandbox.run(["config", "hooks", "disable", "--all"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("Stop: already disabled"),
        "{}",
        run.stdout
    );
    sandbox
        .run(["config", "hooks", "enable", "--all"])
        .expect_code(0);
    assert_eq!(read_text(&settings_path(&sandbox)), installed);
}

#[test]
fn event_names_are_checked() {
    let sandbox = hooks_support::sandbox();
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    let before = read_text(&settings_path(&sandbox));
    let unknown = sandbox.run(["config", "hooks", "disable", "PostToolUsed"]);
    unknown.expect_code(2);
    for valid in ["PreToolUse", "PostToolUse", "SessionEnd", "PreCompact"] {
        assert!(unknown.stderr.contains(valid), "{}", unknown.stderr);
    }
    let without_hook = sandbox.run(["config", "hooks", "disable", "Stop", "PreCompact"]);
    without_hook.expect_code(1);
    assert!(
        without_hook
            .stderr
            .contains("Mosaic has no hook on PreCompact"),
        "{}",
        without_hook.stderr
    );
    assert_eq!(
        read_text(&settings_path(&sandbox)),
        before,
        "nothing changed, not even Stop"
    );
    sandbox.run(["config", "hooks", "enable"]).expect_code(2);
}

#[test]
fn list_reports_not_installed_drift_and_unrecorded_entries() {
    let sandbox = hooks_support::sandbox();
    let run = sandbox.run(["config", "hooks", "list"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("not installed — run `mosaic config hooks install`"),
        "{}",
        run.stdout
    );
    assert_eq!(
        sandbox.run(["--json", "config", "hooks", "list"]).json()["installed"],
        false
    );

    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    // Take Mosaic's Stop entry out by hand.
    let mut settings = read_json(&settings_path(&sandbox));
    settings["hooks"]
        .as_object_mut()
        .unwrap()
        .shift_remove("Stop");
    std::fs::write(settings_path(&sandbox), settings.to_string()).unwrap();
    let run = sandbox.run(["config", "hooks", "list"]);
    run.expect_code(0);
    let stop_row = run
        .stdout
        .lines()
        .find(|line| line.starts_with("Stop"))
        .unwrap();
    assert!(
        stop_row.contains("missing from settings.json"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("run `mosaic config hooks install` to repair"),
        "{}",
        run.stderr
    );

    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    let listing = sandbox.run(["--json", "config", "hooks", "list"]).json();
    assert_no_drift(&listing);

    // Without the record, Mosaic's entries in settings.json are shown as unrecorded,
    // and uninstall still removes them.
    std::fs::remove_file(hooks_config_path(&sandbox)).unwrap();
    let listing = sandbox.run(["--json", "config", "hooks", "list"]).json();
    assert_eq!(listing["installed"], false);
    assert_eq!(
        listing["hooks"].as_array().unwrap().len(),
        DEFAULT_EVENTS.len()
    );
    assert!(listing["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["state"] == "unrecorded"));
    sandbox.run(["config", "hooks", "uninstall"]).expect_code(0);
    assert!(mosaic_commands(&read_json(&settings_path(&sandbox))).is_empty());
}

#[test]
fn a_moved_binary_is_drift_that_install_repairs() {
    let sandbox = hooks_support::sandbox();
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    // "Move" mosaic: a second prefix with the same files, the first binary gone.
    let moved = sandbox.root().join("moved");
    let plugins = moved.join("lib/mosaic/plugins");
    std::fs::create_dir_all(moved.join("bin")).unwrap();
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(sandbox.binary(), moved.join("bin/mosaic")).unwrap();
    let library = sandbox
        .binary()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("lib/mosaic/plugins/libmosaic_hooks.so");
    std::fs::copy(&library, plugins.join("libmosaic_hooks.so")).unwrap();
    std::fs::rename(sandbox.binary(), sandbox.root().join("old-mosaic")).unwrap();

    let run_moved = |args: &[&str]| {
        let mut command = hooks_support::command_with_binary(&sandbox, &moved.join("bin/mosaic"));
        mosaic_tests::Run::from_output(command.args(args).output().unwrap())
    };
    let listing = run_moved(&["--json", "config", "hooks", "list"]);
    listing.expect_code(0);
    let drift = listing.json()["hooks"][0]["drift"].to_string();
    assert!(
        drift.contains("which does not exist (mosaic moved?)"),
        "{drift}"
    );

    run_moved(&["config", "hooks", "install"]).expect_code(0);
    let commands = mosaic_commands(&read_json(&settings_path(&sandbox)));
    let moved_binary = moved.join("bin/mosaic").display().to_string();
    assert!(
        commands
            .iter()
            .all(|command| command.starts_with(&moved_binary)),
        "{commands:?}"
    );
    let listing = run_moved(&["--json", "config", "hooks", "list"]).json();
    assert_no_drift(&listing);
}

/// Runs `mosaic ARGS`, expecting a failure that names `file:line:column`, and
/// checks neither file changed.
#[track_caller]
fn expect_refusal(sandbox: &Sandbox, args: &[&str], position: &str) {
    let settings = read_text(&settings_path(sandbox));
    let record = read_text(&hooks_config_path(sandbox));
    let run = sandbox.run(args);
    run.expect_code(1);
    assert!(
        run.stderr.contains(position),
        "expected `{position}` in:\n{}",
        run.stderr
    );
    assert_eq!(
        read_text(&settings_path(sandbox)),
        settings,
        "settings.json changed ({args:?})"
    );
    assert_eq!(
        read_text(&hooks_config_path(sandbox)),
        record,
        "hooks-config.json changed ({args:?})"
    );
}

#[test]
fn invalid_files_are_refused_with_their_position_and_left_alone() {
    let commands: [&[&str]; 5] = [
        &["config", "hooks", "install"],
        &["config", "hooks", "disable", "Stop"],
        &["config", "hooks", "enable", "--all"],
        &["config", "hooks", "uninstall"],
        &["config", "hooks", "list"],
    ];
    let cases = [
        (
            "settings.json",
            "{\n  \"model\": \"opus\",,\n}\n",
            "settings.json:2:19",
        ),
        (
            "settings.json",
            "{\n  \"hooks\": [\"Stop\"]\n}\n",
            "settings.json:2:11",
        ),
        (
            "settings.json",
            "{\"hooks\": {\"Stop\": \"notify\"}}",
            "settings.json:1:27",
        ),
        (
            "hooks-config.json",
            "{\"version\": 1, \"hooks\": [",
            "hooks-config.json:1:25",
        ),
        (
            "hooks-config.json",
            "{\n  \"hooks\": {\"bash-guard\": true}\n}\n",
            "hooks-config.json:2:11",
        ),
    ];
    for (file, text, position) in cases {
        let sandbox = hooks_support::sandbox();
        sandbox.run(["config", "hooks", "install"]).expect_code(0);
        std::fs::write(sandbox.claude_home().join(file), text).unwrap();
        for args in commands {
            expect_refusal(&sandbox, args, position);
        }
    }
}

#[test]
fn an_invalid_config_json_is_a_warning_for_list_and_the_guard_keeps_its_built_in_rules() {
    let sandbox = hooks_support::sandbox();
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    std::fs::create_dir_all(sandbox.config_dir()).unwrap();
    std::fs::write(
        sandbox.config_dir().join("config.json"),
        "{\"hooks\": {\"bash_guard\": ",
    )
    .unwrap();
    let run = sandbox.run(["config", "hooks", "list"]);
    run.expect_code(0);
    assert!(run.stderr.contains("config.json:1:25"), "{}", run.stderr);
    assert!(run.stderr.contains("built-in rules"), "{}", run.stderr);
}

#[test]
fn a_bad_extra_rule_is_a_warning_in_list_naming_the_file_and_the_built_in_rules_still_apply() {
    let sandbox = hooks_support::sandbox();
    sandbox.run(["config", "hooks", "install"]).expect_code(0);
    sandbox
        .run([
            "config",
            "set",
            "hooks.bash_guard.extra_rules",
            r#"[{"pattern":"(unclosed"}]"#,
        ])
        .expect_code(0);
    let config_file = sandbox.config_dir().join("config.json");
    let expected_start = format!("{}: hooks.bash_guard.extra_rules[0]", config_file.display());

    let run = sandbox.run(["config", "hooks", "list"]);
    run.expect_code(0);
    let warning = run
        .stderr
        .lines()
        .find(|line| line.starts_with("warning: "))
        .unwrap_or_else(|| panic!("no warning:\n{}", run.stderr));
    assert!(
        warning.starts_with(&format!("warning: {expected_start}")),
        "{warning}"
    );
    assert!(warning.contains("`(unclosed`"), "{warning}");
    assert!(warning.contains("without closing ')'"), "{warning}");
    assert!(warning.contains("not enforced"), "{warning}");

    let listing = sandbox.run(["--json", "config", "hooks", "list"]).json();
    let warnings = listing["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{listing}");
    assert!(
        warnings[0].as_str().unwrap().starts_with(&expected_start),
        "{listing}"
    );
    assert_no_drift(&listing);

    let guard = hooks_support::hook_command_for(&sandbox, "PreToolUse");
    let run = hooks_support::run_like_claude(
        &sandbox,
        &guard,
        &hooks_support::bash_pre_tool_use("rm -rf /", sandbox.root()),
        &[],
    );
    run.expect_code(0);
    assert_eq!(
        hooks_support::decision(&run)
            .map(|(permission, _)| permission)
            .as_deref(),
        Some("deny")
    );
    assert!(run.stderr.contains(&expected_start), "{}", run.stderr);
}
