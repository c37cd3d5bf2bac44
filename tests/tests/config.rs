//! `mosaic config`: set/get/unset/show/path round trips, where a value comes from
//! (environment over file over default, for a key the hello plugin declares), the
//! file's mode, and a config.json that is not JSON (an error naming file, line and
//! column, and never overwritten).

use std::fs;
use std::os::unix::fs::PermissionsExt;

use mosaic_tests::{hello_plugin, Sandbox};

/// A slim sandbox with hello (which declares `hello.greeting`) in the scratch dir.
fn sandbox_with_hello() -> Sandbox {
    let sandbox = Sandbox::with_plugins(&[]);
    sandbox.add_plugin(hello_plugin(), "hello");
    sandbox
}

/// `config show --json`'s entry for `key`: `{"value": …, "source": …}`.
fn shown(sandbox: &Sandbox, key: &str) -> serde_json::Value {
    let run = sandbox.run_with_scratch(["config", "show", "--json"]);
    run.expect_code(0);
    run.json()[key].clone()
}

#[test]
fn set_get_show_unset_round_trip() {
    let sandbox = sandbox_with_hello();
    let config_file = sandbox.config_dir().join("config.json");

    let path = sandbox.run_with_scratch(["config", "path"]);
    path.expect_code(0);
    assert_eq!(path.stdout, format!("{}\n", config_file.display()));
    assert_eq!(
        shown(&sandbox, "hello.greeting"),
        serde_json::json!({"value": "Hello", "source": "default"})
    );

    sandbox
        .run_with_scratch(["config", "set", "hello.greeting", "Hey"])
        .expect_code(0);
    sandbox
        .run_with_scratch(["config", "set", "other.count", "15"])
        .expect_code(0);
    let mode = fs::metadata(&config_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "config.json may hold secrets");
    let file: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&config_file).unwrap()).unwrap();
    assert_eq!(
        file,
        serde_json::json!({"hello": {"greeting": "Hey"}, "other": {"count": 15}})
    );

    let get = sandbox.run_with_scratch(["config", "get", "hello.greeting"]);
    get.expect_code(0);
    assert_eq!(get.stdout, "Hey\n");
    assert_eq!(
        shown(&sandbox, "hello.greeting"),
        serde_json::json!({"value": "Hey", "source": "config.json"})
    );
    assert_eq!(
        shown(&sandbox, "other.count"),
        serde_json::json!({"value": 15, "source": "config.json"})
    );
    let table = sandbox.run_with_scratch(["config", "show"]);
    table.expect_code(0);
    assert!(
        table.stdout.lines().any(|line| {
            line.split_whitespace().collect::<Vec<_>>() == ["hello.greeting", "Hey", "config.json"]
        }),
        "{}",
        table.stdout
    );
    let hello = sandbox.run_with_scratch(["hello"]);
    hello.expect_code(0);
    assert_eq!(
        hello.stdout, "Hey, world!\n",
        "the plugin reads the file too"
    );

    sandbox
        .run_with_scratch(["config", "unset", "hello.greeting"])
        .expect_code(0);
    let get = sandbox.run_with_scratch(["config", "get", "hello.greeting"]);
    get.expect_code(0);
    assert_eq!(get.stdout, "Hello\n", "back to the default");
    let show = sandbox.run_with_scratch(["config", "show", "--json"]);
    show.expect_code(0);
    assert_eq!(
        show.json(),
        serde_json::json!({
            "hello.greeting": {"value": "Hello", "source": "default"},
            "other.count": {"value": 15, "source": "config.json"},
        }),
        "an emptied section is not shown as a value"
    );
    let again = sandbox.run_with_scratch(["config", "unset", "hello.greeting"]);
    again.expect_code(1);
    assert!(again.stderr.contains("is not set"), "{again:?}");
}

#[test]
fn environment_beats_the_file_for_a_declared_key() {
    let mut sandbox = sandbox_with_hello();
    sandbox
        .run_with_scratch(["config", "set", "hello.greeting", "Hey"])
        .expect_code(0);
    sandbox.env("MOSAIC_HELLO_GREETING", "Yo");

    assert_eq!(
        shown(&sandbox, "hello.greeting"),
        serde_json::json!({"value": "Yo", "source": "env MOSAIC_HELLO_GREETING"})
    );
    let get = sandbox.run_with_scratch(["config", "get", "hello.greeting"]);
    get.expect_code(0);
    assert_eq!(get.stdout, "Yo\n");
    let hello = sandbox.run_with_scratch(["hello"]);
    hello.expect_code(0);
    assert_eq!(hello.stdout, "Yo, world!\n");
    let flag = sandbox.run_with_scratch(["hello", "--greeting", "Hi"]);
    flag.expect_code(0);
    assert_eq!(flag.stdout, "Hi, world!\n", "a flag beats the environment");
}

#[test]
fn invalid_config_json_names_file_line_and_column_and_is_never_overwritten() {
    let sandbox = sandbox_with_hello();
    let config_file = sandbox.config_dir().join("config.json");
    fs::create_dir_all(sandbox.config_dir()).unwrap();
    let broken = "{\n  \"hello\": {\n    \"greeting\": \"Hey\",\n  }\n}\n";
    fs::write(&config_file, broken).unwrap();
    let expected = format!("error: {}:4:3: invalid JSON", config_file.display());

    for args in [
        &["config", "show"][..],
        &["config", "get", "hello.greeting"][..],
        &["config", "set", "hello.greeting", "Hi"][..],
        &["config", "unset", "hello.greeting"][..],
        &["hello"][..],
    ] {
        let run = sandbox.run_with_scratch(args);
        run.expect_code(1);
        assert!(run.stderr.starts_with(&expected), "{args:?}: {run:?}");
        assert_eq!(
            fs::read_to_string(&config_file).unwrap(),
            broken,
            "{args:?} changed the file"
        );
    }
    // Commands that do not read the configuration still work.
    sandbox.run_with_scratch(["config", "path"]).expect_code(0);
    sandbox.run_with_scratch(["plugins", "list"]).expect_code(0);
}

#[test]
fn secrets_stay_hidden_even_without_the_plugin_that_declares_them() {
    // No plugin installed: nothing declares these keys secret.
    let sandbox = Sandbox::with_plugins(&[]);
    fs::create_dir_all(sandbox.config_dir()).unwrap();
    fs::write(
        sandbox.config_dir().join("config.json"),
        r#"{"gateway": {"anthropic_api_key": "sk-ant-SECRET",
            "database_url": "postgres://mosaic:pg-SECRET@db.example/mosaic",
            "cors_origin": "http://localhost:3000"}}"#,
    )
    .unwrap();

    for args in [&["config", "show"][..], &["config", "show", "--json"][..]] {
        let run = sandbox.run(args);
        run.expect_code(0);
        assert!(!run.stdout.contains("SECRET"), "{args:?}: {}", run.stdout);
        assert!(
            run.stdout.contains("http://localhost:3000"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("postgres://mosaic:***@db.example"),
            "{}",
            run.stdout
        );
    }
    for key in ["gateway.anthropic_api_key", "gateway.database_url"] {
        let run = sandbox.run(["config", "get", key]);
        run.expect_code(1);
        assert!(
            !run.stdout.contains("SECRET") && !run.stderr.contains("SECRET"),
            "{run:?}"
        );
    }
    let before = fs::read(sandbox.config_dir().join("config.json")).unwrap();
    for (key, value) in [
        ("gateway.admin_password", "hunter2hunter2"),
        ("gateway.valkey_url", "redis://:pw@localhost:6379"),
    ] {
        let run = sandbox.run(["config", "set", key, value]);
        run.expect_code(1);
        assert!(run.stderr.contains("stdin"), "{run:?}");
    }
    assert_eq!(
        fs::read(sandbox.config_dir().join("config.json")).unwrap(),
        before
    );
}

/// The bytes of config.json.
fn config_bytes(sandbox: &Sandbox) -> Vec<u8> {
    fs::read(sandbox.config_dir().join("config.json")).unwrap()
}

/// Runs `mosaic ARGS` with `input` on stdin.
fn run_with_stdin(sandbox: &Sandbox, args: &[&str], input: &str) -> mosaic_tests::Run {
    use std::io::Write as _;
    let mut child = sandbox
        .command(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    mosaic_tests::Run::from_output(child.wait_with_output().unwrap())
}

/// 200 levels of nested arrays: valid JSON, deeper than any JSON parser here reads.
fn deep_arrays() -> String {
    format!("{}{}", "[".repeat(200), "]".repeat(200))
}

#[test]
fn keys_too_deep_or_too_long_and_values_too_deep_are_refused_leaving_the_file() {
    let sandbox = Sandbox::with_plugins(&[]);
    sandbox
        .run(["config", "set", "other.count", "15"])
        .expect_code(0);
    let before = config_bytes(&sandbox);

    let many_parts = vec!["a"; 128].join(".");
    let long_key = format!("other.{}", "k".repeat(200));
    let deep_value = deep_arrays();
    for (args, expected) in [
        (
            vec!["config", "set", many_parts.as_str(), "1"],
            "has 128 dotted parts; at most 8 are accepted",
        ),
        (
            vec!["config", "set", long_key.as_str(), "1"],
            "is 206 bytes long; at most 128 are accepted",
        ),
        (
            vec!["config", "set", "other.deep", deep_value.as_str()],
            "the value for `other.deep` nests arrays/objects 200 levels deep; at most 32",
        ),
    ] {
        let run = sandbox.run(&args);
        run.expect_code(1);
        assert!(run.stderr.contains(expected), "{expected}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
        assert_eq!(
            config_bytes(&sandbox),
            before,
            "{expected}: the file changed"
        );
    }
    // A value on stdin is checked the same way.
    let run = run_with_stdin(&sandbox, &["config", "set", "other.deep"], &deep_value);
    run.expect_code(1);
    assert!(run.stderr.contains("200 levels deep"), "{run:?}");
    assert_eq!(config_bytes(&sandbox), before);
}

#[test]
fn a_section_is_never_replaced_by_a_plain_value_without_replace() {
    let sandbox = Sandbox::with_plugins(&[]);
    for (key, value) in [("gateway.port", "8080"), ("gateway.tier", "team")] {
        sandbox.run(["config", "set", key, value]).expect_code(0);
    }
    let before = config_bytes(&sandbox);
    for value in ["value", "15", "[1]"] {
        let run = sandbox.run(["config", "set", "gateway", value]);
        run.expect_code(1);
        assert!(
            run.stderr
                .contains("`gateway` is a section holding 2 key(s)")
                && run.stderr.contains("--replace"),
            "{run:?}"
        );
        assert_eq!(config_bytes(&sandbox), before, "the section was touched");
    }
    let help = sandbox.run(["config", "set", "--help"]);
    help.expect_code(0);
    assert!(help.stdout.contains("--replace"), "{}", help.stdout);

    sandbox
        .run(["config", "set", "gateway", "value", "--replace"])
        .expect_code(0);
    let file: serde_json::Value = serde_json::from_slice(&config_bytes(&sandbox)).unwrap();
    assert_eq!(file, serde_json::json!({"gateway": "value"}));
}

#[test]
fn config_set_applies_the_checks_plugins_declare() {
    let sandbox = Sandbox::with_plugins(&["gateway", "fleet"]);
    sandbox
        .run(["config", "set", "gateway.port", "15000"])
        .expect_code(0);
    let before = config_bytes(&sandbox);
    for (key, value, expected) in [
        (
            "gateway.port",
            "99999",
            "cannot set `gateway.port` to 99999: expected a whole number from 1 to 65535",
        ),
        (
            "gateway.tier",
            "nope",
            "cannot set `gateway.tier` to \"nope\": expected one of: local, team",
        ),
        (
            "gateway.cors_origin",
            "*",
            "cannot set `gateway.cors_origin` to \"*\": a wildcard `*` is not allowed",
        ),
        (
            "gateway.host",
            "localhost",
            "cannot set `gateway.host` to \"localhost\": expected an IP address",
        ),
        (
            "fleet.heartbeat_interval",
            "0",
            "cannot set `fleet.heartbeat_interval` to 0: expected a whole number from 1 to 86400",
        ),
    ] {
        let run = sandbox.run(["config", "set", key, value]);
        run.expect_code(1);
        assert!(run.stderr.contains(expected), "{expected}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
        assert_eq!(
            config_bytes(&sandbox),
            before,
            "{key} {value} changed the file"
        );
    }
    // A secret's value is never repeated, even when it is refused.
    let run = run_with_stdin(
        &sandbox,
        &["config", "set", "gateway.database_url"],
        "mysql://root:hunter2@db/x",
    );
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("cannot set `gateway.database_url`: the value given is not valid"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("hunter2"), "{run:?}");
    assert_eq!(config_bytes(&sandbox), before);

    for (key, value) in [
        ("gateway.port", "8080"),
        ("gateway.tier", "team"),
        ("gateway.cors_origin", "https://ui.example"),
        ("fleet.heartbeat_interval", "30"),
    ] {
        sandbox.run(["config", "set", key, value]).expect_code(0);
        let get = sandbox.run(["config", "get", key]);
        get.expect_code(0);
        assert_eq!(get.stdout, format!("{value}\n"));
    }
    // A key nobody declares is set unchecked.
    sandbox
        .run(["config", "set", "gateway.unknown_thing", "*"])
        .expect_code(0);
}

#[test]
fn repairs_work_beside_a_section_too_deep_to_parse() {
    let sandbox = sandbox_with_hello();
    let config_file = sandbox.config_dir().join("config.json");
    fs::create_dir_all(sandbox.config_dir()).unwrap();
    let junk = deep_arrays();
    fs::write(
        &config_file,
        format!("{{\"junk\": {junk},\n \"hello\": {{\"greeting\": \"Hey\"}}, \"other\": 3}}\n"),
    )
    .unwrap();

    // `show` shows what it can and names what it cannot.
    let show = sandbox.run_with_scratch(["config", "show"]);
    show.expect_code(0);
    assert!(
        show.stdout.lines().any(|line| {
            line.split_whitespace().collect::<Vec<_>>() == ["hello.greeting", "Hey", "config.json"]
        }),
        "{show:?}"
    );
    assert!(
        show.stderr
            .contains("section `junk` cannot be read: nested more than 128 levels deep")
            && show.stderr.contains("mosaic config unset junk"),
        "{show:?}"
    );
    let json = sandbox.run_with_scratch(["config", "show", "--json"]);
    json.expect_code(0);
    assert_eq!(json.json()["other"]["value"], 3);
    assert_eq!(json.json()["junk"]["source"], "config.json (unreadable)");

    // Commands on other sections work and keep the junk as it was.
    let get = sandbox.run_with_scratch(["config", "get", "hello.greeting"]);
    get.expect_code(0);
    assert_eq!(get.stdout, "Hey\n");
    sandbox
        .run_with_scratch(["config", "set", "hello.greeting", "Yo"])
        .expect_code(0);
    sandbox
        .run_with_scratch(["config", "unset", "other"])
        .expect_code(0);
    let text = fs::read_to_string(&config_file).unwrap();
    assert!(text.contains(&format!("\"junk\": {junk}")), "{text}");

    // Inside the junk: refused, naming the fix.
    let inside = sandbox.run_with_scratch(["config", "unset", "junk.x"]);
    inside.expect_code(1);
    assert!(
        inside.stderr.contains("section `junk` cannot be read")
            && inside.stderr.contains("mosaic config unset junk"),
        "{inside:?}"
    );
    assert_eq!(fs::read_to_string(&config_file).unwrap(), text);

    // The whole junk section: removed, and said so.
    let unset = sandbox.run_with_scratch(["config", "unset", "junk"]);
    unset.expect_code(0);
    assert!(unset.stderr.contains("unset junk (removed"), "{unset:?}");
    let file: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&config_file).unwrap()).unwrap();
    assert_eq!(file, serde_json::json!({"hello": {"greeting": "Yo"}}));
}

#[test]
fn unsetting_a_whole_section_says_what_it_removed() {
    let sandbox = Sandbox::with_plugins(&[]);
    for key in ["fleet.a", "fleet.b"] {
        sandbox.run(["config", "set", key, "1"]).expect_code(0);
    }
    let run = sandbox.run(["config", "unset", "fleet"]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("unset fleet (removed a section holding 2 key(s): a, b)"),
        "{run:?}"
    );
    let again = sandbox.run(["config", "unset", "fleet"]);
    again.expect_code(1);
    assert!(again.stderr.contains("is not set"), "{again:?}");
}
