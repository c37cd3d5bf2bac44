//! Bad plugins next to a good one: a file that is not a library, a panic in the
//! manifest, a manifest that is not JSON, a panic in `run`, a plugin for another host
//! version, two plugins claiming one command, a plugin claiming built-ins, and
//! plugin files or directories others can write.
//!
//! In every case the host and the good plugin (hello) keep working, the offender is
//! reported in one warning line on stderr (except a command lost to a built-in,
//! which `plugins install` reports once), `plugins list` shows its status and
//! `plugins doctor` explains it in full and exits 1. Collisions between plugins are
//! in `plugin_collisions.rs`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use mosaic_tests::{fixture_plugin, hello_plugin, Run, Sandbox};

/// A slim sandbox with hello in the scratch plugin dir.
fn sandbox_with_hello() -> Sandbox {
    let sandbox = Sandbox::with_plugins(&[]);
    sandbox.add_plugin(hello_plugin(), "hello");
    sandbox
}

/// What the host should say about one offending plugin file.
struct Offender<'a> {
    /// The offending file.
    path: &'a Path,
    /// The name `plugins list` shows for it.
    name: &'a str,
    /// Its status in `plugins list`.
    status: &'a str,
    /// Text the one-line problem must contain.
    problem: &'a [&'a str],
    /// Text `plugins doctor` must print about it, besides the problem.
    doctor: &'a [&'a str],
    /// Whether every run warns about it.
    warns: bool,
}

/// The `plugins list --json` row of the file at `path`.
fn row_for(list: &Run, path: &Path) -> serde_json::Value {
    list.plugin_row("path", &path.display().to_string())
        .unwrap_or_else(|| panic!("{} is not listed:\n{}", path.display(), list.stdout))
}

/// Checks everything the issue asks of a bad plugin; `plugin_dirs` are the
/// `--plugin-dir` arguments (hello is in the first).
fn check_offender(sandbox: &Sandbox, plugin_dirs: &[PathBuf], offender: &Offender<'_>) {
    let run = |words: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = Vec::new();
        for dir in plugin_dirs {
            args.push("--plugin-dir".as_ref());
            args.push(dir.as_os_str());
        }
        args.extend(words.iter().map(std::ffi::OsStr::new));
        sandbox.run(args)
    };
    let path = offender.path.display().to_string();

    let hello = run(&["hello"]);
    hello.expect_code(0);
    assert_eq!(hello.stdout, "Hello, world!\n", "{hello:?}");
    let warnings: Vec<&str> = hello.stderr.lines().collect();
    if offender.warns {
        assert_eq!(warnings.len(), 1, "exactly one line on stderr: {hello:?}");
        let prefix = format!("warning: plugin {path} is {}: ", offender.status);
        assert!(warnings[0].starts_with(&prefix), "{}", warnings[0]);
        assert!(
            warnings[0].ends_with("(see `mosaic plugins doctor`)"),
            "{}",
            warnings[0]
        );
        for text in offender.problem {
            assert!(warnings[0].contains(text), "{text}: {}", warnings[0]);
        }
    } else {
        assert_eq!(warnings, Vec::<&str>::new(), "no warning: {hello:?}");
    }

    let list = run(&["plugins", "list", "--json"]);
    list.expect_code(0);
    let row = row_for(&list, offender.path);
    assert_eq!(row["status"], offender.status, "{row}");
    assert_eq!(row["name"], offender.name, "{row}");
    let hello_row = row_for(&list, &plugin_dirs[0].join("libmosaic_hello.so"));
    assert_eq!(hello_row["status"], "ok", "{hello_row}");

    let table = run(&["plugins", "list"]);
    table.expect_code(0);
    let line = table
        .stdout
        .lines()
        .find(|line| line.contains(&path))
        .unwrap_or_else(|| panic!("no row for {path}:\n{}", table.stdout));
    assert!(
        line.split_whitespace().any(|word| word == offender.status),
        "{line}"
    );

    let doctor = run(&["plugins", "doctor"]);
    doctor.expect_code(1);
    assert!(
        doctor.stdout.contains("1 plugin(s) ok, 1 with problems."),
        "{}",
        doctor.stdout
    );
    for text in [
        format!("{} — {}", offender.name, offender.status),
        format!("  file:    {path}"),
        "  fix:     ".to_string(),
    ] {
        assert!(doctor.stdout.contains(&text), "{text}:\n{}", doctor.stdout);
    }
    for text in offender.problem.iter().chain(offender.doctor) {
        assert!(doctor.stdout.contains(text), "{text}:\n{}", doctor.stdout);
    }
    let problem_line = doctor
        .stdout
        .lines()
        .find(|line| line.starts_with("  problem: "))
        .unwrap_or_else(|| panic!("no problem line:\n{}", doctor.stdout));
    for text in offender.problem {
        assert!(problem_line.contains(text), "{text}: {problem_line}");
    }
    let doctor_json = run(&["plugins", "doctor", "--json"]);
    doctor_json.expect_code(1);
    let problems = doctor_json.json()["problems"].clone();
    assert_eq!(problems.as_array().map(Vec::len), Some(1), "{problems}");
    assert_eq!(problems[0]["path"], path);
    assert_eq!(problems[0]["status"], offender.status);
}

#[test]
fn file_that_is_not_a_library_is_broken() {
    let sandbox = sandbox_with_hello();
    let path = sandbox.plugin_scratch().join("libmosaic_notes.so");
    fs::write(&path, "these are my notes, not a plugin\n").unwrap();
    check_offender(
        &sandbox,
        &[sandbox.plugin_scratch()],
        &Offender {
            path: &path,
            name: "notes",
            status: "broken",
            problem: &["not a loadable library"],
            warns: true,
            doctor: &["could not be opened as a shared library"],
        },
    );
}

#[test]
fn plugin_that_panics_in_its_manifest_is_broken() {
    let sandbox = sandbox_with_hello();
    let path = sandbox.add_plugin(&fixture_plugin(Some("panic-in-manifest")), "panicky");
    check_offender(
        &sandbox,
        &[sandbox.plugin_scratch()],
        &Offender {
            path: &path,
            name: "panicky",
            status: "broken",
            problem: &["panicked in manifest: fixture manifest panics on purpose"],
            warns: true,
            doctor: &["manifest failed"],
        },
    );
}

#[test]
fn plugin_whose_manifest_is_not_json_is_broken() {
    let sandbox = sandbox_with_hello();
    let path = sandbox.add_plugin(&fixture_plugin(Some("invalid-manifest-json")), "raw");
    check_offender(
        &sandbox,
        &[sandbox.plugin_scratch()],
        &Offender {
            path: &path,
            name: "raw",
            status: "broken",
            problem: &["invalid manifest JSON"],
            warns: true,
            doctor: &["manifest text: {\"name\": \"raw\", this is not JSON"],
        },
    );
}

#[test]
fn plugin_requiring_another_host_version_is_incompatible() {
    let sandbox = sandbox_with_hello();
    let path = sandbox.add_plugin(&fixture_plugin(Some("future-host")), "future");
    let version = sandbox.run(["--version"]);
    version.expect_code(0);
    // `mosaic 0.2.0 (plugin API 0.2.1)`: the host's version and its series (0.2).
    let host = version
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let series = host.rsplit_once('.').unwrap().0.to_string();
    let fix = format!(
        "upgrade mosaic, or install a version of the `future` plugin made for mosaic {series}"
    );
    check_offender(
        &sandbox,
        &[sandbox.plugin_scratch()],
        &Offender {
            path: &path,
            name: "future",
            status: "incompatible",
            problem: &[&format!("needs mosaic >=9, this is mosaic {host}: {fix}")],
            warns: true,
            doctor: &[&format!("  fix:     {fix}\n")],
        },
    );
    // The fix is mosaic's version, not the plugin API: nothing to rebuild.
    let doctor = sandbox.run_with_scratch(["plugins", "doctor"]);
    assert!(!doctor.stdout.contains("rebuild"), "{}", doctor.stdout);
    let run = sandbox.run_with_scratch(["future"]);
    run.expect_code(2);
}

#[test]
fn plugin_claiming_built_in_commands_is_shadowed_without_a_warning_on_every_run() {
    let sandbox = sandbox_with_hello();
    let path = sandbox.add_plugin(&fixture_plugin(Some("claims-builtins")), "usurper");
    check_offender(
        &sandbox,
        &[sandbox.plugin_scratch()],
        &Offender {
            path: &path,
            name: "usurper",
            status: "shadowed",
            problem: &[
                "`plugins` is a built-in command",
                "`config show` is a built-in command",
            ],
            // `plugins install` reports it, once; runs do not.
            warns: false,
            doctor: &["built-ins always win"],
        },
    );
    // The built-ins are the host's own, and the usurper's other command still works.
    let show = sandbox.run_with_scratch(["config", "show", "--json"]);
    show.expect_code(0);
    assert_eq!(show.json()["hello.greeting"]["value"], "Hello");
    let usurp = sandbox.run_with_scratch(["usurp"]);
    usurp.expect_code(0);
    assert_eq!(usurp.stdout, "usurper ran usurp\n");
    assert_eq!(usurp.stderr, "");
    let list = sandbox.run_with_scratch(["plugins", "list", "--json"]);
    let row = row_for(&list, &path);
    assert_eq!(row["commands"], serde_json::json!(["usurp"]));
    assert_eq!(
        row["shadowed_commands"],
        serde_json::json!(["plugins", "config show"])
    );
    assert_eq!(
        row["shadowed_by"],
        serde_json::json!([
            {"command": "plugins", "holder": {"kind": "built_in"}},
            {"command": "config show", "holder": {"kind": "built_in"}},
        ])
    );
    let table = sandbox.run_with_scratch(["plugins", "list"]);
    assert!(
        table
            .stdout
            .contains("usurp, (plugins: built-in), (config show: built-in)"),
        "{}",
        table.stdout
    );
}

#[test]
fn world_writable_plugin_file_is_untrusted() {
    let sandbox = sandbox_with_hello();
    let path = sandbox.add_plugin(&fixture_plugin(None), "fixture");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o777)).unwrap();
    check_offender(
        &sandbox,
        &[sandbox.plugin_scratch()],
        &Offender {
            path: &path,
            name: "fixture",
            status: "untrusted",
            problem: &["writable by group and others (mode 0777)", "chmod go-w"],
            warns: true,
            doctor: &["was not loaded because loading a library runs its code"],
        },
    );
    let run = sandbox.run_with_scratch(["fixture", "ok"]);
    run.expect_code(2);
}

#[test]
fn plugin_in_a_world_writable_directory_is_untrusted() {
    let sandbox = sandbox_with_hello();
    let open_dir = sandbox.root().join("open-plugins");
    fs::create_dir(&open_dir).unwrap();
    let path = open_dir.join("libmosaic_fixture.so");
    fs::copy(fixture_plugin(None), &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o777)).unwrap();
    let dirs = [sandbox.plugin_scratch(), open_dir.clone()];
    check_offender(
        &sandbox,
        &dirs,
        &Offender {
            path: &path,
            name: "fixture",
            status: "untrusted",
            problem: &[
                &format!(
                    "directory {} is writable by group and others",
                    open_dir.display()
                ),
                "chmod go-w",
            ],
            warns: true,
            doctor: &[&format!("{} (UNTRUSTED: directory", open_dir.display())],
        },
    );
}

#[test]
fn plugin_that_panics_in_run_exits_70_naming_the_plugin() {
    let sandbox = sandbox_with_hello();
    let path = sandbox.add_plugin(&fixture_plugin(None), "fixture");

    let run = sandbox.run_with_scratch(["fixture", "panic"]);
    run.expect_code(70);
    assert_eq!(run.stdout, "");
    let first_line = run.stderr.lines().next().unwrap_or_default();
    let expected = format!(
        "error: internal error in plugin `fixture` ({}): it panicked: \
         fixture run panics on purpose (at src/lib.rs:",
        path.display()
    );
    assert!(first_line.starts_with(&expected), "{run:?}");
    assert!(
        !run.stderr.contains("thread '"),
        "no raw panic output: {run:?}"
    );

    // The same plugin's other command, the other plugin and the host still work.
    let ok = sandbox.run_with_scratch(["fixture", "ok"]);
    ok.expect_code(0);
    assert_eq!(ok.stdout, "fixture ran fixture ok\n");
    sandbox.run_with_scratch(["hello"]).expect_code(0);
    let doctor = sandbox.run_with_scratch(["plugins", "doctor"]);
    doctor.expect_code(0);
}
