//! `mosaic wizard` run in-process with the SDK's test harness. The harness has no
//! other plugin, so every component is skipped as "not installed": what is tested
//! here is the manifest, the argument handling, and that the wizard finishes with
//! nothing to do for that reason and no other. The end-to-end tests with the real
//! plugins are in the workspace's `tests/` crate.

use std::sync::Mutex;

use mosaic_plugin_api::testing::{TestHost, TestOutput};
use mosaic_wizard::Wizard;

/// The wizard reads other commands' output with `invoke_captured`, which points
/// the process's stdout at a file for the call: runs of it must not overlap.
static ONE_WIZARD_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run(host: &TestHost<Wizard>, words: &[&str]) -> TestOutput {
    let _turn = ONE_WIZARD_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    host.run(words)
}

#[test]
fn the_manifest_passes_the_hosts_checks() {
    let host = TestHost::<Wizard>::new();
    host.check_manifest().unwrap();
    let manifest = host.manifest();
    assert_eq!(manifest.version, "0.2.0");
    assert_eq!(manifest.host_requirement, ">=0.2.0, <0.3.0");
    assert_eq!(manifest.commands.len(), 1);
    assert_eq!(manifest.commands[0].name, "wizard");
}

#[test]
fn the_examples_in_the_spec_work() {
    let host = TestHost::<Wizard>::new();
    let _turn = ONE_WIZARD_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Err(failures) = host.check_examples() {
        panic!("examples failed:\n{}", failures.join("\n"));
    }
    // They fail in the harness only because the other plugins are missing.
    for example in host.manifest().commands[0].all_examples() {
        assert_eq!(example.expect_exit_code, 1, "{}", example.command);
        let output = host.run_line(&example.command);
        assert!(
            output.stderr.contains("plugin not installed — skipped"),
            "`{}`: {}",
            example.command,
            output.stderr
        );
        assert!(
            output.stderr.contains("Nothing to set up"),
            "`{}`: {}",
            example.command,
            output.stderr
        );
    }
}

#[test]
fn lists_of_components_are_checked_before_anything_runs() {
    let host = TestHost::<Wizard>::new();
    let output = run(&host, &["wizard", "--yes", "--only", "hooks,nope"]);
    assert_eq!(output.exit_code, 2, "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("--only: unknown component `nope` (valid: hooks, gateway, fleet)"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("Welcome"), "{}", output.stderr);

    let output = run(&host, &["wizard", "--only", "hooks", "--skip", "fleet"]);
    assert_eq!(output.exit_code, 2, "{}", output.stderr);
    assert!(
        output.stderr.contains("cannot be used with"),
        "{}",
        output.stderr
    );
}

#[test]
fn several_lists_combine() {
    let host = TestHost::<Wizard>::new();
    let output = run(
        &host,
        &["wizard", "--yes", "--skip", "gateway", "--skip", "hooks"],
    );
    assert_eq!(output.exit_code, 1, "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("fleet plugin not installed — skipped"),
        "{}",
        output.stderr
    );
    for skipped in ["hooks plugin", "gateway plugin"] {
        assert!(!output.stderr.contains(skipped), "{}", output.stderr);
    }
}
