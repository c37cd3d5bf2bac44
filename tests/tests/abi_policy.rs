//! The plugin ABI versioning policy of the 0.2 series, proven with real builds:
//!
//! - a plugin built against the frozen first 0.2 release of the API
//!   (`tests/fixtures/plugin-api-0.2.0`, no progress service) loads and runs in the
//!   current host, built against a later 0.2.x that has one;
//! - a plugin built against the current API that uses the progress service (the
//!   example plugin) runs in the host, and the host draws its spinner on a terminal;
//! - a real 0.1 plugin (`tests/fixtures/abi-plugin-0.1`, built against the frozen
//!   `plugin-api-0.1.0`) is refused as `incompatible`, naming both versions and the
//!   fix, by the warning line, `plugins list`, `plugins doctor` and `plugins install`,
//!   while the host and the other plugins keep working;
//! - so is a plugin built against a copy of the frozen 0.2.0 API renumbered 0.3.0
//!   (a newer minor: the host cannot know what it expects).

use std::path::{Path, PathBuf};

use mosaic_tests::{
    build_out_of_tree, derived_crate, hello_plugin, repo_root, shell_quote, Sandbox, Terminal,
};

/// `tests/fixtures/`.
fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures")
}

/// The plugin API version of the host, from `mosaic --version`
/// (`mosaic 0.2.0 (plugin API 0.2.1)`).
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

/// The patch number of a 0.2.x version; panics for another series, which means
/// these tests need a frozen copy of that series' first release.
fn patch_of_0_2(version: &str) -> u64 {
    version
        .strip_prefix("0.2.")
        .and_then(|patch| patch.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "the host's plugin API {version} left the 0.2 series: freeze the first release \
                 of the new series beside tests/fixtures/plugin-api-0.2.0 and prove it here"
            )
        })
}

#[test]
fn plugin_built_against_the_frozen_0_2_0_api_loads_in_a_later_0_2_host() {
    let library = build_out_of_tree(&fixtures().join("abi-plugin"), "mosaic_abi_fixture", &[]);
    let sandbox = Sandbox::with_plugins(&[]);
    sandbox.add_plugin(&library, "abi_fixture");
    let host_api = host_api_version(&sandbox);
    assert!(
        patch_of_0_2(&host_api) >= 1,
        "the host uses plugin API {host_api}: this test proves an older 0.2.0 plugin loads \
         in a newer host, so the host must be built against 0.2.1 or later"
    );

    let run = sandbox.run_with_scratch(["abi-fixture"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "built against mosaic-plugin-api 0.2.0\n");
    assert_eq!(run.stderr, "");

    let list = sandbox.run_with_scratch(["plugins", "list", "--json"]);
    list.expect_code(0);
    let row = list.plugin_row("name", "abi-fixture").expect("listed");
    assert_eq!(row["status"], "ok", "{row}");
    assert_eq!(row["api_version"], "0.2.0", "{row}");
    assert_eq!(row["problem"], serde_json::Value::Null, "{row}");
    sandbox
        .run_with_scratch(["plugins", "doctor"])
        .expect_code(0);
}

#[test]
fn plugin_using_the_progress_service_runs_in_the_host() {
    let sandbox = Sandbox::with_plugins(&[]);
    sandbox.add_plugin(hello_plugin(), "hello");

    // Not a terminal: the bar is not drawn, the output is the same.
    let run = sandbox.run_with_scratch(["hello", "Ada", "--times", "2", "--wait-ms", "400"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "Hello, Ada!\nHello, Ada!\n");
    assert_eq!(run.stderr, "", "no spinner without a terminal");

    // On a terminal, a wait of more than ~300 ms shows the spinner with its message,
    // and it is gone once finished.
    let script = format!(
        "env -i HOME={home} PATH={path} NO_COLOR=1 TERM=xterm {mosaic} --plugin-dir {plugins} \
         hello Ada --times 4 --wait-ms 3000; echo \"HELLO EXIT=$?\"; sleep 600",
        home = shell_quote(&sandbox.home().display().to_string()),
        path = shell_quote(&std::env::var("PATH").unwrap_or_default()),
        mosaic = shell_quote(&sandbox.binary().display().to_string()),
        plugins = shell_quote(&sandbox.plugin_scratch().display().to_string()),
    );
    let terminal = Terminal::start(sandbox.root(), &script);
    terminal.expect("Thinking of a greeting for Ada");
    terminal.expect("HELLO EXIT=0");
    let screen = terminal.screen();
    assert_eq!(screen.matches("Hello, Ada!").count(), 4, "{screen}");
    assert!(
        !screen.contains("Thinking of a greeting"),
        "the spinner stays on screen after it finished:\n{screen}"
    );
}

/// Checks that `library`, built against `mosaic-plugin-api {built_against}`, is
/// refused as incompatible everywhere, with the reason and the fix, while another
/// plugin still works.
fn assert_refused_as_incompatible(library: &Path, built_against: &str) {
    let sandbox = Sandbox::with_plugins(&[]);
    let path = sandbox.add_plugin(library, "abi_fixture");
    sandbox.add_plugin(hello_plugin(), "hello");
    let host_api = host_api_version(&sandbox);
    patch_of_0_2(&host_api);
    let reason = format!(
        "built against mosaic-plugin-api {built_against}, this host uses {host_api}; \
         rebuild it against mosaic-plugin-api 0.2"
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
    assert_eq!(row["api_version"], built_against, "{row}");
    assert_eq!(row["problem"], reason.as_str(), "{row}");

    let doctor = sandbox.run_with_scratch(["plugins", "doctor"]);
    doctor.expect_code(1);
    for text in [
        "abi_fixture — incompatible",
        &format!("  problem: {reason}"),
        "semver-compatible mosaic-plugin-api, i.e. 0.2.x",
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

#[test]
fn plugin_built_against_the_0_1_api_is_refused() {
    let library = build_out_of_tree(
        &fixtures().join("abi-plugin-0.1"),
        "mosaic_abi_fixture_0_1",
        &[],
    );
    assert_refused_as_incompatible(&library, "0.1.0");
}

#[test]
fn plugin_built_against_a_newer_minor_api_is_refused() {
    let api = derived_crate(
        &fixtures().join("plugin-api-0.2.0"),
        "plugin-api-0.3.0",
        &[("version = \"0.2.0\"", "version = \"0.3.0\"")],
    );
    let api_path = format!("path = \"{}\"", api.display());
    // Another library name, so the two builds do not collide (see build_out_of_tree).
    let plugin = derived_crate(
        &fixtures().join("abi-plugin"),
        "abi-plugin-on-api-0.3.0",
        &[
            ("path = \"../plugin-api-0.2.0\"", &api_path),
            (
                "name = \"mosaic_abi_fixture\"",
                "name = \"mosaic_abi_fixture_0_3\"",
            ),
        ],
    );
    let library = build_out_of_tree(&plugin, "mosaic_abi_fixture_0_3", &[]);
    assert_refused_as_incompatible(&library, "0.3.0");
}
