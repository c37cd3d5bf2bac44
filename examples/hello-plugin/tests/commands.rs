//! The hello plugin's commands, run in-process with the SDK's test harness.

use mosaic_hello::Hello;
use mosaic_plugin_api::serde_json;
use mosaic_plugin_api::testing::TestHost;

#[test]
fn greets_with_default_and_options() {
    let host = TestHost::<Hello>::new();
    let output = host.run(&["hello"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert_eq!(output.stdout, "Hello, world!\n");
    let output = host.run(&["hello", "Ada", "-g", "Hi", "--shout"]);
    assert_eq!(output.stdout, "HI, ADA!\n");
}

#[test]
fn greeting_resolves_env_then_config() {
    let mut host = TestHost::<Hello>::new();
    std::fs::write(
        host.config_dir().join("config.json"),
        r#"{"hello":{"greeting":"Howdy"}}"#,
    )
    .unwrap();
    assert_eq!(host.run(&["hello"]).stdout, "Howdy, world!\n");
    host.env("MOSAIC_HELLO_GREETING", "Ahoy");
    assert_eq!(host.run(&["hello"]).stdout, "Ahoy, world!\n");
    assert_eq!(host.run(&["hello", "-g", "Yo"]).stdout, "Yo, world!\n");
}

#[test]
fn json_output_and_subcommand() {
    let host = TestHost::<Hello>::new();
    let output = host.run(&["hello", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(value["greeting"], "Hello, world!");
    let output = host.run(&["hello", "dirs"]);
    assert!(output
        .stdout
        .contains(&host.config_dir().display().to_string()));
}

#[test]
fn usage_errors_exit_2() {
    let host = TestHost::<Hello>::new();
    let output = host.run(&["hello", "--nope"]);
    assert_eq!(output.exit_code, 2);
    assert!(output.stderr.contains("--nope"));
}

#[test]
fn examples_in_the_spec_work() {
    TestHost::<Hello>::new().check_examples().unwrap();
}
