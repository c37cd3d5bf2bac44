//! The plugin ABI versioning policy, proven both ways with real builds:
//!
//! - a plugin built against the frozen first release of the API
//!   (`tests/fixtures/plugin-api-0.1.0`) loads and runs in the current host;
//! - the same plugin built against a copy of that API bumped to 0.2.0 (semver
//!   incompatible) is refused as `incompatible`, naming both versions and the fix,
//!   while the host and the other plugins keep working.

use std::path::PathBuf;

use mosaic_tests::{build_out_of_tree, derived_crate, hello_plugin, repo_root, Sandbox};

/// `tests/fixtures/`.
fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures")
}

/// The plugin API version of the host, from `mosaic --version`.
fn host_api_version(sandbox: &Sandbox) -> String {
    let run = sandbox.run(["--version"]);
    run.expect_code(0);
    run.stdout
        .trim_end()
        .strip_suffix(')')
        .and_then(|text| text.rsplit_once("(plugin API "))
        .map(|(_, version)| version.to_string())
        .unwrap_or_else(|| panic!("no plugin API version in {:?}", run.stdout))
}

#[test]
fn plugin_built_against_the_frozen_first_api_loads() {
    let library = build_out_of_tree(&fixtures().join("abi-plugin"), "mosaic_abi_fixture", &[]);
    let sandbox = Sandbox::with_plugins(&[]);
    sandbox.add_plugin(&library, "abi_fixture");
    assert!(
        host_api_version(&sandbox).starts_with("0.1."),
        "the host left the 0.1 API series: add a frozen copy of its first release"
    );

    let run = sandbox.run_with_scratch(["abi-fixture"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "built against mosaic-plugin-api 0.1.0\n");
    assert_eq!(run.stderr, "");

    let list = sandbox.run_with_scratch(["plugins", "list", "--json"]);
    list.expect_code(0);
    let row = list.plugin_row("name", "abi-fixture").expect("listed");
    assert_eq!(row["status"], "ok", "{row}");
    assert_eq!(row["api_version"], "0.1.0", "{row}");
    sandbox
        .run_with_scratch(["plugins", "doctor"])
        .expect_code(0);
}

#[test]
fn plugin_built_against_an_incompatible_api_is_refused() {
    let api = derived_crate(
        &fixtures().join("plugin-api-0.1.0"),
        "plugin-api-0.2.0",
        &[("version = \"0.1.0\"", "version = \"0.2.0\"")],
    );
    let api_path = format!("path = \"{}\"", api.display());
    // Another library name, so the two builds do not collide (see build_out_of_tree).
    let plugin = derived_crate(
        &fixtures().join("abi-plugin"),
        "abi-plugin-on-api-0.2.0",
        &[
            ("path = \"../plugin-api-0.1.0\"", &api_path),
            (
                "name = \"mosaic_abi_fixture\"",
                "name = \"mosaic_abi_fixture_0_2\"",
            ),
        ],
    );
    let library = build_out_of_tree(&plugin, "mosaic_abi_fixture_0_2", &[]);
    let sandbox = Sandbox::with_plugins(&[]);
    let path = sandbox.add_plugin(&library, "abi_fixture");
    sandbox.add_plugin(hello_plugin(), "hello");
    let host_api = host_api_version(&sandbox);
    let reason = format!(
        "built against mosaic-plugin-api 0.2.0, this host uses {host_api}; \
         rebuild it against mosaic-plugin-api 0.1"
    );

    let hello = sandbox.run_with_scratch(["hello"]);
    hello.expect_code(0);
    assert_eq!(hello.stdout, "Hello, world!\n");
    assert_eq!(
        hello.stderr,
        format!(
            "warning: plugin {} is incompatible: {reason} (see `mosaic plugins doctor`)\n",
            path.display()
        )
    );

    let refused = sandbox.run_with_scratch(["abi-fixture"]);
    refused.expect_code(2);
    assert_eq!(refused.stdout, "");

    let list = sandbox.run_with_scratch(["plugins", "list", "--json"]);
    list.expect_code(0);
    let row = list.plugin_row("name", "abi_fixture").expect("listed");
    assert_eq!(row["status"], "incompatible", "{row}");
    assert_eq!(row["api_version"], "0.2.0", "{row}");
    assert_eq!(row["problem"], reason.as_str(), "{row}");

    let doctor = sandbox.run_with_scratch(["plugins", "doctor"]);
    doctor.expect_code(1);
    for text in [
        "abi_fixture — incompatible",
        &format!("  problem: {reason}"),
        "semver-compatible mosaic-plugin-api, i.e. 0.1.x",
    ] {
        assert!(doctor.stdout.contains(text), "{text}:\n{}", doctor.stdout);
    }

    let install = sandbox.run(["plugins".as_ref(), "install".as_ref(), path.as_os_str()]);
    install.expect_code(1);
    assert!(
        install.stderr.contains("cannot be installed") && install.stderr.contains(&reason),
        "{install:?}"
    );
    assert!(!sandbox
        .user_plugin_dir()
        .join("libmosaic_abi_fixture.so")
        .exists());
}
