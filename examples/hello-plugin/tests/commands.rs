//! The hello plugin's commands, run in-process with the SDK's test harness.

use mosaic_hello::Hello;
use mosaic_plugin_api::serde_json;
use mosaic_plugin_api::testing::TestHost;
use mosaic_plugin_api::ProgressEvent;

#[test]
fn the_manifest_passes_the_hosts_checks() {
    TestHost::<Hello>::new().check_manifest().unwrap();
}

#[test]
fn examples_in_the_specs_work() {
    TestHost::<Hello>::new().check_examples().unwrap();
}

#[test]
fn greets_with_default_and_options() {
    let host = TestHost::<Hello>::new();
    let output = host.run(&["hello"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert_eq!(output.stdout, "Hello, world!\n");
    let output = host.run(&["hello", "Ada", "-g", "Hi", "--shout"]);
    assert_eq!(output.stdout, "HI, ADA!\n");
    let output = host.run(&["hello", "Ada", "--times", "2"]);
    assert_eq!(output.stdout, "Hello, Ada!\nHello, Ada!\n");
}

#[test]
fn greeting_resolves_flag_then_env_then_config() {
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
fn a_greeting_of_the_wrong_type_in_config_json_names_the_key() {
    let host = TestHost::<Hello>::new();
    std::fs::write(
        host.config_dir().join("config.json"),
        r#"{"hello":{"greeting":42}}"#,
    )
    .unwrap();
    let output = host.run(&["hello"]);
    assert_eq!(output.exit_code, 1);
    assert!(
        output
            .stderr
            .contains("config `hello.greeting` (from config.json) is 42"),
        "{}",
        output.stderr
    );
}

#[test]
fn json_output_and_subcommand() {
    let host = TestHost::<Hello>::new();
    let output = host.run(&["hello", "--json", "--times", "2"]);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(value["greeting"], "Hello, world!");
    assert_eq!(value["times"], 2);
    let output = host.run(&["hello", "dirs"]);
    assert!(output
        .stdout
        .contains(&host.config_dir().display().to_string()));
    let output = host.run(&["hello", "dirs", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(value["run"], host.run_dir().display().to_string());
}

#[test]
fn thinking_shows_a_spinner_until_the_greeting() {
    let host = TestHost::<Hello>::new();
    let output = host.run(&["hello", "Ada", "--wait-ms", "10"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert_eq!(output.stdout, "Hello, Ada!\n");
    assert_eq!(
        output.progress,
        vec![
            ProgressEvent::Start {
                message: "Thinking of a greeting for Ada".into(),
                total: None
            },
            ProgressEvent::Finish { id: 1 },
        ]
    );
    assert!(
        host.run(&["hello"]).progress.is_empty(),
        "no wait, no spinner"
    );
}

#[test]
fn an_older_host_without_progress_still_greets() {
    let mut host = TestHost::<Hello>::new();
    host.host_api_version("0.2.0");
    let output = host.run(&["hello", "Ada", "-n", "2", "--wait-ms", "10"]);
    assert_eq!(output.exit_code, 0, "{}", output.stderr);
    assert_eq!(output.stdout, "Hello, Ada!\nHello, Ada!\n");
    assert!(output.progress.is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let host = TestHost::<Hello>::new();
    let output = host.run(&["hello", "--nope"]);
    assert_eq!(output.exit_code, 2);
    assert!(output.stderr.contains("--nope"));
    let output = host.run(&["hello", "--times", "many"]);
    assert_eq!(output.exit_code, 2);
    assert!(output.stderr.contains("many"), "{}", output.stderr);
}
