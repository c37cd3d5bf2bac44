//! The example third-party plugin, built out of the workspace, through its whole
//! life: `plugins install`, running it, `plugins list|info`, reinstalling (refused
//! without `--force`), upgrading to a newer version, `plugins remove`.

use std::fs;
use std::path::{Path, PathBuf};

use mosaic_tests::{build_out_of_tree, derived_crate, hello_plugin, repo_root, Run, Sandbox};

/// A slim sandbox (no first-party plugin) with hello installed by `plugins install`.
fn sandbox_with_hello_installed() -> (Sandbox, PathBuf) {
    let sandbox = Sandbox::with_plugins(&[]);
    let run = install(&sandbox, hello_plugin(), false);
    run.expect_code(0);
    let installed = sandbox.user_plugin_dir().join("libmosaic_hello.so");
    assert!(
        run.stdout
            .contains(&format!("installed hello 0.1.0 -> {}", installed.display())),
        "{run:?}"
    );
    (sandbox, installed)
}

/// `examples/hello-plugin` with its version bumped to 0.2.0, built out of tree.
/// Its library file gets another name (see [`build_out_of_tree`]); the installed
/// file's name comes from the plugin's manifest anyway.
fn hello_version_0_2_0() -> PathBuf {
    let api = repo_root().join("plugin-api");
    let api_path = format!("path = \"{}\"", api.display());
    let crate_dir = derived_crate(
        &repo_root().join("examples/hello-plugin"),
        "hello-plugin-0.2.0",
        &[
            ("version = \"0.1.0\"", "version = \"0.2.0\""),
            ("path = \"../../plugin-api\"", &api_path),
            ("name = \"mosaic_hello\"", "name = \"mosaic_hello_0_2_0\""),
        ],
    );
    build_out_of_tree(&crate_dir, "mosaic_hello_0_2_0", &[])
}

/// hello's row in `plugins list --json` output.
fn hello_row(list: &Run) -> serde_json::Value {
    list.plugin_row("name", "hello")
        .unwrap_or_else(|| panic!("hello is not listed:\n{}", list.stdout))
}

/// Runs `mosaic plugins install LIBRARY [--force]`.
fn install(sandbox: &Sandbox, library: &Path, force: bool) -> Run {
    let mut args = vec!["plugins".as_ref(), "install".as_ref(), library.as_os_str()];
    if force {
        args.push("--force".as_ref());
    }
    sandbox.run(args)
}

#[test]
fn installed_plugin_runs_and_is_listed_and_described() {
    let (sandbox, installed) = sandbox_with_hello_installed();

    let run = sandbox.run(["hello", "Ada", "-g", "Hi", "--shout"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "HI, ADA!\n");
    assert_eq!(run.stderr, "", "a healthy run prints nothing on stderr");

    let table = sandbox.run(["plugins", "list"]);
    table.expect_code(0);
    let row = table
        .stdout
        .lines()
        .find(|line| line.contains(&installed.display().to_string()))
        .unwrap_or_else(|| panic!("no row for {}:\n{}", installed.display(), table.stdout));
    for cell in ["hello", "0.1.0", "ok"] {
        assert!(row.split_whitespace().any(|word| word == cell), "{row}");
    }

    let json = sandbox.run(["plugins", "list", "--json"]);
    json.expect_code(0);
    let row = hello_row(&json);
    assert_eq!(row["version"], "0.1.0");
    assert_eq!(row["api_version"], mosaic_plugin_api::API_VERSION);
    assert_eq!(row["path"], installed.display().to_string());
    assert_eq!(row["origin"], "user");
    assert_eq!(row["commands"], serde_json::json!(["hello"]));
    assert_eq!(row["status"], "ok");
    assert_eq!(row["problem"], serde_json::Value::Null);

    let info = sandbox.run(["plugins", "info", "hello"]);
    info.expect_code(0);
    for expected in [
        "name:        hello".to_string(),
        format!("path:        {} (user)", installed.display()),
        "status:      ok".to_string(),
        "version:     0.1.0".to_string(),
        "requires:    mosaic >=0.2.0, <0.3.0".to_string(),
        format!("api version: {}", mosaic_plugin_api::API_VERSION),
        "mosaic hello dirs".to_string(),
        "hello.greeting".to_string(),
        "MOSAIC_HELLO_GREETING".to_string(),
    ] {
        assert!(
            info.stdout.contains(&expected),
            "{expected}:\n{}",
            info.stdout
        );
    }
    let info_json = sandbox.run(["plugins", "info", "hello", "--json"]);
    info_json.expect_code(0);
    assert_eq!(info_json.json()["manifest"]["version"], "0.1.0");
}

#[test]
fn reinstalling_needs_force_and_a_newer_version_upgrades() {
    let (sandbox, installed) = sandbox_with_hello_installed();
    let version = |sandbox: &Sandbox| {
        let run = sandbox.run(["plugins", "list", "--json"]);
        run.expect_code(0);
        hello_row(&run)["version"].clone()
    };

    let again = install(&sandbox, hello_plugin(), false);
    again.expect_code(1);
    assert!(
        again.stderr.contains("hello 0.1.0 is already installed")
            && again.stderr.contains("--force"),
        "{again:?}"
    );

    let forced = install(&sandbox, hello_plugin(), true);
    forced.expect_code(0);
    assert!(
        forced.stdout.contains("replaced (--force) hello 0.1.0"),
        "{forced:?}"
    );

    let newer = hello_version_0_2_0();
    let upgrade = install(&sandbox, &newer, false);
    upgrade.expect_code(0);
    assert!(
        upgrade.stdout.contains("upgraded hello 0.2.0"),
        "{upgrade:?}"
    );
    assert!(
        upgrade.stderr.contains("upgrading hello 0.1.0 -> 0.2.0"),
        "{upgrade:?}"
    );
    assert_eq!(version(&sandbox), "0.2.0");
    assert_eq!(fs::read(&installed).unwrap(), fs::read(&newer).unwrap());
    sandbox.run(["hello"]).expect_code(0);

    let downgrade = install(&sandbox, hello_plugin(), false);
    downgrade.expect_code(1);
    assert!(
        downgrade
            .stderr
            .contains("hello 0.2.0 is already installed")
            && downgrade.stderr.contains("hello 0.1.0 is not newer"),
        "{downgrade:?}"
    );
    assert_eq!(
        version(&sandbox),
        "0.2.0",
        "a refused install changes nothing"
    );

    install(&sandbox, hello_plugin(), true).expect_code(0);
    assert_eq!(
        version(&sandbox),
        "0.1.0",
        "--force replaces even a newer one"
    );
}

#[test]
fn removed_plugin_is_gone() {
    let (sandbox, installed) = sandbox_with_hello_installed();

    let removed = sandbox.run(["plugins", "remove", "hello"]);
    removed.expect_code(0);
    assert!(removed.stdout.contains("removed hello"), "{removed:?}");
    assert!(!installed.exists());

    let run = sandbox.run(["hello"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("unrecognized subcommand 'hello'"),
        "{run:?}"
    );
    let list = sandbox.run(["plugins", "list", "--json"]);
    list.expect_code(0);
    assert_eq!(list.json(), serde_json::json!([]));

    let again = sandbox.run(["plugins", "remove", "hello"]);
    again.expect_code(1);
    assert!(
        again.stderr.contains("no plugin named `hello`"),
        "{again:?}"
    );
}
