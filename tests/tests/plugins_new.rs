//! `mosaic plugins new`: the crate it writes passes its own tests and builds with
//! cargo, unchanged, against the SDK that `scripts/install.sh` installed, and the
//! library it builds installs and runs. A bad name, a non-empty directory and a
//! missing SDK are refused with nothing written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mosaic_tests::{installed_prefix, target_dir, Sandbox};

/// The SDK the installed mosaic uses.
fn installed_sdk() -> PathBuf {
    installed_prefix().join("share/mosaic/sdk/mosaic-plugin-api")
}

/// Runs `cargo ARGS` in `crate_dir` with the user's own environment (not the
/// sandbox's: cargo needs its registry cache) and a target directory shared by
/// every run of this test, so only the new crate itself is compiled again.
fn cargo(crate_dir: &Path, args: &[&str]) {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target_dir().join("plugins-new-build"))
        .stdin(Stdio::null())
        .output()
        .expect("cannot run cargo");
    assert!(
        output.status.success(),
        "cargo {} failed in {}:\n{}\n{}",
        args.join(" "),
        crate_dir.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file below `dir`, relative to it, sorted.
fn files_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_new_plugin_passes_its_tests_builds_installs_and_runs() {
    let sandbox = Sandbox::new();
    let crate_dir = sandbox.root().join("work/x");
    let mut command = sandbox.command(["plugins", "new", "demo", "--path"]);
    command.arg(&crate_dir);
    let run = mosaic_tests::Run::from_output(command.output().unwrap());
    run.expect_code(0);
    assert!(run.stdout.contains("created plugin `demo`"), "{run:?}");
    assert!(
        run.stdout
            .contains("mosaic plugins install target/release/libmosaic_demo.so"),
        "{run:?}"
    );
    assert_eq!(
        files_below(&crate_dir),
        [
            ".gitignore",
            "Cargo.toml",
            "README.md",
            "src/commands/greet.rs",
            "src/commands/mod.rs",
            "src/lib.rs",
            "tests/greet.rs",
        ]
    );
    let manifest = fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let sdk = installed_sdk().canonicalize().unwrap();
    assert!(
        manifest.contains(&format!("path = \"{}\"", sdk.display())),
        "{manifest}"
    );
    assert!(manifest.contains("[workspace]"), "{manifest}");

    cargo(&crate_dir, &["test", "--quiet"]);
    cargo(&crate_dir, &["build", "--release", "--quiet"]);
    let library = target_dir().join("plugins-new-build/release/libmosaic_demo.so");
    assert!(library.is_file(), "{} was not built", library.display());

    let mut install = sandbox.command(["plugins", "install"]);
    install.arg(&library);
    mosaic_tests::Run::from_output(install.output().unwrap()).expect_code(0);
    let run = sandbox.run(["demo", "greet", "Ada", "--greeting", "Hi", "--json"]);
    run.expect_code(0);
    let value = run.json();
    assert_eq!(value["message"], "Hi, Ada!", "{run:?}");
    assert_eq!(value["name"], "Ada");
    let help = sandbox.run(["demo", "greet", "--help"]);
    help.expect_code(0);
    assert!(help.stdout.contains("demo greet Ada --json"), "{help:?}");
}

#[test]
fn the_default_directory_is_mosaic_name_in_the_current_directory() {
    let sandbox = Sandbox::new();
    let work = sandbox.root().join("work");
    fs::create_dir_all(&work).unwrap();
    let mut command = sandbox.command(["plugins", "new", "my-tool", "--json"]);
    command.current_dir(&work);
    let run = mosaic_tests::Run::from_output(command.output().unwrap());
    run.expect_code(0);
    assert_eq!(run.json()["library"], "target/release/libmosaic_my_tool.so");
    let lib = fs::read_to_string(work.join("mosaic-my-tool/src/lib.rs")).unwrap();
    assert!(lib.contains("pub struct MyToolPlugin;"), "{lib}");
    assert!(lib.contains("Manifest::new(\"my-tool\""), "{lib}");
    let manifest = fs::read_to_string(work.join("mosaic-my-tool/Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"mosaic_my_tool\""), "{manifest}");
}

#[test]
fn a_non_empty_directory_is_refused_and_left_alone() {
    let sandbox = Sandbox::new();
    let taken = sandbox.root().join("taken");
    fs::create_dir_all(&taken).unwrap();
    fs::write(taken.join("notes.txt"), "mine").unwrap();
    let mut command = sandbox.command(["plugins", "new", "demo", "--path"]);
    command.arg(&taken);
    let run = mosaic_tests::Run::from_output(command.output().unwrap());
    run.expect_code(1);
    assert!(
        run.stderr
            .contains(&format!("{} exists and is not empty", taken.display())),
        "{run:?}"
    );
    assert_eq!(files_below(&taken), ["notes.txt"]);
    let leftovers: Vec<_> = fs::read_dir(sandbox.root())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn bad_and_built_in_names_are_refused() {
    let sandbox = Sandbox::new();
    for (name, expected) in [
        ("Demo", "plugin name `Demo` must be lowercase"),
        ("a/b", "plugin name `a/b` must be lowercase"),
        ("plugins", "`plugins` is a built-in command"),
    ] {
        let target = sandbox.root().join("out");
        let mut command = sandbox.command(["plugins", "new", name, "--path"]);
        command.arg(&target);
        let run = mosaic_tests::Run::from_output(command.output().unwrap());
        run.expect_code(1);
        assert!(run.stderr.contains(expected), "{name}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
        assert!(!target.exists(), "{name}");
    }
}

#[test]
fn a_missing_sdk_is_refused_naming_where_it_looked_and_the_flag() {
    // A slim install: its prefix has bin/mosaic but no share/mosaic/sdk.
    let sandbox = Sandbox::with_plugins(&[]);
    let target = sandbox.root().join("out");
    let mut command = sandbox.command(["plugins", "new", "demo", "--path"]);
    command.arg(&target);
    let run = mosaic_tests::Run::from_output(command.output().unwrap());
    run.expect_code(1);
    let looked = sandbox
        .root()
        .join("prefix/share/mosaic/sdk/mosaic-plugin-api");
    assert!(
        run.stderr
            .contains(&format!("no mosaic plugin SDK at {}", looked.display())),
        "{run:?}"
    );
    assert!(run.stderr.contains("--sdk-path DIR"), "{run:?}");
    assert!(!target.exists());

    // --sdk-path and MOSAIC_SDK_PATH point at one.
    let mut command = sandbox.command(["plugins", "new", "demo", "--path"]);
    command.arg(&target).arg("--sdk-path").arg(installed_sdk());
    mosaic_tests::Run::from_output(command.output().unwrap()).expect_code(0);
    assert!(target.join("src/lib.rs").is_file());
    let other = sandbox.root().join("other");
    let mut command = sandbox.command(["plugins", "new", "demo", "--path"]);
    command.arg(&other).env("MOSAIC_SDK_PATH", installed_sdk());
    mosaic_tests::Run::from_output(command.output().unwrap()).expect_code(0);
    assert!(other.join("src/lib.rs").is_file());
}
