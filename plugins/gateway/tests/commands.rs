//! The gateway's commands in-process, with the SDK's test harness (no host, no
//! daemon): what they say before anything is installed, and that a headless install
//! with bad input writes nothing.

use mosaic_gateway::Gateway;
use mosaic_plugin_api::testing::TestHost;

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
    for command in ["start", "stop", "restart"] {
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
fn the_status_example_in_the_spec_holds() {
    let host = TestHost::<Gateway>::new();
    let manifest = host.manifest();
    let status = manifest.commands[0]
        .subcommands
        .iter()
        .find(|command| command.name == "status")
        .unwrap();
    for example in &status.examples {
        let output = host.run_line(&example.command);
        assert_eq!(
            output.exit_code, example.expect_exit_code,
            "{}",
            example.command
        );
        if let Some(expected) = &example.expect_stdout_contains {
            assert!(
                output.stdout.contains(expected.as_str()),
                "{}",
                output.stdout
            );
        }
    }
}
