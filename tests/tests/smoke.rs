//! The installed binary starts and reports its version without any plugin.

use mosaic_tests::Sandbox;

#[test]
fn version_names_host_and_api() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(["--version"]);
    run.expect_code(0);
    let expected = format!(
        "mosaic 0.2.0 (plugin API {})",
        mosaic_plugin_api::API_VERSION
    );
    assert!(run.stdout.starts_with(&expected), "{}", run.stdout);
}
