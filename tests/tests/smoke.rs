//! The installed binary starts and reports its version without any plugin.

use mosaic_tests::Sandbox;

#[test]
fn version_names_host_and_api() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(["--version"]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("mosaic 0.1.0 (plugin API 0.1.0)"),
        "{}",
        run.stdout
    );
}
