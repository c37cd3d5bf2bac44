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
