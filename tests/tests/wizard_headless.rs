//! `mosaic wizard` without a terminal: a full setup (hooks in CLAUDE_HOME, a healthy
//! gateway the admin can log in to, fleet defaults, the completion record), a slim
//! install with only the hooks plugin, and invalid gateway settings that must leave
//! nothing behind.

mod gateway_support;

use std::path::Path;

use gateway_support::*;
use mosaic_tests::{Run, Sandbox};

/// `mosaic wizard ARGS` headless, on the gateway sandbox's port, with `env` added.
fn wizard(gateway: &GatewaySandbox, env: &[(&str, &str)], args: &[&str]) -> Run {
    let port = gateway.port.to_string();
    let mut command = gateway.sandbox.command(["wizard"]);
    command.args(args).env("MOSAIC_GATEWAY_PORT", &port);
    for (key, value) in env {
        command.env(key, value);
    }
    Run::from_output(command.output().expect("cannot run mosaic"))
}

const ADMIN: [(&str, &str); 3] = [
    ("MOSAIC_ADMIN_NAME", ADMIN_NAME),
    ("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL),
    ("MOSAIC_ADMIN_PASSWORD", ADMIN_PASSWORD),
];

fn config_value(sandbox: &Sandbox, key: &str) -> String {
    let run = sandbox.run(["config", "get", key]);
    run.expect_code(0);
    run.stdout.trim().to_string()
}

#[test]
fn a_headless_wizard_sets_everything_up_and_can_run_again() {
    let gateway = GatewaySandbox::new();
    let run = wizard(&gateway, &ADMIN, &[]);
    run.expect_code(0);
    assert!(run.stderr.contains("Setup report"), "{run:?}");
    assert!(
        run.stderr.contains("mosaic fleet launch"),
        "next steps: {run:?}"
    );

    // Hooks: Mosaic's record and the mirrored settings in CLAUDE_HOME.
    let claude = gateway.sandbox.claude_home();
    assert!(claude.join("hooks-config.json").is_file());
    let settings = std::fs::read_to_string(claude.join("settings.json")).unwrap();
    assert!(settings.contains("config hooks run"), "{settings}");

    // Gateway: healthy, and the admin from the environment can log in.
    assert!(gateway.healthy());
    token(gateway.port, ADMIN_EMAIL, ADMIN_PASSWORD);

    // Fleet defaults and the completion record, visible in `config show`.
    let sandbox = &gateway.sandbox;
    assert_eq!(config_value(sandbox, "fleet.default_runtime"), "claude");
    assert_eq!(config_value(sandbox, "fleet.heartbeat_interval"), "15");
    assert_eq!(config_value(sandbox, "wizard.version"), "0.2.0");
    let shown = sandbox.run(["config", "show", "--json"]);
    shown.expect_code(0);
    let shown = shown.json();
    assert_eq!(
        shown["wizard.components"]["value"],
        serde_json::json!(["hooks", "gateway", "fleet"])
    );
    assert!(
        shown["wizard.completed_at"]["value"]
            .as_str()
            .is_some_and(|text| text.ends_with('Z')),
        "{shown}"
    );

    // Again: nothing breaks, the admin and its password are unchanged.
    let again = wizard(&gateway, &[], &["--yes"]);
    again.expect_code(0);
    assert!(gateway.healthy());
    token(gateway.port, ADMIN_EMAIL, ADMIN_PASSWORD);
}

#[test]
fn a_slim_install_sets_up_what_it_has_and_says_what_it_skipped() {
    let mut sandbox = Sandbox::with_plugins(&["hooks", "wizard"]);
    sandbox.env("MOSAIC_ASSUME_YES", "1");
    let run = sandbox.run(["wizard"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("gateway plugin not installed — skipped"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("fleet plugin not installed — skipped"),
        "{run:?}"
    );
    assert!(sandbox.claude_home().join("hooks-config.json").is_file());
    assert_eq!(config_value(&sandbox, "wizard.components"), "[\"hooks\"]");
}

/// What a failed wizard must not leave: hook files, config, a daemon.
fn assert_nothing_changed(gateway: &GatewaySandbox, what: &str) {
    let claude: &Path = &gateway.sandbox.claude_home();
    assert!(
        !claude.join("hooks-config.json").exists(),
        "{what}: hooks installed"
    );
    assert!(
        !claude.join("settings.json").exists(),
        "{what}: settings written"
    );
    assert!(
        !gateway.config_file().exists(),
        "{what}: config.json written"
    );
    assert!(
        gateway.daemon_processes().is_empty(),
        "{what}: a daemon runs"
    );
    assert!(!gateway.pid_file().exists(), "{what}: a pid file exists");
}

#[test]
fn invalid_settings_stop_the_wizard_before_anything_changes() {
    let short_password = [
        ("MOSAIC_ADMIN_NAME", ADMIN_NAME),
        ("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL),
        ("MOSAIC_ADMIN_PASSWORD", "7chars!"),
    ];
    let team_without_urls = [
        ("MOSAIC_ADMIN_NAME", ADMIN_NAME),
        ("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL),
        ("MOSAIC_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("MOSAIC_STORAGE_TIER", "team"),
    ];
    // (what, extra environment, text the error must mention)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let zero_interval = [
        ("MOSAIC_ADMIN_NAME", ADMIN_NAME),
        ("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL),
        ("MOSAIC_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("MOSAIC_HEARTBEAT_INTERVAL", "0"),
    ];
    let cases: [Case; 4] = [
        ("missing admin variables", &[], "MOSAIC_ADMIN_PASSWORD"),
        ("a 7-character password", &short_password, "8"),
        (
            "team tier without URLs",
            &team_without_urls,
            "MOSAIC_DATABASE_URL",
        ),
        (
            "a zero heartbeat interval",
            &zero_interval,
            "MOSAIC_HEARTBEAT_INTERVAL",
        ),
    ];
    for (what, env, mentioned) in cases {
        let gateway = GatewaySandbox::new();
        let run = wizard(&gateway, env, &[]);
        assert_ne!(run.code, 0, "{what}: {run:?}");
        assert!(run.stderr.contains(mentioned), "{what}: {run:?}");
        assert!(
            run.stderr.contains("nothing was changed"),
            "{what}: {run:?}"
        );
        assert_nothing_changed(&gateway, what);
    }
}

#[test]
fn unknown_components_are_a_usage_error() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(["wizard", "--yes", "--only", "hooks,nope"]);
    run.expect_code(2);
    assert!(run.stderr.contains("unknown component `nope`"), "{run:?}");
    assert!(run.stderr.contains("hooks, gateway, fleet"), "{run:?}");
}
