//! The gateway's commands in-process, with the SDK's test harness (no host, no
//! daemon): what they say before anything is installed, and that a headless install
//! with bad input writes nothing.

use mosaic_gateway::Gateway;
use mosaic_plugin_api::testing::TestHost;
use mosaic_plugin_api::ProgressEvent;

#[test]
fn the_manifest_is_one_the_host_accepts() {
    let host = TestHost::<Gateway>::new();
    host.check_manifest().unwrap();
    let manifest = host.manifest();
    assert_eq!(manifest.host_requirement, ">=0.2.0, <0.3.0");
    let gateway = &manifest.commands[0];
    let names: Vec<&str> = gateway
        .subcommands
        .iter()
        .map(|command| command.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "install",
            "status",
            "start",
            "stop",
            "restart",
            "logs",
            "uninstall",
            "migrate",
            "keys",
            "usage",
            "run",
            "supervise"
        ]
    );
    let install = &gateway.subcommands[0];
    let flags: Vec<&str> = install.args.iter().map(|arg| arg.name.as_str()).collect();
    assert_eq!(
        flags,
        [
            "tier",
            "port",
            "host",
            "cors_origin",
            "database_url",
            "valkey_url",
            "force",
            "dry_run"
        ]
    );
    assert_eq!(manifest.config.len(), 10);
}

#[test]
fn status_before_install_says_not_installed_and_exits_3() {
    let host = TestHost::<Gateway>::new();
    let output = host.run(&["--json", "gateway", "status"]);
    assert_eq!(output.exit_code, 3, "{}", output.stderr);
    let status: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(status["installed"], false);
    assert_eq!(status["running"], false);
    assert_eq!(status["port"], 14242);
    let human = host.run(&["gateway", "status"]);
    assert!(human.stdout.contains("not installed"), "{}", human.stdout);
}

#[test]
fn lifecycle_commands_need_an_install() {
    let host = TestHost::<Gateway>::new();
    // `stop` works from the pid files without an install: nothing runs, exit 0.
    let stop = host.run(&["gateway", "stop"]);
    assert_eq!(stop.exit_code, 0, "{}", stop.stderr);
    assert_eq!(stop.stdout.trim(), "gateway was not running");
    for command in ["start", "restart"] {
        let output = host.run(&["gateway", command]);
        assert_eq!(output.exit_code, 1);
        assert!(
            output.stderr.contains("the gateway is not installed"),
            "{command}: {}",
            output.stderr
        );
    }
    let logs = host.run(&["gateway", "logs"]);
    assert_eq!(logs.exit_code, 1);
    assert!(
        logs.stderr.contains("no gateway log yet"),
        "{}",
        logs.stderr
    );
}

#[test]
fn numeric_options_are_checked_by_the_parser() {
    let host = TestHost::<Gateway>::new();
    for args in [
        &["gateway", "logs", "-n", "many"][..],
        &["gateway", "install", "--port", "http"][..],
        &["gateway", "migrate", "--to", "cluster"][..],
    ] {
        let output = host.run(args);
        assert_eq!(output.exit_code, 2, "{args:?}: {}", output.stderr);
    }
}

#[test]
fn a_dry_run_checks_everything_and_changes_nothing() {
    let mut host = TestHost::<Gateway>::new();
    host.env("MOSAIC_ASSUME_YES", "1")
        .env("MOSAIC_SERVICE_MANAGER", "supervisor")
        .env("MOSAIC_ADMIN_NAME", "Ada")
        .env("MOSAIC_ADMIN_EMAIL", "ada@example.com")
        .env("MOSAIC_ADMIN_PASSWORD", "correct horse")
        .env("MOSAIC_CORS_ORIGIN", "HTTPS://UI.Example.com/");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let output = host.run(&["gateway", "install", "--dry-run", "--port", &port]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert!(
        output.stderr.contains(&format!(
            "The gateway settings are valid (tier local, 127.0.0.1:{port})"
        )),
        "{}",
        output.stderr
    );
    assert!(!host.config_dir().join("config.json").exists());
}

#[test]
fn the_team_tier_is_refused_without_its_urls_before_any_wait() {
    let mut host = TestHost::<Gateway>::new();
    host.env("MOSAIC_ASSUME_YES", "1")
        .env("MOSAIC_SERVICE_MANAGER", "supervisor");
    let output = host.run(&["gateway", "install", "--tier", "team", "--port", "14998"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output.stderr.contains(
            "the team tier requires MOSAIC_DATABASE_URL (--database-url) and MOSAIC_VALKEY_URL \
             (--valkey-url)"
        ),
        "{}",
        output.stderr
    );
    assert!(output.progress.is_empty(), "{:?}", output.progress);
}

#[test]
fn status_shows_its_checks_through_the_host_progress() {
    let host = TestHost::<Gateway>::new();
    let output = host.run(&["gateway", "status"]);
    assert!(
        matches!(
            output.progress.first(),
            Some(ProgressEvent::Start { message, .. }) if message.starts_with("Checking the gateway")
        ),
        "{:?}",
        output.progress
    );
    assert!(matches!(
        output.progress.last(),
        Some(ProgressEvent::Finish { .. })
    ));
}

#[test]
fn a_headless_install_with_a_bad_value_writes_nothing() {
    let mut host = TestHost::<Gateway>::new();
    host.env("MOSAIC_ASSUME_YES", "1")
        .env("MOSAIC_SERVICE_MANAGER", "supervisor")
        .env("MOSAIC_ADMIN_NAME", "Ada")
        .env("MOSAIC_ADMIN_EMAIL", "ada@example.com")
        .env("MOSAIC_ADMIN_PASSWORD", "1234567");
    let output = host.run(&["gateway", "install", "--port", "0"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output.stderr.contains("--port: invalid port `0`"),
        "{}",
        output.stderr
    );
    let output = host.run(&["gateway", "install", "--port", "14999"]);
    assert!(
        output
            .stderr
            .contains("MOSAIC_ADMIN_PASSWORD: the password is too short"),
        "{}",
        output.stderr
    );
    assert!(!host.config_dir().join("config.json").exists());
}

#[test]
fn the_examples_in_the_spec_hold() {
    let host = TestHost::<Gateway>::new();
    if let Err(failures) = host.check_examples() {
        panic!("examples failed:\n{}", failures.join("\n"));
    }
    // Those expected to fail do so because nothing is installed (and a headless
    // install has no admin to create), with nothing written.
    let manifest = host.manifest();
    let failing: Vec<_> = manifest.commands[0]
        .all_examples()
        .into_iter()
        .filter(|example| example.expect_exit_code == 1)
        .collect();
    assert!(failing.len() >= 10, "{failing:?}");
    for example in failing {
        let output = host.run_line(&example.command);
        let why = [
            "the gateway is not installed",
            "no gateway log yet",
            "headless install",
            "the team tier requires",
            "is already in use",
        ];
        assert!(
            why.iter().any(|why| output.stderr.contains(why)),
            "`{}`: {}",
            example.command,
            output.stderr
        );
    }
    assert!(!host.config_dir().join("config.json").exists());
}
